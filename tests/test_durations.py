"""Durations and cadences read as a person says them, and never claim more than is true."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pmaas.durations import cadence_in_words, duration_ago_in_words, duration_in_words, limit_in_words


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (timedelta(0), "less than a minute"),
        (timedelta(seconds=29), "less than a minute"),
        (timedelta(seconds=30), "1 minute"),
        (timedelta(minutes=45), "45 minutes"),
        (timedelta(minutes=59, seconds=29), "59 minutes"),
        (timedelta(minutes=59, seconds=30), "1 hour"),
        (timedelta(hours=2), "2 hours"),
        (timedelta(hours=23, minutes=29), "23 hours"),
        (timedelta(hours=23, minutes=30), "1 day"),
        (timedelta(hours=36), "36 hours"),
        (timedelta(hours=47), "47 hours"),
        (timedelta(hours=48), "2 days"),
        (timedelta(days=5), "5 days"),
        (timedelta(days=5, hours=11), "5 days"),
        (timedelta(days=5, hours=12), "6 days"),
        (timedelta(days=13, hours=11), "13 days"),
        (timedelta(days=14), "2 weeks"),
        (timedelta(days=14, minutes=1), "over 2 weeks"),
        (timedelta(days=17, hours=11), "over 2 weeks"),
        (timedelta(days=17, hours=12), "almost 3 weeks"),
        (timedelta(days=21), "3 weeks"),
        (timedelta(days=23), "over 3 weeks"),
        (timedelta(days=35), "5 weeks"),
        (timedelta(days=52, hours=12), "almost 8 weeks"),
        (timedelta(days=56), "8 weeks"),
        (timedelta(days=59, hours=11), "over 8 weeks"),
        (timedelta(days=59, hours=12), "about 2 months"),
        (timedelta(days=75), "about 2 months"),
        (timedelta(days=77), "about 3 months"),
        (timedelta(days=349), "about 11 months"),
        (timedelta(days=351), "about 1 year"),
        (timedelta(days=700), "about 2 years"),
    ],
)
def test_a_duration_reads_in_the_unit_a_person_would_use(duration: timedelta, words: str) -> None:
    assert duration_in_words(duration) == words


def test_a_negative_duration_reads_as_none() -> None:
    assert duration_in_words(timedelta(hours=-3)) == "less than a minute"


def test_microseconds_left_by_a_subtraction_do_not_turn_whole_weeks_into_over() -> None:
    # Given an allowance of 1.5 times 5 weeks divided back by the factor
    interval = timedelta(days=35) * 1.5 / 1.5 + timedelta(microseconds=3)

    assert duration_in_words(interval) == "5 weeks"


def test_two_durations_compared_in_one_sentence_never_read_the_same_way_round() -> None:
    # Given a silence a few hours longer than the plan's three weeks
    silent, planned = timedelta(days=21, hours=5), timedelta(days=21)

    # Then the longer one does not read as the same length
    assert (duration_in_words(silent), duration_in_words(planned)) == ("over 3 weeks", "3 weeks")


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (timedelta(seconds=10), "just now"),
        (timedelta(days=5), "5 days ago"),
        (timedelta(days=53), "almost 8 weeks ago"),
        (timedelta(days=50), "over 7 weeks ago"),
    ],
)
def test_how_long_ago(duration: timedelta, words: str) -> None:
    assert duration_ago_in_words(duration) == words


@pytest.mark.parametrize(
    ("interval", "words"),
    [
        (timedelta(days=1), "daily"),
        (timedelta(days=4), "every 4 days"),
        (timedelta(days=7), "weekly"),
        (timedelta(days=14), "every 2 weeks"),
        (timedelta(days=21), "every 3 weeks"),
        (timedelta(days=27), "about every 4 weeks"),
        (timedelta(days=28), "monthly"),
        (timedelta(days=31), "monthly"),
        (timedelta(days=32), "about every 5 weeks"),
        (timedelta(days=35), "every 5 weeks"),
        (timedelta(days=62), "every 2 months"),
        (timedelta(days=91), "quarterly"),
        (timedelta(days=366), "yearly"),
        (timedelta(hours=1), "every hour"),
        (timedelta(hours=36), "every 36 hours"),
        (timedelta(days=10, hours=12), "every 11 days"),
    ],
)
def test_a_cadence_reads_as_how_often(interval: timedelta, words: str) -> None:
    assert cadence_in_words(interval) == words


@pytest.mark.parametrize(
    ("days", "words"), [(21, "3 weeks"), (7, "1 week"), (45, "45 days"), (10, "10 days"), (1, "1 day")]
)
def test_a_limit_is_said_exactly_in_weeks_when_whole_weeks_else_in_days(days, words):
    assert limit_in_words(timedelta(days=days)) == words
