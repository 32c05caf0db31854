"""Cadences of planned communication: RFC 5545 recurrence rules in local time.

A rule is kept as its RRULE value (``FREQ=WEEKLY;INTERVAL=2;BYDAY=TU``) and
expanded in local wall-clock time, then placed in the stakeholder's zone, so a
09:00 meeting stays at 09:00 local when the clocks change.
"""

from __future__ import annotations

import datetime as datetime_module
import functools
import re
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from types import FunctionType, SimpleNamespace
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from django.core.exceptions import ValidationError

from pmaas.validation import DATE_RANGE_MESSAGE, EARLIEST_DATE, LATEST_DATE

# No cadence comes round more often than daily: the time of day is the
# channel's own, so a rule can name days, never hours.
ALLOWED_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# The parts of RFC 5545 a cadence is written with. BYYEARDAY, BYWEEKNO and
# BYEASTER describe no meeting anyone plans, and the time-of-day parts would
# override the channel's local time (and BYHOUR would let an hourly cadence past the FREQ check).
_ALLOWED_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST")
_TIME_OF_DAY_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
# A cadence comes round at least once in this long: a rule must fall within it
# of its start, and a search for the next or previous date looks no further.
CADENCE_HORIZON = timedelta(days=2 * 366)
# The longest INTERVAL of each frequency that still repeats within the horizon.
_LONGEST_INTERVAL = {"DAILY": 731, "WEEKLY": 104, "MONTHLY": 24, "YEARLY": 2}
# A weekly meeting for twenty years is about a thousand occurrences; far more is a typo.
LONGEST_COUNT = 10_000
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BYDAY_ITEM = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
# RFC 5545 writes UNTIL in UTC when the start has a zone, as calendar exports do.
_UTC_UNTIL = re.compile(r"(UNTIL=)(\d{8}T\d{6})Z", re.IGNORECASE)
_UNTIL_VALUE = re.compile(r"^(\d{4})(\d{2})(\d{2})(T\d{6}Z?)?$")
# Enough to step past any local times skipped or repeated by a clock change.
_SEARCH_SLACK = timedelta(days=2)
# A rule whose every occurrence is skipped (every Saturday, with weekends skipped) would
# search forever; more than a year of daily occurrences in a row is no schedule anyone keeps.
MAX_SKIPPED_OCCURRENCES = 400


def _whole_numbers(name: str, value: str, *, low: int, high: int, signed: bool = False) -> None:
    """Each comma-separated item of ``value`` a whole number within low–high (or its negative, if signed)."""
    for item in value.split(","):
        digits = item[1:] if signed and item[:1] in "+-" else item
        if not (digits.isdigit() and low <= int(digits) <= high):
            allowed = f"{low} to {high}" + (f" or -{high} to -{low}" if signed else "")
            raise ValidationError(
                "%(part)s takes whole numbers from %(allowed)s, not %(value)s.",
                code="invalid_rule",
                params={"part": name, "allowed": allowed, "value": value or "nothing"},
            )


def _check_parts(parts: dict[str, str], frequency: str) -> None:
    """Every part one the product uses, with a value it can have (RFC 5545, section 3.3.10)."""
    unknown = [name for name in parts if name not in _ALLOWED_PARTS]
    if unknown:
        raise ValidationError(
            "A cadence is written with FREQ, INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH, "
            "BYSETPOS and WKST; %(parts)s is not supported.",
            code="invalid_rule",
            params={"parts": ", ".join(unknown)},
        )
    # dateutil loops forever on INTERVAL=0.
    if "INTERVAL" in parts:
        longest = _LONGEST_INTERVAL[frequency]
        if not (parts["INTERVAL"].isdigit() and 1 <= int(parts["INTERVAL"]) <= longest):
            raise ValidationError(
                "INTERVAL must be a whole number from 1 to %(longest)s for a %(frequency)s cadence.",
                code="invalid_interval",
                params={"longest": longest, "frequency": frequency.lower()},
            )
    if "COUNT" in parts:
        _whole_numbers("COUNT", parts["COUNT"], low=1, high=LONGEST_COUNT)
        if "," in parts["COUNT"]:
            raise ValidationError("COUNT takes one number.", code="invalid_rule")
    if "BYMONTH" in parts:
        _whole_numbers("BYMONTH", parts["BYMONTH"], low=1, high=12)
    if "BYMONTHDAY" in parts:
        _whole_numbers("BYMONTHDAY", parts["BYMONTHDAY"], low=1, high=31, signed=True)
    if "BYSETPOS" in parts:
        _whole_numbers("BYSETPOS", parts["BYSETPOS"], low=1, high=366, signed=True)
    if "WKST" in parts and parts["WKST"] not in _WEEKDAYS:
        raise ValidationError("WKST names a weekday: MO, TU, WE, TH, FR, SA or SU.", code="invalid_rule")
    if "BYDAY" in parts:
        # An ordinal ("1MO", the first Monday) counts within a month or a year only.
        highest = {"MONTHLY": 5, "YEARLY": 53}.get(frequency, 0)
        for item in parts["BYDAY"].split(","):
            match = _BYDAY_ITEM.match(item)
            ordinal = int(match.group(1)) if match and match.group(1) else None
            if match is None or (ordinal is not None and not 1 <= abs(ordinal) <= highest):
                raise ValidationError(
                    "BYDAY takes weekdays (MO, TU, …)%(ordinals)s, not %(value)s.",
                    code="invalid_rule",
                    params={
                        "ordinals": f", each optionally numbered 1 to {highest} or -1 to -{highest}"
                        if highest
                        else "",
                        "value": parts["BYDAY"] or "nothing",
                    },
                )
    if "UNTIL" in parts:
        until = _UNTIL_VALUE.match(parts["UNTIL"])
        try:
            until_day = date(*(int(until.group(n)) for n in (1, 2, 3))) if until else None
        except ValueError:
            until_day = None
        if until_day is None:
            raise ValidationError(
                "UNTIL is a date such as 20271231 or 20271231T170000Z.", code="invalid_rule"
            )
        if not EARLIEST_DATE <= until_day <= LATEST_DATE:
            raise ValidationError(f"UNTIL: {DATE_RANGE_MESSAGE}", code="date_out_of_range")


def parse_rule(
    text: str, *, starts_on: date | None = None, local_time: time | None = None, time_zone: str = "UTC"
) -> rrule:
    """Parse an RRULE value; raise ValidationError naming the problem when the product cannot use it.

    A usable rule parses, uses only the parts and values a cadence is written
    with, repeats no more often than daily, starts (and ends, with UNTIL)
    between EARLIEST_DATE and LATEST_DATE, and falls at least once within
    CADENCE_HORIZON of its start. The rule expands in naive local time, so an
    UNTIL given in UTC is moved into ``time_zone`` first.
    """
    value = ";".join(part for part in text.strip().removeprefix("RRULE:").split(";") if part.strip())
    if not value:
        raise ValidationError("Enter a recurrence rule such as FREQ=WEEKLY;BYDAY=TU.", code="empty_rule")
    if "DTSTART" in value.upper():
        raise ValidationError("Set the start date separately, not inside the rule.", code="dtstart_in_rule")
    pairs = [part.partition("=")[::2] for part in value.upper().split(";")]
    parts = dict(pairs)
    if len(parts) != len(pairs):
        raise ValidationError("Give each part of the rule once.", code="invalid_rule")
    if parts.get("FREQ") not in ALLOWED_FREQUENCIES:
        raise ValidationError(
            "A cadence must repeat DAILY, WEEKLY, MONTHLY or YEARLY (FREQ=…).", code="invalid_frequency"
        )
    if any(part in parts for part in _TIME_OF_DAY_PARTS):
        raise ValidationError("Set the time of day separately, not inside the rule.", code="time_in_rule")
    _check_parts(parts, parts["FREQ"])
    if starts_on is not None and not EARLIEST_DATE <= starts_on <= LATEST_DATE:
        raise ValidationError(f"Start: {DATE_RANGE_MESSAGE}", code="date_out_of_range")
    dtstart = datetime.combine(starts_on or date(2000, 1, 3), local_time or time(9, 0))
    try:
        value = _UTC_UNTIL.sub(lambda match: _until_in_local_time(match, time_zone), value)
        parsed = rrulestr(f"RRULE:{value}", dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ValidationError(
            "This recurrence rule does not parse: %(error)s", code="invalid_rule", params={"error": exc}
        ) from exc
    if not isinstance(parsed, rrule):
        raise ValidationError("Give a single recurrence rule.", code="invalid_rule")
    horizon = dtstart + CADENCE_HORIZON
    first = next(_expand(parsed, last_year=horizon.year), None)
    if first is None or first > horizon:
        raise ValidationError(
            "This rule never falls in the two years after its start; "
            "check that its days exist (there is no 30 February) and that UNTIL comes after the start.",
            code="never_occurs",
        )
    return parsed


def _until_in_local_time(match: re.Match[str], time_zone: str) -> str:
    until = datetime.strptime(match.group(2), "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return f"{match.group(1)}{until.astimezone(ZoneInfo(time_zone)):%Y%m%dT%H%M%S}"


# dateutil ends a rule only at an occurrence past UNTIL or COUNT, or after the
# year datetime.MAXYEAR: a rule whose days never come (30 February, daily)
# walks day by day to the year 9999, fifteen seconds for each search. Its
# iterator, run with MAXYEAR lowered to the last year wanted, stops there.
_RRULE_ITER = rrule._iter  # type: ignore[attr-defined]


def _expand(recurrence: rrule, *, last_year: int) -> Iterator[datetime]:
    """The rule's occurrences in order, none after the year ``last_year``, however rare its days."""
    calendar = SimpleNamespace(**vars(datetime_module))
    calendar.MAXYEAR = min(last_year, datetime_module.MAXYEAR)
    bounded = FunctionType(
        _RRULE_ITER.__code__,
        {**_RRULE_ITER.__globals__, "datetime": calendar},
        _RRULE_ITER.__name__,
        _RRULE_ITER.__defaults__,
        _RRULE_ITER.__closure__,
    )
    iterator: Iterator[datetime] = bounded(recurrence)
    return iterator


def local_occurrences(recurrence: rrule, *, until: datetime) -> Iterator[datetime]:
    """A parsed rule's occurrences in local wall-clock time, from its start to ``until`` (naive, local)."""
    for candidate in _expand(recurrence, last_year=until.year):
        if candidate > until:
            return
        yield candidate


# The tracker plans nothing outside these moments; a search from beyond them finds nothing.
_FIRST_MOMENT = datetime.combine(EARLIEST_DATE, time.min, tzinfo=UTC)
_LAST_MOMENT = datetime.combine(LATEST_DATE, time.max, tzinfo=UTC)


def _usable(rule: str, starts_on: date, local_time: time, time_zone: str) -> rrule | None:
    try:
        return parse_rule(rule, starts_on=starts_on, local_time=local_time, time_zone=time_zone)
    except ValidationError:
        return None


def next_occurrence(
    *,
    rule: str,
    starts_on: date,
    local_time: time,
    time_zone: str,
    after: datetime,
    skip: Callable[[date], bool] | None = None,
) -> datetime | None:
    """The first occurrence strictly after ``after``, in UTC, or None when there is none to name.

    Non-existent local times (inside a spring-forward gap) resolve forward by
    the size of the gap; repeated ones (autumn) take their first instance.
    Occurrences whose local date ``skip`` refuses are passed over, not moved to
    another day. None when the rule has ended, has no kept occurrence among the
    next ``MAX_SKIPPED_OCCURRENCES`` or within CADENCE_HORIZON, when ``after``
    lies past LATEST_DATE, or when the rule is not usable (``parse_rule``
    refuses it: a row written before today's checks is never expanded).
    """
    recurrence = _usable(rule, starts_on, local_time, time_zone)
    if recurrence is None or after > _LAST_MOMENT:
        return None
    zone = ZoneInfo(time_zone)
    local_after = max(after, _FIRST_MOMENT).astimezone(zone).replace(tzinfo=None) - _SEARCH_SLACK
    horizon = local_after + _SEARCH_SLACK + CADENCE_HORIZON
    skipped = 0
    for candidate in _expand(recurrence, last_year=horizon.year):
        if candidate > horizon:
            return None
        if candidate < local_after:
            continue
        placed = candidate.replace(tzinfo=zone).astimezone(UTC)
        if placed > after:
            if skip is None or not skip(candidate.date()):
                return placed
            skipped += 1
            if skipped >= MAX_SKIPPED_OCCURRENCES:
                return None
    return None


def previous_occurrence(
    *,
    rule: str,
    starts_on: date,
    local_time: time,
    time_zone: str,
    before: datetime,
    skip: Callable[[date], bool] | None = None,
) -> datetime | None:
    """The last occurrence strictly before ``before``, in UTC, or None when there is none to name.

    Occurrences whose local date ``skip`` refuses are passed over, with the
    same bounds as ``next_occurrence``; a ``before`` past LATEST_DATE searches
    from the end of LATEST_DATE.
    """
    recurrence = _usable(rule, starts_on, local_time, time_zone)
    if recurrence is None or before < _FIRST_MOMENT:
        return None
    zone = ZoneInfo(time_zone)
    before = min(before, _LAST_MOMENT)
    local_before = before.astimezone(zone).replace(tzinfo=None) + _SEARCH_SLACK
    earliest = local_before - _SEARCH_SLACK - CADENCE_HORIZON
    # The walk starts at the rule's start; only the latest candidates can be the answer.
    recent: deque[datetime] = deque(maxlen=MAX_SKIPPED_OCCURRENCES + 8)
    for candidate in _expand(recurrence, last_year=local_before.year):
        if candidate > local_before:
            break
        if candidate >= earliest:
            recent.append(candidate)
    skipped = 0
    for candidate in reversed(recent):
        placed = candidate.replace(tzinfo=zone).astimezone(UTC)
        if placed < before:
            if skip is None or not skip(candidate.date()):
                return placed
            skipped += 1
            if skipped >= MAX_SKIPPED_OCCURRENCES:
                return None
    return None


# A year of a rule shows every gap it has: months of 28 to 31 days, a fifth
# weekday, a yearly review; the cap bounds a daily rule's walk.
_GAP_SAMPLE = timedelta(days=366)
_GAP_SAMPLE_LIMIT = 400


def shortest_gap(*, rule: str, starts_on: date, local_time: time) -> timedelta | None:
    """The shortest time between two consecutive occurrences of a rule, in local wall-clock time.

    Measured over the rule's first year (and a little more, so a yearly rule
    has two occurrences): daily gives 1 day, Monday and Thursday 3 days,
    weekly 7. Wall-clock time, so a clock change does not make a day 23
    hours. Skipped non-working days only lengthen gaps, so they are not
    counted. None for a rule with fewer than two occurrences or one that
    does not parse.
    """
    parsed = _usable(rule, starts_on, local_time, "UTC")
    if parsed is None:
        return None
    start = datetime.combine(starts_on, local_time)
    occurrences: list[datetime] = []
    for occurrence in local_occurrences(parsed, until=start + CADENCE_HORIZON + _GAP_SAMPLE):
        occurrences.append(occurrence)
        if len(occurrences) >= _GAP_SAMPLE_LIMIT or (
            occurrence - start > _GAP_SAMPLE and len(occurrences) >= 2
        ):
            break
    gaps = [later - earlier for earlier, later in zip(occurrences, occurrences[1:], strict=False)]
    return min(gaps) if gaps else None


_WEEKDAY_NAMES = {
    "MO": "Monday",
    "TU": "Tuesday",
    "WE": "Wednesday",
    "TH": "Thursday",
    "FR": "Friday",
    "SA": "Saturday",
    "SU": "Sunday",
}
_WORKING_DAYS = ("MO", "TU", "WE", "TH", "FR")
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second-to-last"}
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_UNITS = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
# Daily and weekly rules name plain weekdays at most; anything more is described by its text.
_SIMPLE_PARTS = {"FREQ", "INTERVAL", "BYDAY", "COUNT", "UNTIL", "WKST"}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")


# A pure function of its arguments, asked for every row of a plan or a list of channels, where
# most rows share a handful of cadences: parsing each again was nearly half the time spent
# serialising a page of channels.
@functools.lru_cache(maxsize=4096)
def describe_rule(rule: str, *, local_time: time, time_zone: str, starts_on: date | None = None) -> str:
    """The cadence in words: "every other Tuesday at 09:00 Europe/Berlin".

    The wording names the zone, never an offset or abbreviation, so it reads
    the same in summer and winter. Rules outside the product's vocabulary fall
    back to their RRULE text, so nothing is ever described wrongly. Raises
    ValidationError when the rule does not parse.
    """
    parsed = parse_rule(rule, starts_on=starts_on, local_time=local_time, time_zone=time_zone)
    value = ";".join(part for part in rule.strip().removeprefix("RRULE:").split(";") if part.strip())
    parts = dict(part.partition("=")[::2] for part in value.upper().split(";"))
    words = _describe_repetition(parts, starts_on=starts_on)
    if words is None:
        words = f"repeating as {value}"
    text = f"{words} at {local_time:%H:%M} {time_zone}"
    if "COUNT" in parts:
        count = int(parts["COUNT"])
        text += ", once" if count == 1 else f", {count} times"
    # dateutil keeps the parsed UNTIL (already moved into local time) only here.
    until: datetime | None = getattr(parsed, "_until", None)
    if until is not None:
        text += f", until {until.day} {_MONTH_NAMES[until.month - 1]} {until.year}"
    return text


def _every(interval: int, unit: str) -> str:
    if interval == 1:
        return f"every {unit}"
    if interval == 2:
        return f"every other {unit}"
    return f"every {interval} {unit}s"


def _day_list(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _ordinal_day(number: int) -> str:
    if number == -1:
        return "last day"
    if number < 0:
        return f"{_ordinal_suffix(-number)} day from the end"
    return _ordinal_suffix(number)


def _ordinal_suffix(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _describe_repetition(parts: dict[str, str], *, starts_on: date | None) -> str | None:
    frequency = parts["FREQ"]
    interval = int(parts.get("INTERVAL", "1"))
    known = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH", "COUNT", "UNTIL", "WKST"}
    if set(parts) - known:
        return None
    days = [_BYDAY.match(day) for day in parts["BYDAY"].split(",")] if "BYDAY" in parts else []
    if any(match is None for match in days):
        return None
    by_day = [(int(m.group(1)) if m.group(1) else None, m.group(2)) for m in days if m is not None]
    plain_days = [code for ordinal, code in by_day if ordinal is None]
    if frequency == "DAILY":
        if parts.keys() - _SIMPLE_PARTS or len(plain_days) != len(by_day):
            return None
        if not by_day:
            return _every(interval, "day")
        if tuple(plain_days) == _WORKING_DAYS and interval == 1:
            return "every weekday"
        return None
    if frequency == "WEEKLY":
        if parts.keys() - _SIMPLE_PARTS or len(plain_days) != len(by_day):
            return None
        if not plain_days and starts_on is not None:
            plain_days = [list(_WEEKDAY_NAMES)[starts_on.weekday()]]
        if not plain_days:
            return _every(interval, "week")
        if sorted(plain_days, key=list(_WEEKDAY_NAMES).index) == list(_WORKING_DAYS):
            return "every weekday" if interval == 1 else f"{_every(interval, 'week')} on weekdays"
        names = [_WEEKDAY_NAMES[code] for code in sorted(plain_days, key=list(_WEEKDAY_NAMES).index)]
        if interval <= 2:
            return f"{'every' if interval == 1 else 'every other'} {_day_list(names)}"
        return f"{_every(interval, 'week')} on {_day_list(names)}"
    if frequency == "MONTHLY":
        if "BYMONTH" in parts:
            return None
        on = _monthly_position(parts, by_day, plain_days, starts_on=starts_on)
        if on is None:
            return None
        if interval == 1:
            return f"on the {on} of the month" if on.endswith("working day") else f"monthly on the {on}"
        return f"{_every(interval, 'month')} on the {on}"
    if frequency == "YEARLY":
        months = parts.get("BYMONTH", "")
        if by_day or "BYSETPOS" in parts:
            return None
        if months and "BYMONTHDAY" in parts and "," not in months + parts["BYMONTHDAY"]:
            month, day = int(months), int(parts["BYMONTHDAY"])
        elif not months and "BYMONTHDAY" not in parts and starts_on is not None:
            month, day = starts_on.month, starts_on.day
        elif not months and "BYMONTHDAY" not in parts:
            return _every(interval, "year")
        else:
            return None
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        return f"{_every(interval, 'year')} on {day} {_MONTH_NAMES[month - 1]}"
    return None


def _monthly_position(
    parts: dict[str, str],
    by_day: list[tuple[int | None, str]],
    plain_days: list[str],
    *,
    starts_on: date | None,
) -> str | None:
    if "BYMONTHDAY" in parts:
        if by_day or "BYSETPOS" in parts:
            return None
        numbers = [int(number) for number in parts["BYMONTHDAY"].split(",")]
        return _day_list([_ordinal_day(number) for number in numbers])
    if "BYSETPOS" in parts:
        if len(plain_days) != len(by_day) or not plain_days or "," in parts["BYSETPOS"]:
            return None
        position = int(parts["BYSETPOS"])
        if position not in _ORDINALS:
            return None
        ordered = sorted(plain_days, key=list(_WEEKDAY_NAMES).index)
        if ordered == list(_WORKING_DAYS):
            return f"{_ORDINALS[position]} working day"
        if len(ordered) == 1:
            return f"{_ORDINALS[position]} {_WEEKDAY_NAMES[ordered[0]]}"
        return None
    if by_day:
        ordinal, code = by_day[0]
        if len(by_day) != 1 or ordinal is None or ordinal not in _ORDINALS:
            return None
        return f"{_ORDINALS[ordinal]} {_WEEKDAY_NAMES[code]}"
    if starts_on is not None:
        return _ordinal_day(starts_on.day)
    return None
