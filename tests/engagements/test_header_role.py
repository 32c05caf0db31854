"""The role the header names beside the user's name: as the user would name it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from engagements.models import Membership

EXPECTED = {
    "administrator": "Administrator",
    "practice_lead": "Practice lead",
    "engagement_lead": "Engagement lead",
    "consultant": "Consultant",
    "client_pmo_lead": "Client PMO lead",
}


def _header_role(html: str) -> str:
    found = re.search(r'<span class="who-role">([^<]*)</span>', html)
    assert found, "no role in the header"
    return found.group(1)


@pytest.mark.parametrize("role", EXPECTED)
def test_the_header_names_each_role_as_its_users_would(client, world, role):
    # Given a user of each role (the engagement lead is a consultant who leads an engagement)
    client.force_login(world.users()[role])

    # When any page opens
    html = client.get(reverse("engagement_list")).content.decode()

    # Then the header names their role as they would
    assert _header_role(html) == EXPECTED[role]


def test_a_consultant_who_stops_leading_is_named_a_consultant_again(client, world):
    # Given the engagement lead, whose lead membership is handed over
    lead = world.lead
    lead.memberships.update(role=Membership.Role.CONSULTANT)
    client.force_login(lead)

    # When a page opens, then the header calls them a consultant
    assert _header_role(client.get(reverse("engagement_list")).content.decode()) == "Consultant"
