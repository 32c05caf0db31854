"""Who is told what, and when: preferences, quiet hours, digest times and in-app notifications.

Every time here is computed in the recipient's own time zone and returned in
UTC. Quiet hours and weekends hold back email only: a reminder is moved
earlier so it still arrives before the check-in, anything else waits until
they end. In-app notifications always arrive at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import QuerySet

from accounts.models import User
from communications.models import Notification, NotificationEvent, NotificationPreference
from engagements.working_days import WorkingDays
from pmaas.scoping import get_or_404
from pmaas.validation import clean_instance

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


@dataclass(frozen=True)
class Recipient:
    """A user as the notification code needs them: zone, address and preferences."""

    user_id: int
    email: str
    zone: ZoneInfo
    preference: NotificationPreference


def recipients_for(*, user_ids: Iterable[int]) -> dict[int, Recipient]:
    """Active users by id with their preferences (the defaults where they saved none), in one query."""
    users = User.objects.filter(pk__in=set(user_ids), is_active=True).select_related(
        "notification_preference"
    )
    found: dict[int, Recipient] = {}
    for user in users:
        try:
            preference = user.notification_preference
        except NotificationPreference.DoesNotExist:
            preference = NotificationPreference(user=user)
        found[user.pk] = Recipient(
            user_id=user.pk, email=user.email, zone=ZoneInfo(user.time_zone), preference=preference
        )
    return found


def preference_for(*, user: User) -> NotificationPreference:
    """The user's saved preferences, or unsaved defaults."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


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


@dataclass(frozen=True)
class NotificationDraft:
    """An event to tell one user about; ``key`` names its object so it is told once."""

    recipient_id: int
    event: NotificationEvent
    key: str
    message: str
    url: str = ""
    engagement_id: int | None = None


def notifications_record(
    *, drafts: Sequence[NotificationDraft], as_of: datetime, recipients: dict[int, Recipient] | None = None
) -> int:
    """Record each event for its recipient, as their preferences say: in-app, email, both or neither.

    One row per (recipient, event, key), inserted ignoring conflicts, so a
    sweep that runs twice tells nobody twice; inactive users are told nothing.
    Runs in the caller's transaction; pass ``recipients`` when the caller has
    them already. Two queries at most whatever the number of drafts. Returns
    the number of rows this call set out to insert.
    """
    if not drafts:
        return 0
    if recipients is None:
        recipients = recipients_for(user_ids={draft.recipient_id for draft in drafts})
    rows = []
    for draft in drafts:
        recipient = recipients.get(draft.recipient_id)
        if recipient is None:
            continue
        in_app = recipient.preference.wants(draft.event, "in_app")
        email = recipient.preference.wants(draft.event, "email")
        if not (in_app or email):
            continue
        rows.append(
            Notification(
                recipient_id=draft.recipient_id,
                event=draft.event,
                key=draft.key[:100],
                message=draft.message[:500],
                url=draft.url,
                engagement_id=draft.engagement_id,
                in_app=in_app,
                email=email,
                created_at=as_of,
            )
        )
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def notification_list(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first, with their engagement for display."""
    notifications = Notification.objects.visible_to(user)
    if unread_only:
        notifications = notifications.unread()
    return notifications.select_related("engagement")


def notification_unread_count(*, user: Any) -> int:
    """How many of the user's in-app notifications are unread: the bell's number, in one query."""
    return Notification.objects.visible_to(user).unread().count()


def notification_get_for_user(*, user: Any, id: Any) -> Notification:
    """One of the user's in-app notifications; anyone else's answers 404."""
    return get_or_404(notification_list(user=user), id=id)


def notification_mark_read(*, user: Any, notification_id: Any, as_of: datetime) -> Notification:
    """Mark one of the user's notifications read; 404 for anyone else's.

    Idempotent: a notification read before keeps its first read time.
    """
    notification = notification_get_for_user(user=user, id=notification_id)
    if notification.read_at is None:
        # Conditional, so a second tab marking it at the same moment does not move the time.
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=as_of)
        notification.refresh_from_db(fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: Any, as_of: datetime) -> int:
    """Mark every unread notification of the user read, in one UPDATE; returns how many changed.

    Idempotent: a second call changes nothing.
    """
    return Notification.objects.visible_to(user).unread().update(read_at=as_of)


PREFERENCE_FIELDS = (
    "reminder_lead",
    "digest_time",
    "quiet_hours_start",
    "quiet_hours_end",
    "email_on_weekends",
    *(f"{event}_{medium}" for event in NotificationEvent.values for medium in ("in_app", "email")),
)


def _quiet_hours_message() -> str:
    for constraint in NotificationPreference._meta.constraints:
        if constraint.name == "preference_quiet_hours_both_or_neither":
            return str(constraint.violation_error_message)
    raise AssertionError("the quiet hours constraint is gone")


@transaction.atomic
def notification_preference_save(*, user: Any, **fields: Any) -> NotificationPreference:
    """Save the user's notification preferences, creating their row on first save.

    Fields not given keep their current value (the defaults on first save).
    Only one end of the quiet hours is a field error on the missing end, with
    the database constraint's own message. Idempotent.
    """
    unknown = set(fields) - set(PREFERENCE_FIELDS)
    if unknown:
        raise TypeError(f"not a preference: {', '.join(sorted(unknown))}")
    # Get-or-create under a row lock: two first saves at once end with one row, and a refused
    # save rolls the new row back with the rest of the transaction.
    preference, _ = NotificationPreference.objects.select_for_update().get_or_create(user=user)
    for name, value in fields.items():
        setattr(preference, name, value)
    errors: dict[str, Any] = {}
    start, end = preference.quiet_hours_start, preference.quiet_hours_end
    if (start is None) != (end is None):
        errors["quiet_hours_start" if start is None else "quiet_hours_end"] = _quiet_hours_message()
    clean_instance(preference, errors)
    preference.save()
    return preference
