"""Cadences of planned communication: RFC 5545 recurrence rules in local time.

A rule is kept as its RRULE value (``FREQ=WEEKLY;INTERVAL=2;BYDAY=TU``) and
expanded in local wall-clock time, then placed in the stakeholder's zone, so a
09:00 meeting stays at 09:00 local when the clocks change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from django.core.exceptions import ValidationError

ALLOWED_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# The time of day is the channel's local time; a rule setting its own would
# override it (and BYHOUR would let an hourly cadence past the FREQ check).
_TIME_OF_DAY_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
# RFC 5545 writes UNTIL in UTC when the start has a zone, as calendar exports do.
_UTC_UNTIL = re.compile(r"(UNTIL=)(\d{8}T\d{6})Z", re.IGNORECASE)
# Enough to step past any local times skipped or repeated by a clock change.
_SEARCH_SLACK = timedelta(days=2)


def parse_rule(
    text: str, *, starts_on: date | None = None, local_time: time | None = None, time_zone: str = "UTC"
) -> rrule:
    """Parse an RRULE value; raise ValidationError naming the problem when it does not parse.

    The rule expands in naive local time, so an UNTIL given in UTC is moved
    into ``time_zone`` first.
    """
    value = ";".join(part for part in text.strip().removeprefix("RRULE:").split(";") if part.strip())
    if not value:
        raise ValidationError("Enter a recurrence rule such as FREQ=WEEKLY;BYDAY=TU.", code="empty_rule")
    if "DTSTART" in value.upper():
        raise ValidationError("Set the start date separately, not inside the rule.", code="dtstart_in_rule")
    parts = dict(part.partition("=")[::2] for part in value.upper().split(";"))
    if parts.get("FREQ") not in ALLOWED_FREQUENCIES:
        raise ValidationError(
            "A cadence must repeat DAILY, WEEKLY, MONTHLY or YEARLY (FREQ=…).", code="invalid_frequency"
        )
    if any(part in parts for part in _TIME_OF_DAY_PARTS):
        raise ValidationError("Set the time of day separately, not inside the rule.", code="time_in_rule")
    # dateutil loops forever on INTERVAL=0.
    if "INTERVAL" in parts and not (parts["INTERVAL"].isdigit() and int(parts["INTERVAL"]) >= 1):
        raise ValidationError("INTERVAL must be a whole number of at least 1.", code="invalid_interval")
    dtstart = datetime.combine(starts_on or date(2000, 1, 3), local_time or time(9, 0))
    try:
        value = _UTC_UNTIL.sub(lambda match: _until_in_local_time(match, time_zone), value)
        parsed = rrulestr(f"RRULE:{value}", dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValidationError(
            "This recurrence rule does not parse: %(error)s", code="invalid_rule", params={"error": exc}
        ) from exc
    if not isinstance(parsed, rrule):
        raise ValidationError("Give a single recurrence rule.", code="invalid_rule")
    return parsed


def _until_in_local_time(match: re.Match[str], time_zone: str) -> str:
    until = datetime.strptime(match.group(2), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return f"{match.group(1)}{until.astimezone(ZoneInfo(time_zone)):%Y%m%dT%H%M%S}"


def next_occurrence(
    *, rule: str, starts_on: date, local_time: time, time_zone: str, after: datetime
) -> datetime | None:
    """The first occurrence strictly after ``after``, in UTC, or None when the rule has ended.

    Non-existent local times (inside a spring-forward gap) resolve forward by
    the size of the gap; repeated ones (autumn) take their first instance.
    """
    zone = ZoneInfo(time_zone)
    recurrence = parse_rule(rule, starts_on=starts_on, local_time=local_time, time_zone=time_zone)
    local_after = after.astimezone(zone).replace(tzinfo=None) - _SEARCH_SLACK
    candidate = recurrence.after(local_after, inc=True)
    while candidate is not None:
        placed = candidate.replace(tzinfo=zone).astimezone(UTC)
        if placed > after:
            return placed
        candidate = recurrence.after(candidate, inc=False)
    return None


def previous_occurrence(
    *, rule: str, starts_on: date, local_time: time, time_zone: str, before: datetime
) -> datetime | None:
    """The last occurrence strictly before ``before``, in UTC, or None when there is none."""
    zone = ZoneInfo(time_zone)
    recurrence = parse_rule(rule, starts_on=starts_on, local_time=local_time, time_zone=time_zone)
    local_before = before.astimezone(zone).replace(tzinfo=None) + _SEARCH_SLACK
    candidate = recurrence.before(local_before, inc=True)
    while candidate is not None:
        placed = candidate.replace(tzinfo=zone).astimezone(UTC)
        if placed < before:
            return placed
        candidate = recurrence.before(candidate, inc=False)
    return None
