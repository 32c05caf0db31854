"""Sponsor silence on the pages: the overview's "Gone quiet", the engagement list, My week."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communications import selectors
from communications.models import SilenceFlag
from communications.silence import silences_flag
from tests import factories
from tests.factories import World
from tests.silence_fixtures import MET, SET_UP, SWEPT, silent_sponsor

pytestmark = pytest.mark.django_db


def test_overview_lists_who_has_gone_quiet_with_last_contact_in_my_time_zone(client):
    # Given a lead in Berlin and a sponsor of theirs flagged as silent
    lead = factories.consultant(time_zone="Europe/Berlin")
    role = silent_sponsor(lead=lead)
    flag = SilenceFlag.objects.get()

    # When the lead opens the engagement overview on the day the flag was raised
    client.force_login(lead)
    with time_machine.travel(SWEPT, tick=False):
        response = client.get(reverse("engagement_detail", args=[role.engagement_id]))

    # Then "Gone quiet" names the sponsor, how long ago they were last heard from and on which day
    # (Berlin time), how often the plan expects contact, the follow-up and a way to log a check-in
    # with them; the header counts them
    body = response.content.decode()
    assert 'id="gone-quiet"' in body
    assert "Dr Anna Weber" in body
    assert '<th scope="col">Last heard from</th><th scope="col">Expected</th>' in body
    assert (
        '<td data-label="Last heard from">over 4 weeks ago<br><span class="muted">Wed 7 Jan 2026</span></td>'
        in body
    )
    assert '<td data-label="Expected">weekly <span class="muted">flagged 6 Feb 2026</span></td>' in body
    assert "Plan allows" not in body and "10 days 12 hours" not in body
    assert f"#follow-up-{flag.follow_up_id}" in body
    assert (
        f"{reverse('check_in_create')}?engagement={role.engagement_id}&amp;stakeholder={role.stakeholder_id}"
        in body
    )
    assert "1 silent sponsor<" in body


def test_overview_says_never_for_a_sponsor_never_met(client):
    # Given a sponsor flagged who was never met
    lead = factories.consultant()
    role = silent_sponsor(lead=lead, met=False)

    # When the lead opens the overview
    client.force_login(lead)
    response = client.get(reverse("engagement_detail", args=[role.engagement_id]))

    # Then the last contact reads "Never"
    assert response.context["silence_flags"][0].last_contact_at is None
    assert '<td data-label="Last heard from">Never</td>' in response.content.decode()


def test_overview_without_open_flags_shows_no_section_and_no_badge(client):
    # Given a flagged sponsor who has since been met
    lead = factories.consultant()
    role = silent_sponsor(lead=lead)
    factories.make_check_in(
        engagement=role.engagement, attendees=[role.stakeholder], actor=lead, occurred_at=SWEPT, as_of=SWEPT
    )

    # When the lead opens the overview
    client.force_login(lead)
    body = client.get(reverse("engagement_detail", args=[role.engagement_id])).content.decode()

    # Then nothing is said about silence
    assert 'id="gone-quiet"' not in body
    assert "silent sponsor" not in body


def test_client_users_are_not_shown_who_of_theirs_has_gone_quiet(client, world: World):
    # Given the world's engagement with an open flag on its sponsor
    assert SilenceFlag.objects.open().filter(engagement=world.mine.engagement).exists()

    # When the client's PMO lead opens the engagement overview
    client.force_login(world.client_user)
    response = client.get(reverse("engagement_detail", args=[world.mine.engagement.pk]))

    # Then the team's concern about their people is not on the page
    assert response.status_code == 200
    assert 'id="gone-quiet"' not in response.content.decode()


def test_engagement_list_counts_open_flags_per_engagement(client):
    # Given two silent sponsors on one engagement and none on another
    lead = factories.consultant()
    role = silent_sponsor(lead=lead)
    silent_sponsor(lead=lead, engagement=role.engagement, name="Ben Ortiz")
    quiet_free = factories.make_engagement(lead=lead)

    # When the lead opens the engagement list
    client.force_login(lead)
    response = client.get(reverse("engagement_list"))

    # Then each row carries its count
    counts = {e.pk: e.open_silence_flags for e in response.context["engagements"]}
    assert counts == {role.engagement_id: 2, quiet_free.pk: 0}
    assert "2 silent" in response.content.decode()


def test_engagement_list_query_count_does_not_grow_with_flags(client, django_assert_num_queries):
    # Given two engagements each with a silent sponsor, and the list's queries for them
    lead = factories.practice_lead()

    def add(count: int) -> None:
        for _ in range(count):
            with time_machine.travel(SET_UP, tick=False):
                member = factories.consultant()
                engagement = factories.make_engagement(lead=member)
            silent_sponsor(lead=member, engagement=engagement)

    add(2)
    client.force_login(lead)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("engagement_list"))

    # When ten more engagements have one each
    add(10)

    # Then the counts come with the engagements: the list costs the same queries
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(reverse("engagement_list"))
    assert [e.open_silence_flags for e in response.context["engagements"]] == [1] * 12


def test_my_week_shows_flags_of_relationships_i_own_only(client):
    # Given a sponsor flagged for the lead, and another for a colleague on another engagement
    lead = factories.consultant()
    colleague = factories.consultant()
    mine = silent_sponsor(lead=lead)
    silent_sponsor(lead=colleague, name="Someone Else")

    # When the lead opens My week
    client.force_login(lead)
    response = client.get(reverse("home"))

    # Then only their flag is listed, with a link to the engagement's section
    assert [f.stakeholder_id for f in response.context["silence_flags"]] == [mine.stakeholder_id]
    body = response.content.decode()
    assert "Someone Else" not in body
    assert f"{reverse('engagement_detail', args=[mine.engagement_id])}#gone-quiet" in body


def test_my_week_says_how_long_since_a_monthly_sponsor_was_heard_from_and_how_often_they_should_be(client):
    # Given a sponsor met on the first Tuesday of each month (up to five weeks apart), last met on
    # 6 January and flagged on Tuesday 3 March, almost eight weeks later
    lead = factories.consultant(time_zone="Europe/Berlin")
    with time_machine.travel(SET_UP, tick=False):
        engagement = factories.make_engagement(lead=lead)
        stakeholder = factories.make_stakeholder(client=engagement.client, name="Dr Anna Weber")
        role = factories.make_role(
            engagement=engagement, stakeholder=stakeholder, kind="sponsor", relationship_owner=lead
        )
        factories.make_channel(role=role, owner=lead, recurrence_rule="FREQ=MONTHLY;BYDAY=1TU")
    factories.make_check_in(
        engagement=engagement, attendees=[stakeholder], actor=lead, occurred_at=MET, as_of=MET
    )
    flagged = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
    assert silences_flag(as_of=flagged) == 1

    # When the lead opens My week that day
    client.force_login(lead)
    with time_machine.travel(flagged, tick=False):
        body = client.get(reverse("home")).content.decode()

    # Then the row says it as a person would, not "Plan allows 52 days 12 hours"
    row = body[body.index('id="silence-flags"') :]
    row = row[: row.index("</table>")]
    assert '<th scope="col">Last heard from</th><th scope="col">Expected</th>' in row
    assert "almost 8 weeks ago" in row and "Wed 7 Jan 2026" in row
    assert '<td data-label="Expected">every 5 weeks</td>' in row
    assert "52 days" not in row and "Plan allows" not in row


def test_my_week_names_a_flagged_sponsor_once_not_again_among_those_behind_cadence(client):
    # Given a flagged sponsor whose weekly channel is also behind its cadence
    lead = factories.consultant()
    role = silent_sponsor(lead=lead)
    pair = (role.engagement_id, role.stakeholder_id)
    behind = selectors.week_quiet_stakeholders(user=lead, as_of=timezone.now())
    assert pair in {(item.role.engagement_id, item.role.stakeholder_id) for item in behind}

    # When the lead opens My week
    client.force_login(lead)
    response = client.get(reverse("home"))

    # Then the person is listed with the flags only
    assert [(f.engagement_id, f.stakeholder_id) for f in response.context["silence_flags"]] == [pair]
    listed_again = {(item.role.engagement_id, item.role.stakeholder_id) for item in response.context["quiet"]}
    assert pair not in listed_again


def test_my_week_query_count_does_not_grow_with_flags(client, django_assert_num_queries):
    # Given a lead with two flagged sponsors
    lead = factories.consultant()
    role = silent_sponsor(lead=lead)
    silent_sponsor(lead=lead, engagement=role.engagement, name="Second")
    client.force_login(lead)
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("home"))

    # When ten more are flagged
    for n in range(10):
        silent_sponsor(lead=lead, engagement=role.engagement, name=f"Sponsor {n}")

    # Then My week costs the same queries
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(reverse("home"))
    assert len(response.context["silence_flags"]) == 12


def test_overview_query_count_does_not_grow_with_flags(client, django_assert_num_queries):
    # Given an engagement with two silent sponsors, and the overview's queries for them
    lead = factories.consultant()
    role = silent_sponsor(lead=lead)
    silent_sponsor(lead=lead, engagement=role.engagement, name="Second")
    client.force_login(lead)
    url = reverse("engagement_detail", args=[role.engagement_id])
    with CaptureQueriesContext(connection) as small:
        client.get(url)

    # When ten more are flagged
    for n in range(10):
        silent_sponsor(lead=lead, engagement=role.engagement, name=f"Sponsor {n}")

    # Then the overview costs the same queries
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert len(response.context["silence_flags"]) == 12
