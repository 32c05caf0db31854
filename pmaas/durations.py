"""Durations in the words a person says: "5 days", "over 3 weeks", "about 2 months", "expected weekly".

Every page, mail and reason that shows a length of time (how long someone has
been silent, a cadence, a grace period, how late something is) says it
through ``duration_in_words``, so the same length reads the same everywhere.

The unit is the one a person would reach for at that size, and the words
never claim more than is true, so two durations compared in one sentence
("no contact for over 3 weeks, longer than the planned 3 weeks") never
contradict each other:

- under an hour: minutes ("1 minute", "45 minutes"); under a minute, "less than a minute";
- under a day, and under two days unless a whole number of days: hours ("2 hours", "36 hours");
- under two weeks: days, to the nearest day ("1 day", "5 days", "13 days");
- under nine weeks: weeks, with "over" or "almost" when not whole ("3 weeks",
  "over 3 weeks" for 23 days, "almost 8 weeks" for 53 days);
- then months of 30.44 days, "about 2 months", and years, "about 1 year".
"""

from __future__ import annotations

from datetime import timedelta

_MINUTE = 60
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_WEEK = 7 * _DAY
_MONTH_DAYS = 365.25 / 12
_YEAR_DAYS = 365.25
# Past this many whole weeks a person counts in months.
_WEEKS_UP_TO = 8

# The longest gap of a calendar cadence, in whole days, and what a person calls it.
# "Monthly on the 15th" leaves 28 to 31 days between meetings; "the first Tuesday
# of the month" leaves up to 35, which is "every 5 weeks", not monthly.
_CALENDAR_CADENCES = (
    (range(1, 2), "daily"),
    (range(7, 8), "weekly"),
    (range(28, 32), "monthly"),
    (range(59, 63), "every 2 months"),
    (range(89, 93), "quarterly"),
    (range(181, 185), "every 6 months"),
    (range(365, 367), "yearly"),
)


def count_in_words(number: int, word: str, plural: str | None = None) -> str:
    """ "1 decision", "3 decisions"; ``plural`` for a word that does not take an s ("2 people")."""
    return f"{number} {word if number == 1 else (plural or word + 's')}"


def _count(number: int, unit: str) -> str:
    return count_in_words(number, unit)


def _nearest(value: float) -> int:
    """Half up, as people round: 2.5 days is 3 days (Python's round() would say 2)."""
    return int(value + 0.5)


def duration_in_words(duration: timedelta) -> str:
    """The duration as a person says it; the rules are in the module docstring.

    A negative duration reads as none ("less than a minute"): callers show
    how long ago or how long for, never a signed difference.
    """
    # Whole minutes: a value computed from two timestamps carries microseconds nobody means.
    seconds = _nearest(max(duration.total_seconds(), 0) / _MINUTE) * _MINUTE
    if seconds < _MINUTE:
        return "less than a minute"
    if seconds < _HOUR:
        return _count(seconds // _MINUTE, "minute")
    hours = _nearest(seconds / _HOUR)
    if hours < 24 or (hours < 48 and hours % 24):
        return _count(hours, "hour")
    days = _nearest(seconds / _DAY)
    if days < 14:
        return _count(days, "day")
    weeks, rest = divmod(seconds, _WEEK)
    if weeks <= _WEEKS_UP_TO:
        if rest == 0:
            return _count(weeks, "week")
        if rest < _WEEK / 2:
            return f"over {_count(weeks, 'week')}"
        if weeks + 1 <= _WEEKS_UP_TO:
            return f"almost {_count(weeks + 1, 'week')}"
    months = _nearest(seconds / _DAY / _MONTH_DAYS)
    if months < 12:
        return f"about {_count(months, 'month')}"
    return f"about {_count(_nearest(seconds / _DAY / _YEAR_DAYS), 'year')}"


def limit_in_words(limit: timedelta) -> str:
    """A configured limit, said exactly: "3 weeks" when it is whole weeks, else "45 days".

    Not rounded as ``duration_in_words`` rounds what happened: "over 6 weeks"
    reads as a measurement, where a limit is a number someone chose.
    """
    days = _nearest(max(limit.total_seconds(), 0) / _DAY)
    if days and days % 7 == 0:
        return _count(days // 7, "week")
    return _count(days, "day")


def duration_ago_in_words(duration: timedelta) -> str:
    """How long ago, as a person says it: "5 days ago", "over 7 weeks ago", "just now"."""
    words = duration_in_words(duration)
    return "just now" if words == "less than a minute" else f"{words} ago"


def cadence_in_words(interval: timedelta) -> str:
    """How often, from the longest gap a cadence leaves: "weekly", "every 2 weeks", "every 5 weeks".

    A whole number of days that matches a calendar cadence gets its name;
    any other interval is "every" and the duration, with "about" before it
    when the duration is not a whole number of its unit ("about every 6 weeks").
    """
    seconds = _nearest(max(interval.total_seconds(), 0) / _MINUTE) * _MINUTE
    if seconds % _DAY == 0:
        days = seconds // _DAY
        for span, name in _CALENDAR_CADENCES:
            if days in span:
                return name
    words = duration_in_words(timedelta(seconds=seconds))
    for qualifier in ("over ", "almost ", "about "):
        if words.startswith(qualifier):
            return f"about every {_rounded_plainly(seconds)}"
    if words == "less than a minute":
        return "continuously"
    # "every hour", not "every 1 hour".
    return f"every {words.removeprefix('1 ')}"


def _rounded_plainly(seconds: int) -> str:
    """The nearest whole weeks or months, for "about every ..."."""
    weeks = _nearest(seconds / _WEEK)
    if weeks <= _WEEKS_UP_TO:
        return _count(weeks, "week").removeprefix("1 ")
    months = _nearest(seconds / _DAY / _MONTH_DAYS)
    if months < 12:
        return _count(months, "month").removeprefix("1 ")
    return _count(_nearest(seconds / _DAY / _YEAR_DAYS), "year").removeprefix("1 ")
