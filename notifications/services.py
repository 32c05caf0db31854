"""Writes of notifications and preferences: recording events, marking read, saving preferences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from notifications.models import (
    DIGESTIBLE_EVENTS,
    IN_APP_ONLY_EVENTS,
    Notification,
    NotificationEvent,
    NotificationPreference,
)
from notifications.selectors import Recipient, notification_get_for_user, recipients_for
from pmaas.validation import clean_instance


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
    *(f"{event}_in_app" for event in NotificationEvent.values),
    *(f"{event}_email" for event in NotificationEvent.values if event not in IN_APP_ONLY_EVENTS),
    *(f"{event}_at_once" for event in DIGESTIBLE_EVENTS),
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
