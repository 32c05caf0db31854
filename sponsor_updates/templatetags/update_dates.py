"""Dates in a sponsor update, in English as the update is written: "Mon 7 Dec 2026", "Mon 7 Dec 2026 08:00".

Django's ``date`` filter looks up translated day and month names on each
call; an update shows a dozen dates and a sweep renders thousands of
updates, and those lookups were a sixth of a sweep's time. These filters
format with the standard library instead. A moment is shown in the current
time zone, which the renderer sets to the recipient's.
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone

from pmaas.timezones import time_zone_place

register = template.Library()


@register.filter(name="update_date")
def update_date(value: date | None) -> str:
    """ "7 Dec 2026"."""
    return "" if value is None else f"{value.day} {value:%b %Y}"


@register.filter(name="update_day")
def update_day(value: date | None) -> str:
    """ "Mon 7 Dec 2026"."""
    return "" if value is None else f"{value:%a} {value.day} {value:%b %Y}"


@register.filter(name="update_moment")
def update_moment(value: datetime | None) -> str:
    """ "Mon 7 Dec 2026 08:00", in the current time zone."""
    if value is None:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


@register.filter(name="update_place_time")
def update_place_time(value: str) -> str:
    """ "Berlin time", for the recipient's zone "Europe/Berlin": where a meeting's time is read."""
    return f"{time_zone_place(value)} time" if value else ""
