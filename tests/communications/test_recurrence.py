"""Cadences in the stakeholder's local time: the next and previous occurrence of a rule.

Every function here takes the moment to search from (``after=`` / ``before=``),
so no clock is moved. Expected instants are written out by hand in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TypedDict
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from communications.recurrence import next_occurrence, parse_rule, previous_occurrence

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"


class Cadence(TypedDict):
    rule: str
    starts_on: date
    local_time: time
    time_zone: str


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def chain(
    *, rule: str, starts_on: date, local_time: time, time_zone: str, after: datetime, count: int
) -> list[datetime]:
    """The next ``count`` occurrences, each searched strictly after the one before."""
    found: list[datetime] = []
    for _ in range(count):
        following = next_occurrence(
            rule=rule, starts_on=starts_on, local_time=local_time, time_zone=time_zone, after=after
        )
        assert following is not None
        found.append(following)
        after = following
    return found


def test_weekly_meeting_in_berlin_stays_at_nine_local_across_the_march_clock_change() -> None:
    # Given a Monday 09:00 meeting in Berlin; the clocks go forward on Sunday 29 March 2026
    # When the next four occurrences are computed from mid-March
    found = chain(
        rule="FREQ=WEEKLY;BYDAY=MO",
        starts_on=date(2026, 1, 5),
        local_time=time(9, 0),
        time_zone=BERLIN,
        after=utc(2026, 3, 15),
        count=4,
    )

    # Then the UTC hour moves from 8 (CET) to 7 (CEST) while the local time stays 09:00
    assert found == [utc(2026, 3, 16, 8), utc(2026, 3, 23, 8), utc(2026, 3, 30, 7), utc(2026, 4, 6, 7)]
    assert {moment.astimezone(ZoneInfo(BERLIN)).time() for moment in found} == {time(9, 0)}


def test_weekly_meeting_in_berlin_stays_at_nine_local_across_the_october_clock_change() -> None:
    # Given a Monday 09:00 meeting in Berlin; the clocks go back on Sunday 25 October 2026
    # When the next three occurrences are computed from mid-October
    found = chain(
        rule="FREQ=WEEKLY;BYDAY=MO",
        starts_on=date(2026, 1, 5),
        local_time=time(9, 0),
        time_zone=BERLIN,
        after=utc(2026, 10, 15),
        count=3,
    )

    # Then the UTC hour moves from 7 (CEST) back to 8 (CET)
    assert found == [utc(2026, 10, 19, 7), utc(2026, 10, 26, 8), utc(2026, 11, 2, 8)]


def test_weekly_meeting_in_new_york_follows_the_american_clock_changes() -> None:
    # Given a Monday 09:00 meeting in New York; DST starts 8 March and ends 1 November 2026
    rule: Cadence = {
        "rule": "FREQ=WEEKLY;BYDAY=MO",
        "starts_on": date(2026, 1, 5),
        "local_time": time(9, 0),
        "time_zone": NEW_YORK,
    }

    # When occurrences around both changes are computed
    spring = chain(**rule, after=utc(2026, 3, 1), count=2)
    autumn = chain(**rule, after=utc(2026, 10, 25), count=2)

    # Then 09:00 EST is 14:00 UTC and 09:00 EDT is 13:00 UTC
    assert spring == [utc(2026, 3, 2, 14), utc(2026, 3, 9, 13)]
    assert autumn == [utc(2026, 10, 26, 13), utc(2026, 11, 2, 14)]


def test_daily_call_in_kolkata_keeps_its_half_hour_offset() -> None:
    # Given a daily 09:00 call in Kolkata (UTC+05:30, no daylight saving)
    # When the next occurrence after a UTC midnight is computed
    found = next_occurrence(
        rule="FREQ=DAILY",
        starts_on=date(2026, 1, 1),
        local_time=time(9, 0),
        time_zone="Asia/Kolkata",
        after=utc(2026, 6, 10),
    )

    # Then it falls at 03:30 UTC to the minute
    assert found == utc(2026, 6, 10, 3, 30)


def test_local_time_skipped_by_spring_forward_moves_forward_by_the_gap() -> None:
    # Given a daily 02:30 in Berlin; on 29 March 2026 the clocks jump from 02:00 to 03:00
    # When the occurrences around that day are computed
    found = chain(
        rule="FREQ=DAILY",
        starts_on=date(2026, 3, 1),
        local_time=time(2, 30),
        time_zone=BERLIN,
        after=utc(2026, 3, 28, 12),
        count=2,
    )

    # Then the missing 02:30 becomes 03:30 CEST (01:30 UTC) and the next day is 02:30 CEST again
    assert found == [utc(2026, 3, 29, 1, 30), utc(2026, 3, 30, 0, 30)]
    assert found[0].astimezone(ZoneInfo(BERLIN)).time() == time(3, 30)


def test_local_time_repeated_by_fall_back_takes_its_first_instance_only() -> None:
    # Given a daily 02:30 in Berlin; on 25 October 2026 02:00-03:00 happens twice
    # When the occurrences around that day are computed
    found = chain(
        rule="FREQ=DAILY",
        starts_on=date(2026, 10, 1),
        local_time=time(2, 30),
        time_zone=BERLIN,
        after=utc(2026, 10, 24, 12),
        count=2,
    )

    # Then the first (CEST) 02:30 counts and the repeated one (01:30 UTC) is not a second occurrence
    assert found == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]


def test_previous_occurrence_is_strictly_before_and_crosses_the_clock_change() -> None:
    # Given a Monday 09:00 meeting in Berlin
    rule: Cadence = {
        "rule": "FREQ=WEEKLY;BYDAY=MO",
        "starts_on": date(2026, 1, 5),
        "local_time": time(9, 0),
        "time_zone": BERLIN,
    }

    # When the occurrence before the first summer-time Monday is asked for, at exactly that instant
    found = previous_occurrence(**rule, before=utc(2026, 3, 30, 7))

    # Then it is the winter-time Monday before it, not the instant itself
    assert found == utc(2026, 3, 23, 8)


def test_previous_occurrence_of_a_skipped_local_time_is_where_next_occurrence_put_it() -> None:
    # Given a daily 02:30 in Berlin across the spring-forward day
    rule: Cadence = {
        "rule": "FREQ=DAILY",
        "starts_on": date(2026, 3, 1),
        "local_time": time(2, 30),
        "time_zone": BERLIN,
    }

    # When the occurrence before the next day's one is asked for
    found = previous_occurrence(**rule, before=utc(2026, 3, 30, 0, 30))

    # Then it is 03:30 CEST on the day of the gap
    assert found == utc(2026, 3, 29, 1, 30)


def test_previous_occurrence_before_the_start_is_none() -> None:
    # Given a cadence starting on 6 January 2026
    # When the occurrence before that first day is asked for
    found = previous_occurrence(
        rule="FREQ=WEEKLY;BYDAY=TU",
        starts_on=date(2026, 1, 6),
        local_time=time(9, 0),
        time_zone=BERLIN,
        before=utc(2026, 1, 6, 8),
    )

    # Then there is none
    assert found is None


def test_next_occurrence_before_the_start_is_the_first_day() -> None:
    # Given a cadence starting on Tuesday 6 January 2026
    # When the next occurrence is asked for weeks before it starts
    found = next_occurrence(
        rule="FREQ=WEEKLY;BYDAY=TU",
        starts_on=date(2026, 1, 6),
        local_time=time(9, 0),
        time_zone=BERLIN,
        after=utc(2025, 12, 1),
    )

    # Then it is the first Tuesday of the cadence
    assert found == utc(2026, 1, 6, 8)


def test_every_other_week_skips_the_week_in_between() -> None:
    # Given a fortnightly Tuesday cadence starting Tuesday 6 January 2026
    # When the next occurrences are computed from the day after the first
    found = chain(
        rule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        starts_on=date(2026, 1, 6),
        local_time=time(9, 0),
        time_zone=BERLIN,
        after=utc(2026, 1, 7),
        count=3,
    )

    # Then 13 and 27 January are skipped
    assert found == [utc(2026, 1, 20, 8), utc(2026, 2, 3, 8), utc(2026, 2, 17, 8)]


def test_monthly_on_the_first_tuesday() -> None:
    # Given a steering committee on the first Tuesday of each month at 09:00 Berlin
    # When the first four occurrences of 2026 are computed
    found = chain(
        rule="FREQ=MONTHLY;BYDAY=1TU",
        starts_on=date(2026, 1, 1),
        local_time=time(9, 0),
        time_zone=BERLIN,
        after=utc(2025, 12, 31),
        count=4,
    )

    # Then they are 6 Jan, 3 Feb, 3 Mar and 7 Apr (the last one in summer time)
    assert found == [utc(2026, 1, 6, 8), utc(2026, 2, 3, 8), utc(2026, 3, 3, 8), utc(2026, 4, 7, 7)]


def test_monthly_on_the_last_working_day() -> None:
    # Given a report due on the last weekday of each month at 17:00 Berlin
    rule: Cadence = {
        "rule": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "starts_on": date(2026, 1, 1),
        "local_time": time(17, 0),
        "time_zone": BERLIN,
    }

    # When occurrences are computed for months that end on a weekend and on a weekday
    first_three = chain(**rule, after=utc(2026, 1, 1), count=3)
    may = next_occurrence(**rule, after=utc(2026, 5, 1))
    october = next_occurrence(**rule, after=utc(2026, 10, 1))

    # Then Saturday 31 Jan, Saturday 28 Feb, Sunday 31 May and Saturday 31 Oct fall back to Friday
    assert first_three == [utc(2026, 1, 30, 16), utc(2026, 2, 27, 16), utc(2026, 3, 31, 15)]
    assert may == utc(2026, 5, 29, 15)
    assert october == utc(2026, 10, 30, 16)


def test_rule_with_until_has_no_occurrence_after_its_last_day() -> None:
    # Given a weekly Tuesday cadence that ends on 10 March 2026 (last occurrence 3 March)
    rule: Cadence = {
        "rule": "FREQ=WEEKLY;BYDAY=TU;UNTIL=20260310",
        "starts_on": date(2026, 1, 6),
        "local_time": time(9, 0),
        "time_zone": BERLIN,
    }

    # When the next occurrence is asked for just before and just after the last one
    last = next_occurrence(**rule, after=utc(2026, 3, 2))
    beyond = next_occurrence(**rule, after=utc(2026, 3, 3, 8))

    # Then the last one is found and after it there is none
    assert last == utc(2026, 3, 3, 8)
    assert beyond is None


def test_rule_with_count_has_no_occurrence_after_the_last_one() -> None:
    # Given a cadence of three weekly meetings from Tuesday 6 January 2026
    rule: Cadence = {
        "rule": "FREQ=WEEKLY;COUNT=3",
        "starts_on": date(2026, 1, 6),
        "local_time": time(9, 0),
        "time_zone": BERLIN,
    }

    # When the next occurrence is asked for before and after the third
    third = next_occurrence(**rule, after=utc(2026, 1, 14))
    beyond = next_occurrence(**rule, after=utc(2026, 1, 20, 8))

    # Then the third is on 20 January and there is no fourth
    assert third == utc(2026, 1, 20, 8)
    assert beyond is None


@pytest.mark.parametrize(
    ("until", "last"),
    [
        # 09:00 Berlin on 3 March is 08:00 UTC: an UNTIL at that instant includes it
        ("20260303T080000Z", utc(2026, 3, 3, 8)),
        # one second earlier, 3 March is out and 24 February is the last
        ("20260303T075959Z", utc(2026, 2, 24, 8)),
    ],
)
def test_until_in_utc_as_calendars_write_it_ends_the_rule_at_that_instant(until: str, last: datetime) -> None:
    # Given a rule ended by an RFC 5545 UNTIL in UTC, as exported by calendar software
    rule: Cadence = {
        "rule": f"FREQ=WEEKLY;BYDAY=TU;UNTIL={until}",
        "starts_on": date(2026, 1, 6),
        "local_time": time(9, 0),
        "time_zone": BERLIN,
    }

    # When the last occurrence and the one after it are computed
    found = previous_occurrence(**rule, before=utc(2026, 12, 31))
    beyond = next_occurrence(**rule, after=last)

    # Then the UTC instant is compared with occurrences in UTC, not in local wall time
    assert found == last
    assert beyond is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("FREQ=HOURLY", "invalid_frequency"),
        ("FREQ=MINUTELY;INTERVAL=15", "invalid_frequency"),
        ("FREQ=SECONDLY", "invalid_frequency"),
        ("every tuesday", "invalid_frequency"),
        ("BYDAY=TU", "invalid_frequency"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalid_rule"),
        ("FREQ=WEEKLY;FOO=1", "invalid_rule"),
        ("FREQ=WEEKLY;COUNT=many", "invalid_rule"),
        ("FREQ=WEEKLY;BYDAY=TU\nEXDATE:20260113T090000", "invalid_rule"),
        ("DTSTART=20260106T090000;FREQ=WEEKLY", "dtstart_in_rule"),
        ("DTSTART:20260106T090000\nRRULE:FREQ=WEEKLY;BYDAY=TU", "dtstart_in_rule"),
        ("", "empty_rule"),
        ("   ", "empty_rule"),
        ("RRULE:", "empty_rule"),
    ],
)
def test_parse_rule_refuses_what_is_not_a_daily_or_slower_cadence(text: str, code: str) -> None:
    # Given a rule that is not a usable cadence
    # When it is parsed
    with pytest.raises(ValidationError) as refused:
        parse_rule(text, starts_on=date(2026, 1, 6), local_time=time(9, 0))

    # Then it is refused with a message and a code that says why
    assert refused.value.code == code
    assert refused.value.messages[0]


@pytest.mark.parametrize("text", ["FREQ=WEEKLY;INTERVAL=0", "FREQ=WEEKLY;INTERVAL=-2"])
def test_parse_rule_refuses_an_interval_below_one(text: str) -> None:
    # Given an interval that would never advance (dateutil loops forever on INTERVAL=0)
    # When it is parsed
    with pytest.raises(ValidationError) as refused:
        parse_rule(text, starts_on=date(2026, 1, 6), local_time=time(9, 0))

    # Then it is refused before anything expands it
    assert refused.value.code == "invalid_interval"


@pytest.mark.parametrize(
    "text",
    ["FREQ=DAILY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11", "FREQ=WEEKLY;BYMINUTE=15", "FREQ=DAILY;BYSECOND=5"],
)
def test_parse_rule_refuses_a_time_of_day_inside_the_rule(text: str) -> None:
    # Given a rule that sets its own time of day, overriding the channel's local time
    # (and with BYHOUR, sneaking an hourly cadence past the FREQ check)
    # When it is parsed
    with pytest.raises(ValidationError) as refused:
        parse_rule(text, starts_on=date(2026, 1, 6), local_time=time(9, 0))

    # Then it is refused: the local time is set separately
    assert refused.value.code == "time_in_rule"


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=WEEKLY;BYDAY=TU",
        "RRULE:FREQ=WEEKLY;BYDAY=TU",
        "  freq=weekly;byday=tu  ",
        "FREQ=WEEKLY;BYDAY=TU;",
    ],
)
def test_parse_rule_accepts_the_prefix_lower_case_and_surrounding_space(text: str) -> None:
    # Given the same weekly Tuesday rule written in several accepted ways
    # When it is parsed with a start date and local time
    parsed = parse_rule(text, starts_on=date(2026, 1, 6), local_time=time(9, 0))

    # Then it expands to Tuesdays at 09:00 from the start date
    assert parsed[0] == datetime(2026, 1, 6, 9, 0)  # noqa: DTZ001 - rules expand in naive local time
    assert parsed[1] == datetime(2026, 1, 13, 9, 0)  # noqa: DTZ001


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "never_occurs"),
        ("FREQ=MONTHLY;BYMONTH=2;BYDAY=5FR", "never_occurs"),
        ("FREQ=WEEKLY;BYDAY=TU;UNTIL=20251231", "never_occurs"),
        ("FREQ=WEEKLY;COUNT=0", "invalid_rule"),
        ("FREQ=DAILY;BYMONTH=13", "invalid_rule"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "invalid_rule"),
        ("FREQ=WEEKLY;BYDAY=2TU", "invalid_rule"),
        ("FREQ=MONTHLY;BYDAY=6TU", "invalid_rule"),
        ("FREQ=YEARLY;BYWEEKNO=20", "invalid_rule"),
        ("FREQ=WEEKLY;BYDAY=TU;BYDAY=TH", "invalid_rule"),
        ("FREQ=YEARLY;INTERVAL=5", "invalid_interval"),
        ("FREQ=WEEKLY;UNTIL=99991231T235959Z", "date_out_of_range"),
    ],
)
def test_parse_rule_refuses_a_rule_with_impossible_values_or_no_date_within_two_years(
    text: str, code: str
) -> None:
    # Given a cadence starting in 2026 whose values cannot be, or whose days never come
    # When it is parsed
    with pytest.raises(ValidationError) as refused:
        parse_rule(text, starts_on=date(2026, 1, 6), local_time=time(9, 0))

    # Then it is refused, saying why
    assert refused.value.code == code


def test_a_rule_that_never_occurs_has_no_next_or_previous_occurrence() -> None:
    # Given a daily rule on 30 February, as a row written before today's checks could hold
    cadence = Cadence(
        rule="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        starts_on=date(2026, 1, 6),
        local_time=time(9, 0),
        time_zone=BERLIN,
    )

    # Then neither search names a date (and neither walks to the year 9999 looking)
    assert next_occurrence(**cadence, after=utc(2026, 3, 1)) is None
    assert previous_occurrence(**cadence, before=utc(2026, 3, 1)) is None


def test_searches_from_beyond_the_accepted_years_stop_at_them() -> None:
    # Given a daily cadence without an end
    cadence = Cadence(
        rule="FREQ=DAILY", starts_on=date(2026, 1, 6), local_time=time(9, 0), time_zone=NEW_YORK
    )

    # Then nothing is due after the last accepted day, and the last occurrence before the year 9999 is on it
    assert next_occurrence(**cadence, after=datetime(9999, 12, 31, 23, 0, tzinfo=UTC)) is None
    assert previous_occurrence(**cadence, before=datetime(9999, 12, 31, 23, 0, tzinfo=UTC)) == utc(
        2100, 12, 31, 14
    )
