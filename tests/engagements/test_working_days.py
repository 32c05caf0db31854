"""Working days: weekends and the engagement's country's public holidays do not count."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, date

import pytest

from communications import obligations
from communications.models import CommunicationObligation
from engagements.models import ChangeRequest
from engagements.working_days import (
    EngagementCalendar,
    end_of_working_day,
    engagement_calendar,
    engagement_skip_rule,
    engagement_skip_words,
    working_day_calendar,
    working_days_after,
)
from tests import factories

# Easter 2026 in Germany: Good Friday 3 April and Easter Monday 6 April are public holidays.
THURSDAY_BEFORE_EASTER = date(2026, 4, 2)


@pytest.mark.parametrize(
    "holiday",
    [date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1), date(2026, 12, 25), date(2026, 12, 26)],
    ids=["Good Friday", "Easter Monday", "Labour Day", "Christmas Day", "Boxing Day"],
)
def test_german_public_holidays_are_not_working_days(holiday: date) -> None:
    # Given the German calendar, when a 2026 public holiday is checked, then it is not a working day
    assert not working_day_calendar(country="DE").is_working_day(holiday)


def test_ordinary_weekdays_are_working_days_and_weekends_are_not() -> None:
    # Given the German calendar
    calendar = working_day_calendar(country="DE")

    # Then the Thursday before Easter counts, and the Saturday and Sunday after it do not
    assert calendar.is_working_day(THURSDAY_BEFORE_EASTER)
    assert not calendar.is_working_day(date(2026, 4, 4))
    assert not calendar.is_working_day(date(2026, 4, 5))


def test_a_us_holiday_on_a_saturday_takes_the_friday_off() -> None:
    # Given the US calendar, where 4 July 2026 is a Saturday
    calendar = working_day_calendar(country="US")

    # Then Independence Day is observed on Friday 3 July, and Monday 6 July is a working day
    assert not calendar.is_working_day(date(2026, 7, 3))
    assert calendar.is_working_day(date(2026, 7, 6))


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, THURSDAY_BEFORE_EASTER),
        (1, date(2026, 4, 7)),
        (5, date(2026, 4, 13)),
        (-1, date(2026, 4, 1)),
    ],
    ids=["zero days", "one day past Easter", "five days", "one day back"],
)
def test_adding_working_days_passes_over_the_easter_holidays(n: int, expected: date) -> None:
    # Given Thursday 2 April 2026 in Germany, when n working days are added
    result = working_day_calendar(country="DE").add_working_days(THURSDAY_BEFORE_EASTER, n)

    # Then Good Friday, the weekend and Easter Monday do not count
    assert result == expected


def test_subtracting_working_days_passes_back_over_the_easter_holidays() -> None:
    # Given Tuesday 7 April 2026 in Germany, when one working day is taken away
    result = working_day_calendar(country="DE").add_working_days(date(2026, 4, 7), -1)

    # Then it is the Thursday before Easter
    assert result == THURSDAY_BEFORE_EASTER


def test_adding_working_days_across_the_year_end_skips_christmas_and_new_year() -> None:
    # Given Wednesday 23 December 2026 in Germany
    calendar = working_day_calendar(country="DE")

    # When working days are added
    # Then 24 and 31 December count, Christmas, the weekends and 1 January do not
    assert calendar.add_working_days(date(2026, 12, 23), 1) == date(2026, 12, 24)
    assert calendar.add_working_days(date(2026, 12, 24), 1) == date(2026, 12, 28)
    assert calendar.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)


@pytest.mark.parametrize("country", ["", "XX", "  "], ids=["empty", "unknown", "blank"])
def test_an_empty_or_unknown_country_counts_weekends_only(country: str) -> None:
    # Given a country the holidays package does not know, when its calendar is asked for
    calendar = working_day_calendar(country=country)

    # Then it does not raise, knows no public holidays, and Good Friday is a working day
    assert not calendar.has_public_holidays
    assert calendar.is_working_day(date(2026, 4, 3))
    assert not calendar.is_working_day(date(2026, 4, 4))
    assert calendar.add_working_days(THURSDAY_BEFORE_EASTER, 1) == date(2026, 4, 3)


def test_the_calendar_of_a_country_is_shared() -> None:
    # Given two requests for the same country, then they get the same calendar object
    assert working_day_calendar(country="DE") is working_day_calendar(country="DE")
    assert working_day_calendar(country="DE") is not working_day_calendar(country="US")


@pytest.mark.django_db
def test_an_engagement_that_does_not_skip_has_no_skip_rule_and_no_words() -> None:
    # Given a German engagement that keeps every occurrence
    engagement = factories.make_engagement(country="DE", skip_non_working_days=False)

    # Then nothing is skipped and its cadences say nothing more
    assert engagement_skip_rule(engagement) is None
    assert engagement_skip_words(engagement) == ""


@pytest.mark.django_db
def test_an_engagement_that_skips_passes_over_its_countrys_holidays_and_weekends() -> None:
    # Given a German engagement that skips non-working days
    engagement = factories.make_engagement(country="DE", skip_non_working_days=True)

    # When its skip rule is asked about
    skip = engagement_skip_rule(engagement)

    # Then Good Friday and Saturday are skipped, the Thursday before is kept
    assert skip is not None
    assert skip(date(2026, 4, 3))
    assert skip(date(2026, 4, 4))
    assert not skip(THURSDAY_BEFORE_EASTER)
    assert engagement_skip_words(engagement) == ", skipping weekends and public holidays"


@pytest.mark.django_db
def test_an_engagement_without_a_country_skips_weekends_only() -> None:
    # Given an engagement that skips non-working days but names no country
    engagement = factories.make_engagement(
        client=factories.make_client(country=""), country="", skip_non_working_days=True
    )

    # Then Good Friday is kept, and its cadences claim no public holidays
    skip = engagement_skip_rule(engagement)
    assert skip is not None
    assert not skip(date(2026, 4, 3))
    assert engagement_skip_words(engagement) == ", skipping weekends"


# Obligation deadlines: working days after the change request


def test_an_obligation_deadline_passes_over_public_holidays() -> None:
    # Given Thursday 2 April 2026, 10:00 UTC (12:00 in Berlin)
    as_of = dt.datetime(2026, 4, 2, 10, 0, tzinfo=UTC)

    # When five German working days are added in Berlin time
    deadline = working_days_after(
        as_of, 5, calendar=EngagementCalendar(time_zone="Europe/Berlin", country="DE", subdivision="")
    )

    # Then Good Friday and Easter Monday do not count: Monday 13 April, 12:00 in Berlin
    assert deadline == dt.datetime(2026, 4, 13, 10, 0, tzinfo=UTC)


def test_an_obligation_deadline_counts_days_in_the_local_zone() -> None:
    # Given Thursday 2 April 2026 23:30 UTC, which is already Good Friday 01:30 in Berlin
    as_of = dt.datetime(2026, 4, 2, 23, 30, tzinfo=UTC)

    # When one German working day is added in Berlin time
    deadline = working_days_after(
        as_of, 1, calendar=EngagementCalendar(time_zone="Europe/Berlin", country="DE", subdivision="")
    )

    # Then counting starts from Good Friday: Tuesday 7 April, 01:30 in Berlin
    assert deadline == dt.datetime(2026, 4, 6, 23, 30, tzinfo=UTC)


def test_working_days_after_keeps_the_local_time_of_day_across_the_spring_clock_change() -> None:
    # Given Friday 27 March 2026, 10:00 in Berlin (09:00 UTC), before clocks go forward on Sunday
    as_of = dt.datetime(2026, 3, 27, 9, 0, tzinfo=UTC)

    # When one German working day is added in Berlin time
    deadline = working_days_after(
        as_of, 1, calendar=EngagementCalendar(time_zone="Europe/Berlin", country="DE", subdivision="")
    )

    # Then it is Monday 30 March, still 10:00 in Berlin, which is now 08:00 UTC
    assert deadline == dt.datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_working_days_after_keeps_the_local_time_of_day_across_the_autumn_clock_change() -> None:
    # Given Friday 23 October 2026, 10:00 in Berlin (08:00 UTC), before clocks go back on Sunday
    as_of = dt.datetime(2026, 10, 23, 8, 0, tzinfo=UTC)

    # When one German working day is added in Berlin time
    deadline = working_days_after(
        as_of, 1, calendar=EngagementCalendar(time_zone="Europe/Berlin", country="DE", subdivision="")
    )

    # Then it is Monday 26 October, still 10:00 in Berlin, which is now 09:00 UTC
    assert deadline == dt.datetime(2026, 10, 26, 9, 0, tzinfo=UTC)


def test_working_days_after_crosses_a_clock_change_and_public_holidays_together() -> None:
    # Given Thursday 26 March 2026, 10:00 in Berlin (09:00 UTC, winter time)
    as_of = dt.datetime(2026, 3, 26, 9, 0, tzinfo=UTC)

    # When six German working days are added
    deadline = working_days_after(
        as_of, 6, calendar=EngagementCalendar(time_zone="Europe/Berlin", country="DE", subdivision="")
    )

    # Then Fri 27, Mon 30, Tue 31, Wed 1 and Thu 2 count, Good Friday and Easter Monday do not:
    # Tuesday 7 April, 10:00 summer time in Berlin
    assert deadline == dt.datetime(2026, 4, 7, 8, 0, tzinfo=UTC)


def test_working_days_after_counts_the_dates_of_the_zone_it_is_given() -> None:
    # Given one instant: Friday 23:30 in UTC, already Saturday 00:30 in Berlin
    as_of = dt.datetime(2026, 1, 23, 23, 30, tzinfo=UTC)

    # When one working day is added, in UTC and in Berlin
    in_utc = working_days_after(
        as_of, 1, calendar=EngagementCalendar(time_zone="UTC", country="DE", subdivision="")
    )
    in_berlin = working_days_after(
        as_of, 1, calendar=EngagementCalendar(time_zone="Europe/Berlin", country="DE", subdivision="")
    )

    # Then UTC counts from Friday (Monday 23:30 UTC), Berlin from Saturday (Monday 00:30 Berlin)
    assert in_utc == dt.datetime(2026, 1, 26, 23, 30, tzinfo=UTC)
    assert in_berlin == dt.datetime(2026, 1, 25, 23, 30, tzinfo=UTC)


def test_working_days_after_zero_days_is_the_moment_itself_and_negative_days_count_back() -> None:
    # Given Tuesday 7 April 2026, 12:00 in Berlin
    as_of = dt.datetime(2026, 4, 7, 10, 0, tzinfo=UTC)

    # When no working day, or one back, is counted
    # Then zero is the same instant, and one back passes over Easter Monday and Good Friday to Thursday
    assert (
        working_days_after(
            as_of, 0, calendar=EngagementCalendar(time_zone="Europe/Berlin", country="DE", subdivision="")
        )
        == as_of
    )
    assert working_days_after(
        as_of, -1, calendar=EngagementCalendar(time_zone="Europe/Berlin", country="DE", subdivision="")
    ) == dt.datetime(2026, 4, 2, 10, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_change_request_before_easter_gives_a_deadline_past_the_holidays() -> None:
    # Given a German engagement whose sponsor has no planned channel
    lead = factories.practice_lead()
    engagement = factories.make_engagement(lead=lead, country="DE")
    role = factories.make_role(engagement=engagement)

    # When a scope change is recorded on Thursday 2 April 2026 with the default five working days
    change_request = obligations.change_request_record(
        actor=lead,
        engagement=engagement,
        title="Add the pharmacy module",
        kind=ChangeRequest.Kind.SCOPE,
        raised_on=THURSDAY_BEFORE_EASTER,
        notify_stakeholder_ids=[role.stakeholder_id],
        as_of=dt.datetime(2026, 4, 2, 10, 0, tzinfo=UTC),
    )

    # Then the sponsor must be told by the end of Monday 13 April (17:00 in Berlin),
    # Good Friday and Easter Monday not counting
    obligation = CommunicationObligation.objects.get(change_request=change_request)
    assert obligation.channel is None
    assert obligation.deadline == dt.datetime(2026, 4, 13, 15, 0, tzinfo=UTC)


# Holiday regions


@pytest.mark.parametrize(
    "holiday", [date(2026, 4, 6), date(2026, 8, 31)], ids=["Easter Monday", "August bank holiday"]
)
def test_england_keeps_its_bank_holidays_which_the_national_uk_calendar_lacks(holiday: date) -> None:
    # Given the UK calendar with England as its region, and without a region
    england = working_day_calendar(country="GB", subdivision="ENG")
    national = working_day_calendar(country="GB")

    # Then the English bank holiday is not a working day in England, but is in the national calendar
    assert not england.is_working_day(holiday)
    assert national.is_working_day(holiday)


def test_bavaria_takes_epiphany_off_and_germany_as_a_whole_does_not() -> None:
    # Given Epiphany, Tuesday 6 January 2026
    epiphany = date(2026, 1, 6)

    # Then Bavaria does not work and the German national calendar does
    assert not working_day_calendar(country="DE", subdivision="BY").is_working_day(epiphany)
    assert working_day_calendar(country="DE").is_working_day(epiphany)


def test_a_calendar_is_shared_per_country_and_region() -> None:
    assert working_day_calendar(country="DE", subdivision="BY") is working_day_calendar(
        country="de", subdivision="BY"
    )
    assert working_day_calendar(country="DE", subdivision="BY") is not working_day_calendar(country="DE")


def test_a_region_the_country_does_not_have_counts_national_holidays_only() -> None:
    calendar = working_day_calendar(country="DE", subdivision="ENG")

    assert calendar.subdivision == ""
    assert not calendar.is_working_day(date(2026, 4, 6))


@pytest.mark.django_db
def test_a_bavarian_engagement_skips_epiphany_and_a_national_german_one_does_not() -> None:
    # Given two German engagements that skip non-working days, one of them in Bavaria
    client = factories.make_client(country="DE")
    bavarian = factories.make_engagement(
        client=client, country="DE", holiday_subdivision="BY", skip_non_working_days=True
    )
    national = factories.make_engagement(client=client, country="DE", skip_non_working_days=True)

    # When each is asked whether Epiphany 2026 is passed over
    bavarian_skip = engagement_skip_rule(bavarian)
    national_skip = engagement_skip_rule(national)

    # Then only the Bavarian one skips it
    assert bavarian_skip is not None and bavarian_skip(date(2026, 1, 6))
    assert national_skip is not None and not national_skip(date(2026, 1, 6))


@pytest.mark.django_db
def test_an_engagement_without_a_region_takes_its_clients_only_in_the_clients_country() -> None:
    # Given an English client with one UK engagement and one German engagement, neither naming a region
    client = factories.make_client(country="GB", holiday_subdivision="ENG", time_zone="Europe/London")
    in_england = factories.make_engagement(client=client, country="GB")
    in_germany = factories.make_engagement(client=client, country="DE")

    # Then the UK one counts England's holidays and the German one German national holidays
    assert engagement_calendar(in_england) == EngagementCalendar("Europe/London", "GB", "ENG")
    assert engagement_calendar(in_germany) == EngagementCalendar("Europe/London", "DE", "")


# The end of the working day: deadlines "N working days after"

NEW_YORK = EngagementCalendar(time_zone="America/New_York", country="US", subdivision="")


def test_the_end_of_the_next_working_day_is_17_00_local_whatever_the_time_of_day() -> None:
    # Given Wednesday 25 November 2026, 22:30 in New York (Thursday 03:30 UTC)
    as_of = dt.datetime(2026, 11, 26, 3, 30, tzinfo=UTC)

    # When the end of the next working day is asked for
    deadline = end_of_working_day(as_of, 1, calendar=NEW_YORK)

    # Then Thanksgiving (Thursday 26) does not count: Friday 27 November, 17:00 EST
    assert deadline == dt.datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def test_the_end_of_a_working_day_is_17_00_local_across_a_clock_change() -> None:
    # Given Friday 30 October 2026, 10:00 in New York (EDT), before clocks go back on 1 November
    as_of = dt.datetime(2026, 10, 30, 14, 0, tzinfo=UTC)

    # When the end of the first working day after it is asked for
    deadline = end_of_working_day(as_of, 1, calendar=NEW_YORK)

    # Then it is Monday 2 November, 17:00 EST, which is 22:00 UTC (not 21:00 as in EDT)
    assert deadline == dt.datetime(2026, 11, 2, 22, 0, tzinfo=UTC)


def test_the_end_of_a_working_day_follows_the_working_day_end_setting(settings) -> None:
    # Given working days that end at 18:30
    settings.WORKING_DAY_END = dt.time(18, 30)

    # When the end of the working day after Friday 6 March 2026 is asked for in London
    deadline = end_of_working_day(
        dt.datetime(2026, 3, 6, 9, 0, tzinfo=UTC),
        1,
        calendar=EngagementCalendar(time_zone="Europe/London", country="GB", subdivision="ENG"),
    )

    # Then it is Monday 9 March, 18:30 in London
    assert deadline == dt.datetime(2026, 3, 9, 18, 30, tzinfo=UTC)
