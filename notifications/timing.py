"""When a user may be mailed and reminded: quiet hours, free weekends, reminder leads, digest slots.

Every time here is computed in the recipient's own time zone and returned in
UTC. Quiet hours and weekends hold back email only: a reminder is moved
earlier so it still arrives before the check-in, anything else waits until
they end. In-app notifications always arrive at once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol, cast
from zoneinfo import ZoneInfo

from notifications.models import NotificationPreference


class WorkingDays(Protocol):
    """A calendar of working days (weekends and the public holidays of a country and region are not)."""

    def is_working_day(self, day: date, /) -> bool: ...


# A quiet period plus a weekend never needs more steps than this to find an open moment.
_SEARCH_STEPS = 16
# Reminders held back by quiet hours go out this long before the quiet period starts.
_BEFORE_QUIET = timedelta(minutes=1)
_LEAD_HOURS: dict[str, int] = {
    NotificationPreference.ReminderLead.ONE_HOUR: 1,
    NotificationPreference.ReminderLead.FOUR_HOURS: 4,
}
_LEAD_WORKING_DAYS: dict[str, int] = {
    NotificationPreference.ReminderLead.ONE_WORKING_DAY: 1,
    NotificationPreference.ReminderLead.TWO_WORKING_DAYS: 2,
}
# The longest lead a user can choose, in calendar days: two working days over
# a weekend and a two-day holiday. The dispatcher creates occurrences at least
# this far ahead so every reminder has a row to hang on.
LONGEST_REMINDER_LEAD = timedelta(days=6)


def _local(d: date, t: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(d, t, tzinfo=zone)


def _in_quiet_hours(preference: NotificationPreference, t: time) -> bool:
    start, end = preference.quiet_hours_start, preference.quiet_hours_end
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= t < end
    return t >= start or t < end


def email_is_held(*, preference: NotificationPreference, zone: ZoneInfo, at: datetime) -> bool:
    """Whether email to this user is held back at ``at``: quiet hours, or a weekend they keep free."""
    local = at.astimezone(zone)
    if local.weekday() >= 5 and not preference.email_on_weekends:
        return True
    return _in_quiet_hours(preference, local.time())


def email_allowed_from(*, preference: NotificationPreference, zone: ZoneInfo, at: datetime) -> datetime:
    """The first moment at or after ``at`` when email may reach the user (UTC)."""
    moment = at
    for _ in range(_SEARCH_STEPS):
        if not email_is_held(preference=preference, zone=zone, at=moment):
            return moment.astimezone(UTC)
        local = moment.astimezone(zone)
        if local.weekday() >= 5 and not preference.email_on_weekends:
            moment = _local(local.date() + timedelta(days=1), time.min, zone)
            continue
        # Held on a working day means quiet hours, which have both ends.
        end = cast(time, preference.quiet_hours_end)
        end_day = local.date() if local.time() < end else local.date() + timedelta(days=1)
        moment = _local(end_day, end, zone)
    return moment.astimezone(UTC)


def email_allowed_until(*, preference: NotificationPreference, zone: ZoneInfo, at: datetime) -> datetime:
    """The last moment at or before ``at`` when email may reach the user (UTC)."""
    moment = at
    for _ in range(_SEARCH_STEPS):
        if not email_is_held(preference=preference, zone=zone, at=moment):
            return moment.astimezone(UTC)
        local = moment.astimezone(zone)
        if local.weekday() >= 5 and not preference.email_on_weekends:
            moment = _local(local.date(), time.min, zone) - _BEFORE_QUIET
            continue
        start = cast(time, preference.quiet_hours_start)
        start_day = local.date() if local.time() >= start else local.date() - timedelta(days=1)
        moment = _local(start_day, start, zone) - _BEFORE_QUIET
    return moment.astimezone(UTC)


def reminder_time(
    *, preference: NotificationPreference, zone: ZoneInfo, due_at: datetime, calendar: WorkingDays
) -> datetime:
    """When the owner is reminded of a check-in due at ``due_at`` (UTC).

    The lead is the user's choice: hours before, or the same local time one or
    two working days before (weekends and the calendar's public holidays do
    not count). A time in the user's quiet hours or free weekend moves earlier.
    """
    lead = preference.reminder_lead
    if lead in _LEAD_HOURS:
        wanted = due_at - timedelta(hours=_LEAD_HOURS[lead])
    else:
        local_due = due_at.astimezone(zone)
        day = local_due.date()
        for _ in range(_LEAD_WORKING_DAYS.get(lead, 1)):
            day -= timedelta(days=1)
            while not calendar.is_working_day(day):
                day -= timedelta(days=1)
        wanted = _local(day, local_due.time(), zone)
    return email_allowed_until(preference=preference, zone=zone, at=wanted)


def digest_slot(*, preference: NotificationPreference, zone: ZoneInfo, at: datetime) -> datetime:
    """The first digest time at or after ``at`` (UTC): the user's digest time, on a day mail may come."""
    local_day = at.astimezone(zone).date()
    for offset in range(8):
        day = local_day + timedelta(days=offset)
        slot = _local(day, preference.digest_time, zone)
        if slot >= at and (preference.email_on_weekends or day.weekday() < 5):
            return slot.astimezone(UTC)
    raise AssertionError("a week always has a weekday")


def digest_window_key(*, slot: datetime, zone: ZoneInfo) -> str:
    """A digest's window, named by the local date of its slot: one digest per recipient and day."""
    return slot.astimezone(zone).date().isoformat()


def digest_last_slot(*, preference: NotificationPreference, zone: ZoneInfo, at: datetime) -> datetime:
    """The last digest time at or before ``at`` (UTC): the slot whose digest is due by then."""
    local_day = at.astimezone(zone).date()
    for offset in range(8):
        day = local_day - timedelta(days=offset)
        slot = _local(day, preference.digest_time, zone)
        if slot <= at and (preference.email_on_weekends or day.weekday() < 5):
            return slot.astimezone(UTC)
    raise AssertionError("a week always has a weekday")
