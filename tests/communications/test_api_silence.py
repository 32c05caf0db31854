"""Sponsor silence in the API: flags listed and filtered, scoped, at a fixed query cost."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from tests.factories import World
from tests.silence_fixtures import SWEPT, silent_sponsor

pytestmark = pytest.mark.django_db


def _api(client, user, **params):
    client.force_login(user)
    return client.get(reverse("v1:silence-flag-list"), params)


def test_api_lists_flags_filtered_by_engagement_and_open(client):
    # Given an open flag and a cleared one on one engagement, and an open one elsewhere
    lead = factories.practice_lead()
    role = silent_sponsor(lead=lead, name="Open One")
    cleared = silent_sponsor(lead=lead, engagement=role.engagement, name="Cleared One")
    factories.make_check_in(
        engagement=role.engagement,
        attendees=[cleared.stakeholder],
        actor=lead,
        occurred_at=SWEPT,
        as_of=SWEPT,
    )
    silent_sponsor(lead=lead, name="Elsewhere")

    # When an integrator asks for the open flags of the engagement
    response = _api(client, lead, engagement=role.engagement_id, open="true")

    # Then exactly the open one is answered, with the person and the allowance
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["stakeholder"] == {"id": role.stakeholder_id, "name": "Open One"}
    assert row["open"] is True
    assert row["allowed_silence_days"] == 10.5
    assert row["last_contact_at"] == "2026-01-06T23:30:00Z"
    assert row["follow_up"] is not None

    # And the cleared one is there when asking for closed flags, naming the check-in that cleared it
    (closed,) = _api(client, lead, engagement=role.engagement_id, open="false").json()["results"]
    assert closed["stakeholder"]["name"] == "Cleared One"
    assert closed["cleared_by_check_in"] is not None


def test_api_refuses_a_bad_filter_with_field_errors(client, world: World):
    # When the filters are not what they should be
    response = _api(client, world.lead, engagement="abc", open="perhaps")

    # Then the answer is 400 naming the fields, not a crash
    assert response.status_code == 400
    assert "engagement" in response.json()


def test_api_answers_404_for_a_flag_outside_my_engagements(client, world: World):
    # Given the consultant of one engagement
    client.force_login(world.consultant)

    # When they ask for the flag of their engagement and of another team's
    mine = client.get(reverse("v1:silence-flag-detail", args=[world.mine.silence_flag.pk]))
    other = client.get(reverse("v1:silence-flag-detail", args=[world.other.silence_flag.pk]))

    # Then theirs is answered and the other is not found
    assert mine.status_code == 200
    assert other.status_code == 404


@pytest.mark.parametrize("size", [2, 12])
def test_api_list_query_count_does_not_grow_with_flags(client, django_assert_num_queries, size):
    # Given flags on an engagement
    lead = factories.consultant()
    role = silent_sponsor(lead=lead)
    for n in range(size - 1):
        silent_sponsor(lead=lead, engagement=role.engagement, name=f"Sponsor {n}")
    client.force_login(lead)

    # When the list is read, then it costs the same queries: session, user, page (no count)
    with django_assert_num_queries(3):
        response = client.get(reverse("v1:silence-flag-list"))
    assert len(response.json()["results"]) == size
