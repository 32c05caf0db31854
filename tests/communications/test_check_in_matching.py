"""A check-in logged without a channel covers the planned meeting it matches.

The matching rule: an active channel of the engagement with one of the
attendees, whose next due time lies within the channel's grace period of the
check-in's time. One candidate is covered by itself; several are offered.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communications import scheduling
from communications.models import Channel, CheckIn, Occurrence
from engagements.models import Engagement
from stakeholders.models import Stakeholder
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _engagement(**kwargs: Any) -> tuple[Engagement, User]:
    lead = factories.consultant(time_zone="Europe/Berlin")
    client = factories.make_client(time_zone="Europe/Berlin", country="DE")
    return factories.make_engagement(client=client, lead=lead, **kwargs), lead


def _planned(
    engagement: Engagement,
    lead: User,
    *,
    rule: str,
    starts_on: dt.date,
    local_time: dt.time,
    stakeholder: Stakeholder | None = None,
    title: str = "Weekly PMO sync",
    grace: dt.timedelta | None = None,
) -> Channel:
    stakeholder = stakeholder or factories.make_stakeholder(
        client=engagement.client, time_zone="Europe/Berlin"
    )
    role = factories.make_role(engagement=engagement, stakeholder=stakeholder)
    extra = {"grace_period": grace} if grace is not None else {}
    return factories.make_channel(
        role=role,
        owner=lead,
        title=title,
        recurrence_rule=rule,
        starts_on=starts_on,
        local_time=local_time,
        as_of=dt.datetime.combine(starts_on, dt.time(0), tzinfo=UTC),
        **extra,
    )


def _log(
    engagement: Engagement, lead: User, attendees: list[Stakeholder], at: dt.datetime, **kwargs: Any
) -> CheckIn:
    return factories.make_check_in(
        engagement=engagement, attendees=attendees, actor=lead, occurred_at=at, as_of=at, **kwargs
    )


def _status(channel: Channel, due_at: dt.datetime) -> str | None:
    row = Occurrence.objects.filter(channel=channel, due_at=due_at).first()
    return row.status if row else None


def test_a_check_in_from_the_navigation_covers_the_meeting_it_matches_across_a_dst_change():
    # Given a weekly Tuesday 09:00 Berlin meeting; clocks went forward on Sunday 29 March 2026
    engagement, lead = _engagement()
    channel = _planned(
        engagement, lead, rule="FREQ=WEEKLY;BYDAY=TU", starts_on=dt.date(2026, 3, 24), local_time=dt.time(9)
    )
    first, second = dt.datetime(2026, 3, 24, 8, tzinfo=UTC), dt.datetime(2026, 3, 31, 7, tzinfo=UTC)
    assert channel.next_due_at == first
    _log(engagement, lead, [channel.stakeholder], first + dt.timedelta(minutes=10))

    # When the next meeting, now 09:00 CEST (07:00 UTC), is logged from the navigation, with no channel,
    # at 09:20 local, and the missed sweep runs after both grace periods
    check_in = _log(engagement, lead, [channel.stakeholder], second + dt.timedelta(minutes=20))
    scheduling.occurrences_sweep(as_of=dt.datetime(2026, 4, 10, tzinfo=UTC))

    # Then both planned meetings were held, on time, and the second check-in names its channel
    assert _status(channel, first) == Occurrence.Status.HELD
    assert _status(channel, second) == Occurrence.Status.HELD
    assert Occurrence.objects.get(channel=channel, due_at=second).check_in == check_in
    assert check_in.channel == channel
    # And compliance counts them as held, not missed
    compliance = scheduling.cadence_compliance(
        occurrences_queryset=Occurrence.objects.filter(channel=channel),
        window_start=dt.datetime(2026, 3, 23, tzinfo=UTC),
        window_end=dt.datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert (compliance.due, compliance.held_on_time) == (2, 2)


def test_a_check_in_outside_every_window_covers_nothing_and_a_holiday_is_no_meeting():
    # Given a German engagement that skips public holidays, with a weekly Friday 10:00 meeting:
    # Good Friday, 3 April 2026, is passed over, so the next meeting after 27 March is 10 April
    engagement, lead = _engagement(skip_non_working_days=True)
    channel = _planned(
        engagement, lead, rule="FREQ=WEEKLY;BYDAY=FR", starts_on=dt.date(2026, 4, 1), local_time=dt.time(10)
    )
    assert channel.next_due_at == dt.datetime(2026, 4, 10, 8, tzinfo=UTC)

    # When a call with the same person is logged on the holiday itself
    check_in = _log(engagement, lead, [channel.stakeholder], dt.datetime(2026, 4, 3, 8, tzinfo=UTC))

    # Then it is an extra conversation: the 10 April meeting is still owed
    assert check_in.channel is None
    channel.refresh_from_db()
    assert channel.next_due_at == dt.datetime(2026, 4, 10, 8, tzinfo=UTC)
    assert not Occurrence.objects.filter(channel=channel, status=Occurrence.Status.HELD).exists()


def test_a_check_in_the_day_before_covers_the_meeting_within_its_grace():
    # Given the Friday meeting of 10 April, with the default two days' grace
    engagement, lead = _engagement(skip_non_working_days=True)
    channel = _planned(
        engagement, lead, rule="FREQ=WEEKLY;BYDAY=FR", starts_on=dt.date(2026, 4, 1), local_time=dt.time(10)
    )

    # When it is held a day early, on Thursday 9 April
    _log(engagement, lead, [channel.stakeholder], dt.datetime(2026, 4, 9, 8, tzinfo=UTC))

    # Then it holds that meeting, on time, and the channel moves to 17 April
    held = Occurrence.objects.get(channel=channel, status=Occurrence.Status.HELD)
    assert held.due_at == dt.datetime(2026, 4, 10, 8, tzinfo=UTC)
    assert held.held_on_time is True
    channel.refresh_from_db()
    assert channel.next_due_at == dt.datetime(2026, 4, 17, 8, tzinfo=UTC)


def _two_meetings_at_once() -> tuple[Engagement, User, Channel, Channel]:
    engagement, lead = _engagement()
    pmo = _planned(
        engagement, lead, rule="FREQ=WEEKLY;BYDAY=TU", starts_on=dt.date(2026, 3, 24), local_time=dt.time(10)
    )
    sponsor = _planned(
        engagement,
        lead,
        rule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        starts_on=dt.date(2026, 3, 24),
        local_time=dt.time(11),
        title="Sponsor one-to-one",
    )
    return engagement, lead, pmo, sponsor


def test_a_check_in_matching_two_meetings_is_refused_naming_both_until_told_which():
    # Given a PMO sync and a sponsor one-to-one both due on Tuesday 24 March
    engagement, lead, pmo, sponsor = _two_meetings_at_once()
    at = dt.datetime(2026, 3, 24, 10, tzinfo=UTC)

    # When one check-in with both people is logged without saying which it covers, by a user in Berlin
    with timezone.override("Europe/Berlin"), pytest.raises(ValidationError) as refused:
        _log(engagement, lead, [pmo.stakeholder, sponsor.stakeholder], at)

    # Then nothing is written and the error names both candidates with their local due times
    message = " ".join(refused.value.message_dict["covers"])
    assert "Weekly PMO sync with" in message and "Sponsor one-to-one with" in message
    assert "Tue 24 Mar, 10:00" in message and "Tue 24 Mar, 11:00" in message
    assert not CheckIn.objects.exists()

    # And when told it covers both, each meeting is held by that one check-in
    check_in = _log(engagement, lead, [pmo.stakeholder, sponsor.stakeholder], at, covers=[pmo, sponsor])
    assert set(Occurrence.objects.filter(check_in=check_in).values_list("channel", flat=True)) == {
        pmo.pk,
        sponsor.pk,
    }

    # And a later extra conversation said to cover none leaves the next meetings open
    extra = _log(
        engagement, lead, [pmo.stakeholder, sponsor.stakeholder], at + dt.timedelta(days=7), covers=[]
    )
    assert not extra.occurrences.exists()


def test_covers_must_name_a_meeting_the_check_in_matches():
    engagement, lead, pmo, sponsor = _two_meetings_at_once()
    at = dt.datetime(2026, 3, 24, 10, tzinfo=UTC)
    # The sponsor was not there: her one-to-one cannot be covered by this check-in
    with pytest.raises(ValidationError) as refused:
        _log(engagement, lead, [pmo.stakeholder], at, covers=[sponsor])
    assert "Sponsor one-to-one" in " ".join(refused.value.message_dict["covers"])


def _form_data(engagement: Engagement, lead: User, attendees: list[Stakeholder], when: str) -> dict:
    return {
        "engagement": str(engagement.pk),
        "attendees": [str(s.pk) for s in attendees],
        "team_attendees": [str(lead.pk)],
        "kind": "meeting",
        "occurred_at": when,
        "summary": "Went through the cut-over plan and the open risks.",
        "sentiment": "0",
        "follow_ups-TOTAL_FORMS": "0",
        "follow_ups-INITIAL_FORMS": "0",
    }


def test_the_form_offers_the_candidates_keeps_what_was_typed_and_saves_the_choice(client: HttpClient):
    # Given two meetings due the same Tuesday morning (Berlin), and their lead logged in
    engagement, lead, pmo, sponsor = _two_meetings_at_once()
    client.force_login(lead)
    data = _form_data(engagement, lead, [pmo.stakeholder, sponsor.stakeholder], "2026-03-24T11:00")

    # When she saves a check-in with both people from the navigation
    response = client.post(reverse("check_in_create"), data)

    # Then the form comes back with both meetings to choose from and her summary kept
    assert response.status_code == 200
    page = response.content.decode()
    assert "Which planned meeting does this check-in cover?" in page
    assert re.search(r"Weekly PMO sync with [^<]+, due Tue 24 Mar, 10:00", page)
    assert re.search(r"Sponsor one-to-one with [^<]+, due Tue 24 Mar, 11:00", page)
    assert "Went through the cut-over plan and the open risks." in page
    assert not CheckIn.objects.exists()

    # When she ticks the sponsor one-to-one only
    response = client.post(
        reverse("check_in_create"), {**data, "covers_asked": "1", "covers": [str(sponsor.pk)]}, follow=True
    )

    # Then it is saved as covering that meeting, and the confirmation says so
    check_in = CheckIn.objects.get()
    assert list(check_in.occurrences.values_list("channel", flat=True)) == [sponsor.pk]
    assert "it covers Sponsor one-to-one, due Tue 24 Mar, 11:00" in response.content.decode()
    pmo.refresh_from_db()
    assert pmo.next_due_at == dt.datetime(2026, 3, 24, 9, tzinfo=UTC)


def test_the_api_covers_the_one_match_and_refuses_an_ambiguous_check_in_with_a_field_error(
    client: HttpClient,
):
    engagement, lead, pmo, sponsor = _two_meetings_at_once()
    client.force_login(lead)
    body = {
        "engagement": engagement.pk,
        "occurred_at": "2026-03-24T09:05:00Z",
        "summary": "Weekly sync.",
        "attendees": [pmo.stakeholder.pk, sponsor.stakeholder.pk],
    }
    refused = client.post(reverse("v1:check-in-list"), body, content_type="application/json")
    assert refused.status_code == 400
    assert "covers" in refused.json()

    alone = client.post(
        reverse("v1:check-in-list"),
        {**body, "attendees": [pmo.stakeholder.pk]},
        content_type="application/json",
    )
    assert alone.status_code == 201
    assert alone.json()["channel"] == pmo.pk
    assert _status(pmo, dt.datetime(2026, 3, 24, 9, tzinfo=UTC)) == Occurrence.Status.HELD
