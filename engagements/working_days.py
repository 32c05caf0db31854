"""Working days: weekends and the public holidays of an engagement's country and region do not count.

Holidays come from the ``holidays`` package (pinned: its data changes between
releases). An engagement names a country and, optionally, a holiday region
(``holiday_subdivision``: a ``holidays`` subdivision code such as GB "ENG",
German Land "BY", US state "CA"); blank means its client's region when the
client is in the same country, else national holidays only. Without a region
England loses Easter Monday and the August bank holiday, which the UK calendar
keeps for England and Wales only. A holiday observed on another day (US
Independence Day on a Saturday is observed on the Friday) takes the observed
day off.

The time-zone rule, for every "N working days after" of an engagement (an
obligation's fallback deadline, a silent sponsor's follow-up, the escalation
ladder, a reminder's lead): days are counted on the engagement's calendar,
which is the local dates of its client's time zone (``Client.time_zone``)
with the public holidays of the engagement's country and region
(``engagement_calendar``). A deadline is the end of the Nth such working day
(``end_of_working_day``, at ``settings.WORKING_DAY_END`` local time), never a
wall-clock time carried over from when the count began. A channel of an
engagement that skips non-working days passes over occurrences that fall on
one of them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core.exceptions import ValidationError

# Saturday and Sunday, as date.weekday() numbers them.
_WEEKEND = frozenset({5, 6})

# The holiday region a new client gets when none is given, per country. Only
# where one region is the clear common case: England for a UK firm's clients.
# Countries whose regions differ widely (DE, US, AU) have none here: blank
# means national holidays only until someone names the region.
DEFAULT_HOLIDAY_SUBDIVISIONS: dict[str, str] = {"GB": "ENG"}


class WorkingDays:
    """The working days of one country or region: Monday to Friday, less its public holidays.

    Holiday years are filled in on first use, so one calendar serves any date.
    """

    def __init__(
        self, *, country: str, subdivision: str = "", holiday_calendar: holidays.HolidayBase | None
    ) -> None:
        self.country = country
        self.subdivision = subdivision
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

    def public_holidays(self, start: date, end: date) -> list[tuple[date, str]]:
        """The public holidays (and observed days) in ``[start, end)``, by date, with their names."""
        if self._holidays is None:
            return []
        if end <= start:
            return []
        with self._lock:
            days = self._holidays[start : end - timedelta(days=1)]  # type: ignore[index,misc]
            return sorted((day, self._holidays.get(day, "")) for day in days)

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


def holiday_subdivisions(country: str) -> tuple[str, ...]:
    """The holiday regions (``holidays`` subdivision codes) of a country; empty for none or an unknown one."""
    code = country.strip().upper()
    if not code:
        return ()
    try:
        return tuple(holidays.country_holidays(code).subdivisions)
    except NotImplementedError:
        return ()


def holiday_region_choices(country: str) -> list[tuple[str, str]]:
    """(code, label) for each holiday region of a country, labelled with its name where known."""
    regions = holiday_subdivisions(country)
    if not regions:
        return []
    names: dict[str, str] = {}
    for name, code in getattr(
        holidays.country_holidays(country.strip().upper()), "subdivisions_aliases", {}
    ).items():
        names.setdefault(code, name)
    return [(code, f"{names[code]} ({code})" if code in names else code) for code in regions]


def holiday_subdivision_problem(*, country: str, subdivision: str) -> str | None:
    """Why ``subdivision`` cannot be a holiday region of ``country``; None when it can (or is blank)."""
    if not subdivision:
        return None
    regions = holiday_subdivisions(country)
    if subdivision in regions:
        return None
    if not country:
        return "Set the country first: a holiday region belongs to a country."
    if not regions:
        return f"{country} has no holiday regions; leave this blank."
    return f"Not a region of {country}; use one of {', '.join(regions)}."


def validate_holiday_subdivision(
    *, country: str, subdivision: str, field: str = "holiday_subdivision"
) -> None:
    """Raise a field error naming the valid codes when ``subdivision`` is not a region of ``country``."""
    problem = holiday_subdivision_problem(country=country, subdivision=subdivision)
    if problem is not None:
        raise ValidationError({field: problem})


def default_holiday_subdivision(country: str) -> str:
    """The region a client of ``country`` gets when none is given (``DEFAULT_HOLIDAY_SUBDIVISIONS``)."""
    return DEFAULT_HOLIDAY_SUBDIVISIONS.get(country.strip().upper(), "")


def working_day_calendar(*, country: str, subdivision: str = "") -> WorkingDays:
    """The working-day calendar of a two-letter ISO country code and holiday region, shared per pair.

    An empty or unknown code (one the holidays package does not know) gives a
    calendar of weekends only rather than an error, so a badly set country never
    stops a schedule; ``has_public_holidays`` tells the two apart. A region the
    country does not have counts as none: national holidays only.
    """
    return _calendar(country.strip().upper(), subdivision.strip())


@cache
def _calendar(code: str, subdivision: str) -> WorkingDays:
    if not code:
        return WorkingDays(country="", holiday_calendar=None)
    try:
        holiday_calendar = holidays.country_holidays(code)
    except NotImplementedError:
        return WorkingDays(country=code, holiday_calendar=None)
    if subdivision not in holiday_calendar.subdivisions:
        return WorkingDays(country=code, holiday_calendar=holiday_calendar)
    return WorkingDays(
        country=code,
        subdivision=subdivision,
        holiday_calendar=holidays.country_holidays(code, subdiv=subdivision),
    )


class EngagementCalendar(NamedTuple):
    """Where an engagement's working days are counted: its client's zone, its country and region."""

    time_zone: str
    country: str
    subdivision: str

    @property
    def working_days(self) -> WorkingDays:
        return working_day_calendar(country=self.country, subdivision=self.subdivision)


def effective_holiday_subdivision(
    *, country: str, subdivision: str, client_country: str, client_subdivision: str
) -> str:
    """An engagement's own region, else its client's when they share the country, else none."""
    if subdivision:
        return subdivision
    return client_subdivision if client_country == country else ""


def engagement_calendar(engagement: Any) -> EngagementCalendar:
    """The engagement's calendar under the time-zone rule above; needs ``engagement.client`` loaded."""
    client = engagement.client
    return EngagementCalendar(
        time_zone=client.time_zone,
        country=engagement.country,
        subdivision=effective_holiday_subdivision(
            country=engagement.country,
            subdivision=engagement.holiday_subdivision,
            client_country=client.country,
            client_subdivision=client.holiday_subdivision,
        ),
    )


def working_days_after(moment: datetime, days: int, *, calendar: EngagementCalendar) -> datetime:
    """The moment ``days`` working days after ``moment``, at the same local time of day, in UTC.

    Counted under the time-zone rule (module docstring): ``moment`` is read as
    a local date and time in ``calendar.time_zone``; the date moves on by
    ``days`` working days (``WorkingDays.add_working_days``: the starting date
    never counts, weekends and public holidays do not count), and the result
    is the same wall-clock time on the new date. So 10:00 on the Friday before
    a daylight-saving change is 10:00 on the Monday after, one hour less in
    UTC. A wall-clock time the change skips (02:30 on the night clocks go
    forward) moves on by the gap; one it repeats is the first of the two.
    ``days == 0`` returns ``moment`` itself (in UTC), a negative ``days``
    counts backwards. For a deadline use ``end_of_working_day``.
    """
    if days == 0:
        return moment.astimezone(UTC)
    zone = ZoneInfo(calendar.time_zone)
    local = moment.astimezone(zone)
    day = calendar.working_days.add_working_days(local.date(), days)
    return datetime.combine(day, local.time(), tzinfo=zone).astimezone(UTC)


def end_of_working_day(moment: datetime, days: int, *, calendar: EngagementCalendar) -> datetime:
    """The end of the working day ``days`` working days after ``moment``'s local date, in UTC.

    The deadline form of the time-zone rule (module docstring): ``moment`` is
    read as a local date in ``calendar.time_zone``, the date moves on by
    ``days`` working days (the starting date never counts, so a moment on a
    Saturday plus one is the Monday), and the result is
    ``settings.WORKING_DAY_END`` local time on that date, whatever the time of
    day of ``moment`` and whatever daylight-saving change lies between. So a
    follow-up due Thursday 17:00 in New York plus two working days ends Monday
    17:00 New York time, and a Sydney one ends at 17:00 Sydney time, not at an
    hour carried over from UTC midnight. ``days == 0`` is the end of
    ``moment``'s own local date.
    """
    zone = ZoneInfo(calendar.time_zone)
    day = calendar.working_days.add_working_days(moment.astimezone(zone).date(), days)
    return datetime.combine(day, settings.WORKING_DAY_END, tzinfo=zone).astimezone(UTC)


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
    calendar = engagement_calendar(engagement).working_days
    return lambda d: not calendar.is_working_day(d)


def engagement_skip_words(engagement: Any) -> str:
    """The words that follow a cadence of the engagement: "" when it skips nothing."""
    if not engagement.skip_non_working_days:
        return ""
    if engagement_calendar(engagement).working_days.has_public_holidays:
        return ", skipping weekends and public holidays"
    return ", skipping weekends"
