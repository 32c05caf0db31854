from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories


def test_home_sends_anonymous_visitors_to_log_in(client, db):
    # When someone who has not logged in opens the home page
    response = client.get(reverse("engagement_list"))

    # Then they are sent to the login page, coming back afterwards
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=/" in response["Location"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("administrator", {"EHR-A", "DATA-A", "ERP-B"}),
        ("practice_lead", {"EHR-A", "DATA-A", "ERP-B"}),
        ("engagement_lead", {"EHR-A"}),
        ("consultant", {"EHR-A"}),
        ("client_pmo_lead", {"EHR-A", "DATA-A"}),
    ],
)
def test_home_lists_the_engagements_the_user_may_see_with_client_and_status(client, world, role, expected):
    # Given a user of each role
    client.force_login(world.users()[role])

    # When they open the home page
    response = client.get(reverse("engagement_list"))

    # Then it lists exactly the engagements in their scope, with client and status
    assert response.status_code == 200
    shown = {engagement.code for engagement in response.context["engagements"]}
    assert shown == expected
    body = response.content.decode()
    for code in {"EHR-A", "DATA-A", "ERP-B"} - expected:
        assert code not in body
    assert "Northwind Health" in body
    assert "Active" in body


def test_home_tells_a_user_without_engagements_what_to_do(client, db):
    # Given a consultant on no team
    client.force_login(factories.consultant())

    # When they open the home page
    response = client.get(reverse("engagement_list"))

    # Then they read why the list is empty
    assert "not on any engagement yet" in response.content.decode()


def test_home_shows_whether_health_is_overridden(client, world):
    # Given an engagement whose health a lead overrode with a reason
    from engagements.services import engagement_override_health

    engagement_override_health(
        actor=world.lead, engagement=world.mine.engagement, health="red", reason="Sponsor left the client"
    )
    client.force_login(world.consultant)

    # When the consultant opens the home page
    body = client.get(reverse("engagement_list")).content.decode()

    # Then the engagement reads red and overridden
    assert "rag-red" in body
    assert "(overridden)" in body


@pytest.mark.parametrize("count", [5, 50])
def test_home_query_count_does_not_grow_with_engagements(client, db, django_assert_num_queries, count):
    # Given a practice lead and a portfolio of some size
    lead = factories.practice_lead()
    shared_client = factories.make_client()
    for _ in range(count):
        factories.make_engagement(client=shared_client)
    client.force_login(lead)

    # When the home page renders, then it costs the same few queries at any size:
    # session, user, engagements with their clients
    with django_assert_num_queries(3):
        response = client.get(reverse("engagement_list"))
    assert len(response.context["engagements"]) == count
