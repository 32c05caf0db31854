"""Working days: weekends and an engagement's country's public holidays do not count.

Holidays come from the ``holidays`` package (pinned: its data changes between
releases). Only national holidays count, never a region's: an engagement names
a country, not a state. A holiday observed on another day (US Independence
Day on a Saturday is observed on the Friday) takes the observed day off.

Deadlines counted in working days (an obligation's fallback deadline, a silent
sponsor's follow-up, the escalation ladder) all come from ``working_days_after``,
and a channel of an engagement that skips non-working days passes over
occurrences that fall on one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

# Saturday and Sunday, as date.weekday() numbers them.
_WEEKEND = frozenset({5, 6})


class WorkingDays:
    """The working days of one country: Monday to Friday, less its public holidays.

    Holiday years are filled in on first use, so one calendar serves any date.
    """

    def __init__(self, *, country: str, holiday_calendar: holidays.HolidayBase | None) -> None:
        self.country = country
        self._holidays = holiday_calendar
        # The holidays object fills a year in on first lookup; worker threads share one calendar.
        self._lock = threading.Lock()

    @property
    def has_public_holidays(self) -> bool:
        """False for an empty or unknown country, whose calendar is weekends only."""
        return self._holidays is not None

    def is_working_day(self, d: date) -> bool:
        """Monday to Friday and not a public holiday (nor a holiday's observed day) of the country."""
        if d.weekday() in _WEEKEND:
            return False
        if self._holidays is None:
            return True
        with self._lock:
            return d not in self._holidays

    def add_working_days(self, start: date, n: int) -> date:
        """The date ``n`` working days after ``start`` (before it when ``n`` is negative).

        ``start`` itself never counts, working day or not: Thursday 2 April 2026
        plus one working day in DE is Tuesday 7 April, past Good Friday and
        Easter Monday. ``n == 0`` returns ``start`` unchanged.
        """
        step = timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        current = start
        while remaining:
            current += step
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall in ``[start, end)``; 0 when ``end`` is not after ``start``.

        Half-open, so consecutive spans add up: a follow-up due on Friday and
        checked on Monday has been overdue one working day (the Friday).
        """
        count = 0
        current = start
        while current < end:
            if self.is_working_day(current):
                count += 1
            current += timedelta(days=1)
        return count


@cache
def working_day_calendar(*, country: str) -> WorkingDays:
    """The working-day calendar of a two-letter ISO country code, shared per country.

    An empty or unknown code (one the holidays package does not know) gives a
    calendar of weekends only rather than an error, so a badly set country never
    stops a schedule; ``has_public_holidays`` tells the two apart.
    """
    code = country.strip().upper()
    if not code:
        return WorkingDays(country="", holiday_calendar=None)
    try:
        holiday_calendar = holidays.country_holidays(code)
    except NotImplementedError:
        return WorkingDays(country=code, holiday_calendar=None)
    return WorkingDays(country=code, holiday_calendar=holiday_calendar)


def working_days_after(moment: datetime, days: int, *, country: str, time_zone: str) -> datetime:
    """The moment ``days`` working days after ``moment``, at the same local time of day, in UTC.

    The time-zone rule: days are counted on the calendar of ``time_zone``. For
    anything of an engagement that is its client's zone (``Client.time_zone``),
    where the public holidays of the engagement's ``country`` fall on their
    dates. ``moment`` is read as a local date and time there; the date moves
    on by ``days`` working days (``WorkingDays.add_working_days``: the starting
    date never counts, weekends and public holidays do not count), and the
    result is the same wall-clock time on the new date. So 10:00 on the Friday
    before a daylight-saving change is 10:00 on the Monday after, one hour
    less in UTC. A wall-clock time the change skips (02:30 on the night
    clocks go forward) moves on by the gap; one it repeats is the first of
    the two. ``days == 0`` returns ``moment`` itself (in UTC), a negative
    ``days`` counts backwards.
    """
    if days == 0:
        return moment.astimezone(UTC)
    zone = ZoneInfo(time_zone)
    local = moment.astimezone(zone)
    day = working_day_calendar(country=country).add_working_days(local.date(), days)
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(UTC)


def engagement_skip_rule(engagement: Any) -> Callable[[date], bool] | None:
    """What a channel of the engagement passes over: non-working local dates, or None to skip nothing.

    A skipped occurrence is simply skipped: a weekly Friday meeting whose
    Friday is Good Friday is next due the Friday after, not moved to the
    Thursday or the Monday. Rules that already pick working days by position
    (``FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1``, the last weekday of the
    month) keep their meaning and additionally pass over a holiday: when the
    last weekday is a holiday, that month has no occurrence.
    """
    if not engagement.skip_non_working_days:
        return None
    calendar = working_day_calendar(country=engagement.country)
    return lambda d: not calendar.is_working_day(d)


def engagement_skip_words(engagement: Any) -> str:
    """The words that follow a cadence of the engagement: "" when it skips nothing."""
    if not engagement.skip_non_working_days:
        return ""
    if working_day_calendar(country=engagement.country).has_public_holidays:
        return ", skipping weekends and public holidays"
    return ", skipping weekends"
