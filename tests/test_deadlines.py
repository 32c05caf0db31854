"""Deadlines read as agreed: a day agreed as a day is that day for every reader, across zones and DST."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from pmaas.deadlines import deadline_day, deadline_in_words, end_of_day

BERLIN, NEW_YORK, TOKYO, PARIS = (
    ZoneInfo(z) for z in ("Europe/Berlin", "America/New_York", "Asia/Tokyo", "Europe/Paris")
)


def test_a_day_agreed_in_berlin_reads_as_that_day_to_a_reader_in_berlin() -> None:
    due = end_of_day(dt.date(2026, 12, 3), "Europe/Berlin")

    assert deadline_in_words(due, agreed_in="Europe/Berlin", zone=BERLIN) == "Thu 3 Dec 2026"


@pytest.mark.parametrize(
    ("reader", "clock"),
    [(TOKYO, "07:59"), (NEW_YORK, "17:59")],
    ids=["a day ahead", "hours behind"],
)
def test_a_day_agreed_in_berlin_reads_as_that_day_to_a_reader_far_away_not_as_their_clock(
    reader: ZoneInfo, clock: str
) -> None:
    # Given an item agreed in Berlin for Thursday 3 December
    due = end_of_day(dt.date(2026, 12, 3), "Europe/Berlin")

    # When someone in Tokyo (already Friday morning then) or New York reads it
    words = deadline_in_words(due, agreed_in="Europe/Berlin", zone=reader)

    # Then it is Thursday, whose end it is, and not a clock time nobody agreed to
    assert words == "Thu 3 Dec 2026, end of day in Berlin"
    assert clock not in words


def test_a_reader_whose_day_ends_at_the_same_moment_is_not_told_whose_day_it_is() -> None:
    due = end_of_day(dt.date(2026, 12, 3), "Europe/Berlin")

    assert deadline_in_words(due, agreed_in="Europe/Berlin", zone=PARIS) == "Thu 3 Dec 2026"


@pytest.mark.parametrize(
    ("day", "agreed_in", "reader", "words"),
    [
        # Berlin's clocks go back on Sunday 25 October 2026; Auckland is on summer time (UTC+13).
        (
            dt.date(2026, 10, 25),
            "Europe/Berlin",
            ZoneInfo("Pacific/Auckland"),
            "Sun 25 Oct 2026, end of day in Berlin",
        ),
        # Berlin's clocks go forward on Sunday 29 March 2026, three weeks after New York's.
        (dt.date(2026, 3, 29), "Europe/Berlin", NEW_YORK, "Sun 29 Mar 2026, end of day in Berlin"),
        # New York's clocks go back on Sunday 1 November 2026.
        (dt.date(2026, 11, 1), "America/New_York", BERLIN, "Sun 1 Nov 2026, end of day in New York"),
    ],
    ids=["berlin-autumn", "berlin-spring", "new-york-autumn"],
)
def test_a_day_on_which_the_clocks_change_still_reads_as_that_day(
    day: dt.date, agreed_in: str, reader: ZoneInfo, words: str
) -> None:
    assert deadline_in_words(end_of_day(day, agreed_in), agreed_in=agreed_in, zone=reader) == words


def test_the_end_of_a_day_is_found_with_the_offset_of_that_day_not_of_another_season() -> None:
    # Given 21:59 UTC the day after Berlin's clocks went back: 23:59 in summer time, 22:59 in winter time
    moment = dt.datetime(2026, 10, 26, 21, 59, tzinfo=UTC)

    # When it is read as a deadline agreed in Berlin
    # Then it is a time, 22:59, and no day's end
    assert deadline_day(moment, "Europe/Berlin") is None
    assert deadline_in_words(moment, agreed_in="Europe/Berlin", zone=BERLIN) == "Mon 26 Oct 2026, 22:59"


@pytest.mark.parametrize(
    "agreed_in",
    ["", "Europe/Berlin", "Not/A_Zone"],
    ids=["agreed as a time", "not a day's end", "unknown zone"],
)
def test_a_deadline_that_is_no_days_end_reads_as_a_day_and_a_time_in_the_readers_zone(agreed_in: str) -> None:
    # Given 16:00 UTC on Tuesday 1 December: 17:00 in Berlin, 01:00 on Wednesday in Tokyo
    moment = dt.datetime(2026, 12, 1, 16, 0, tzinfo=UTC)

    # Then each reader sees their own clock, the day unpadded
    assert deadline_in_words(moment, agreed_in=agreed_in, zone=BERLIN) == "Tue 1 Dec 2026, 17:00"
    assert deadline_in_words(moment, agreed_in=agreed_in, zone=TOKYO) == "Wed 2 Dec 2026, 01:00"


def test_the_template_filter_reads_in_the_active_time_zone() -> None:
    template = Template("due {{ due|deadline:zone }} / {{ exact|deadline }}")
    context = Context(
        {
            "due": end_of_day(dt.date(2026, 12, 3), "America/New_York"),
            "zone": "America/New_York",
            "exact": dt.datetime(2026, 12, 3, 8, 30, tzinfo=UTC),
        }
    )

    with timezone.override(TOKYO):
        assert (
            template.render(context) == "due Thu 3 Dec 2026, end of day in New York / Thu 3 Dec 2026, 17:30"
        )
