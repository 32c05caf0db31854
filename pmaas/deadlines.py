"""When something is due, in words: a day for a deadline agreed as a day, else a day and a time.

An item agreed "for Thursday" is due at the end of Thursday where it was
agreed: 23:59 in that time zone (``END_OF_DAY``), stored as one moment in
UTC. Shown as a clock time in a reader's own zone, that moment says "Fri 4
Dec, 07:59" in Tokyo and "Thu 3 Dec, 17:59" in New York, a time nobody
agreed to. So the one rule every page, mail and notification follows:

- a moment that is the end of a day in the zone where it was agreed reads as
  that day, "Thu 3 Dec 2026", for every reader; a reader whose own day ends
  at another moment is told whose day it is: "Thu 3 Dec 2026, end of day in
  Berlin";
- any other moment (a time agreed as a time, or a deadline with no zone to
  say which day it was meant as) reads as a day and a time in the reader's
  zone: "Thu 3 Dec 2026, 17:00".

``{{ moment|deadline:zone_name }}`` is a template builtin (settings.TEMPLATES),
formatted with the standard library as sponsor updates' dates are (Django's
``date`` filter looks up translations on every call).
"""

from __future__ import annotations

from datetime import date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone

from pmaas.timezones import available_time_zones, time_zone_place

register = template.Library()

# The last minute of a day: what a deadline agreed as a day is due at, where it was agreed.
END_OF_DAY = time(23, 59)


def _zone(name: str) -> ZoneInfo | None:
    return ZoneInfo(name) if name in available_time_zones() else None


def end_of_day(day: date, zone_name: str) -> datetime:
    """The moment a deadline agreed as ``day`` in ``zone_name`` falls due: END_OF_DAY there."""
    return timezone.make_aware(datetime.combine(day, END_OF_DAY), ZoneInfo(zone_name))


def _is_end_of_day(local: datetime) -> bool:
    return (local.hour, local.minute) == (END_OF_DAY.hour, END_OF_DAY.minute)


def deadline_day(moment: datetime, zone_name: str) -> date | None:
    """The day ``moment`` ends in the zone named ``zone_name``; None when it is not the end of a day there."""
    zone = _zone(zone_name) if zone_name else None
    if zone is None:
        return None
    there = moment.astimezone(zone)
    return there.date() if _is_end_of_day(there) else None


def _day_words(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}"


def deadline_in_words(moment: datetime, *, agreed_in: str = "", zone: tzinfo | None = None) -> str:
    """``moment`` as a deadline reads to someone in ``zone`` (the active zone when None); the rule is above.

    ``agreed_in`` names the time zone where the deadline was agreed as a day;
    empty for one agreed as a time.
    """
    reader_zone = zone or timezone.get_current_timezone()
    here = moment.astimezone(reader_zone)
    day = deadline_day(moment, agreed_in)
    if day is None:
        return f"{_day_words(here.date())}, {here:%H:%M}"
    if _is_end_of_day(here):
        return _day_words(day)
    return f"{_day_words(day)}, end of day in {time_zone_place(agreed_in)}"


@register.filter(name="deadline")
def deadline(value: datetime | None, agreed_in: str = "") -> str:
    """``{{ follow_up.due_at|deadline:follow_up.due_zone }}``: deadline_in_words in the active zone."""
    if value is None:
        return ""
    return deadline_in_words(value, agreed_in=agreed_in or "")
