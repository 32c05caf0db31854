"""Cadences that skip non-working days: a skipped occurrence is passed over, never moved.

Expected instants are written out by hand in UTC; Berlin is UTC+1 until the
clocks go forward on Sunday 29 March 2026, UTC+2 after.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TypedDict

import pytest
from django.urls import reverse

from communications.models import Channel
from communications.recurrence import next_occurrence, previous_occurrence
from communications.services import channel_create, check_in_log
from engagements.models import Engagement
from engagements.working_days import working_day_calendar
from tests import factories

BERLIN = "Europe/Berlin"


class Cadence(TypedDict):
    rule: str
    starts_on: date
    local_time: time
    time_zone: str


def cadence(rule: str, *, starts_on: date = date(2026, 1, 2)) -> Cadence:
    """A rule at 09:00 Berlin time."""
    return {"rule": rule, "starts_on": starts_on, "local_time": time(9, 0), "time_zone": BERLIN}


FRIDAYS_AT_NINE = cadence("FREQ=WEEKLY;BYDAY=FR")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def german_non_working_day(d: date) -> bool:
    return not working_day_calendar(country="DE").is_working_day(d)


# next_occurrence / previous_occurrence with a skip rule


def test_without_a_skip_rule_a_friday_meeting_falls_on_good_friday() -> None:
    # Given a weekly Friday 09:00 Berlin meeting, when the next one after Thursday 2 April is asked for
    following = next_occurrence(**FRIDAYS_AT_NINE, after=utc(2026, 4, 2, 12))

    # Then, skipping nothing, it is Good Friday at 09:00 CEST
    assert following == utc(2026, 4, 3, 7)


def test_a_friday_meeting_on_good_friday_is_skipped_to_the_next_friday() -> None:
    # Given a weekly Friday 09:00 Berlin meeting that skips German non-working days
    # When the next one after Thursday 2 April 2026 is asked for
    following = next_occurrence(**FRIDAYS_AT_NINE, after=utc(2026, 4, 2, 12), skip=german_non_working_day)

    # Then Good Friday is passed over, not moved to Thursday or Monday: Friday 10 April, 09:00 CEST
    assert following == utc(2026, 4, 10, 7)


def test_a_skipped_occurrence_across_the_march_clock_change_keeps_the_local_time() -> None:
    # Given the last Friday meeting before the clocks go forward, 27 March 2026 at 09:00 CET
    last_held = utc(2026, 3, 27, 8)

    # When the next kept occurrence is asked for, Good Friday being skipped
    following = next_occurrence(**FRIDAYS_AT_NINE, after=last_held, skip=german_non_working_day)

    # Then it is Friday 10 April, still at 09:00 local time, now 07:00 UTC
    assert following == utc(2026, 4, 10, 7)
    # And looking back from it passes over Good Friday to the meeting before the change, at 08:00 UTC
    assert previous_occurrence(**FRIDAYS_AT_NINE, before=following, skip=german_non_working_day) == last_held


def test_a_daily_weekday_rule_passes_over_both_easter_holidays() -> None:
    # Given a daily stand-up on weekdays at 09:00 Berlin that skips German non-working days
    stand_up = cadence("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR")

    # When the next one after Thursday 2 April's is asked for
    following = next_occurrence(**stand_up, after=utc(2026, 4, 2, 7), skip=german_non_working_day)

    # Then Good Friday and Easter Monday are passed over: Tuesday 7 April at 09:00 CEST
    assert following == utc(2026, 4, 7, 7)


def test_a_first_working_day_rule_skips_a_month_whose_first_weekday_is_a_holiday() -> None:
    # Given a monthly meeting on the first weekday (BYSETPOS), skipping German non-working days
    first_weekday = cadence("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1")

    # When the next one after December 2026's is asked for
    following = next_occurrence(**first_weekday, after=utc(2026, 12, 2), skip=german_non_working_day)

    # Then Friday 1 January 2027 (New Year's Day) is skipped: Monday 1 February, 09:00 CET
    assert following == utc(2027, 2, 1, 8)
    # And without the skip rule it would have been New Year's Day
    assert next_occurrence(**first_weekday, after=utc(2026, 12, 2)) == utc(2027, 1, 1, 8)


def test_a_last_working_day_rule_additionally_skips_a_holiday() -> None:
    # Given a monthly meeting on the last weekday of the month, skipping German non-working days
    last_weekday = cadence("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1")

    # When the next one after February 2029's is asked for
    following = next_occurrence(**last_weekday, after=utc(2029, 3, 1), skip=german_non_working_day)

    # Then Friday 30 March 2029, Good Friday, is skipped: Monday 30 April, 09:00 CEST
    assert following == utc(2029, 4, 30, 7)


@pytest.mark.parametrize("search", ["next", "previous"])
def test_a_rule_whose_every_occurrence_is_skipped_gives_none(search: str) -> None:
    # Given a Sunday meeting on an engagement that skips weekends
    sundays = cadence("FREQ=WEEKLY;BYDAY=SU", starts_on=date(2000, 1, 2))

    # When the next or previous occurrence is asked for
    if search == "next":
        found = next_occurrence(**sundays, after=utc(2026, 4, 2), skip=german_non_working_day)
    else:
        found = previous_occurrence(**sundays, before=utc(2026, 4, 2), skip=german_non_working_day)

    # Then the bounded search gives up with None instead of running forever
    assert found is None


# The services: a channel of an engagement that skips non-working days


def _skipping_channel(*, skip: bool, as_of: datetime) -> Channel:
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead, country="DE", skip_non_working_days=skip)
    role = factories.make_role(engagement=engagement)
    return channel_create(
        actor=lead,
        engagement=engagement,
        stakeholder=role.stakeholder,
        title="Friday sponsor sync",
        recurrence_rule=FRIDAYS_AT_NINE["rule"],
        starts_on=FRIDAYS_AT_NINE["starts_on"],
        local_time=FRIDAYS_AT_NINE["local_time"],
        owner=lead,
        as_of=as_of,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("skip", "first_due"),
    [(True, utc(2026, 4, 10, 7)), (False, utc(2026, 4, 3, 7))],
    ids=["skipping", "keeping every day"],
)
def test_a_channel_planned_before_easter_is_first_due_after_good_friday_when_skipping(
    skip: bool, first_due: datetime
) -> None:
    # Given a German engagement, when a Friday 09:00 Berlin channel is planned on Thursday 2 April 2026
    channel = _skipping_channel(skip=skip, as_of=utc(2026, 4, 2, 12))

    # Then it is first due on Good Friday only when the engagement keeps non-working days
    channel.refresh_from_db()
    assert channel.next_due_at == first_due


@pytest.mark.django_db
def test_a_check_in_moves_the_channel_past_good_friday() -> None:
    # Given a skipping channel due Friday 27 March 2026 at 09:00 CET
    channel = _skipping_channel(skip=True, as_of=utc(2026, 3, 26, 12))
    assert channel.next_due_at == utc(2026, 3, 27, 8)

    # When the meeting is held and logged against the channel
    check_in_log(
        actor=channel.owner,
        engagement=channel.engagement,
        occurred_at=utc(2026, 3, 27, 8, 30),
        summary="Went through the Easter cut-over.",
        attendees=[channel.stakeholder],
        channel=channel,
        as_of=utc(2026, 3, 27, 10),
    )

    # Then the channel is next due Friday 10 April at 09:00 CEST, Good Friday passed over
    channel.refresh_from_db()
    assert channel.next_due_at == utc(2026, 4, 10, 7)


@pytest.mark.django_db
def test_a_check_in_after_the_last_kept_occurrence_covers_the_one_after_good_friday() -> None:
    # Given a skipping channel already moved on to Friday 10 April (the meeting of 27 March was held)
    channel = _skipping_channel(skip=True, as_of=utc(2026, 3, 27, 9))
    assert channel.next_due_at == utc(2026, 4, 10, 7)

    # When a check-in is logged on Wednesday 1 April, after 27 March and before the skipped Good Friday
    check_in_log(
        actor=channel.owner,
        engagement=channel.engagement,
        occurred_at=utc(2026, 4, 1, 8),
        summary="Moved the sync forward because of Easter.",
        attendees=[channel.stakeholder],
        channel=channel,
        as_of=utc(2026, 4, 1, 12),
    )

    # Then it holds the 10 April meeting early, since Good Friday was never an occurrence: next is 17 April
    channel.refresh_from_db()
    assert channel.next_due_at == utc(2026, 4, 17, 7)


# The plan page says so


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("country", "skip", "words"),
    [
        ("DE", True, "every Friday at 09:00 Europe/Berlin, skipping weekends and public holidays"),
        ("", True, "every Friday at 09:00 Europe/Berlin, skipping weekends"),
        ("DE", False, "every Friday at 09:00 Europe/Berlin"),
    ],
    ids=["skipping in Germany", "skipping without a country", "keeping every day"],
)
def test_the_plan_page_says_when_a_cadence_skips_non_working_days(
    client, country: str, skip: bool, words: str
) -> None:
    # Given a Friday channel on an engagement that does or does not skip non-working days
    channel = _skipping_channel(skip=skip, as_of=utc(2026, 4, 2, 12))
    Engagement.objects.filter(pk=channel.engagement_id).update(country=country)

    # When its lead opens the plan
    client.force_login(channel.owner)
    response = client.get(reverse("engagement_plan", args=[channel.engagement_id]))

    # Then the cadence reads in words, naming what it skips (and claiming no holidays without a country)
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row.cadence == words
    assert words in response.content.decode()
