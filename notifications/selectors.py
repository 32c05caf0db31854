"""Reads of notifications and of who is told what: always the user's own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet

from accounts.models import User
from notifications.models import Notification, NotificationPreference, OutboxMessage
from pmaas.scoping import get_or_404


@dataclass(frozen=True)
class Recipient:
    """A user as the notification code needs them: zone, address and preferences."""

    user_id: int
    email: str
    zone: ZoneInfo
    preference: NotificationPreference
    user: User


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
            user_id=user.pk, email=user.email, zone=ZoneInfo(user.time_zone), preference=preference, user=user
        )
    return found


def preference_for(*, user: User) -> NotificationPreference:
    """The user's saved preferences, or unsaved defaults."""
    return NotificationPreference.objects.filter(user=user).first() or NotificationPreference(user=user)


def notification_list(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's in-app notifications, newest first, with their engagement for display."""
    rows = Notification.objects.visible_to(user)
    if unread_only:
        rows = rows.unread()
    return rows.select_related("engagement")


def notification_unread_count(*, user: Any) -> int:
    """How many of the user's in-app notifications are unread: the bell's number, in one query."""
    return Notification.objects.visible_to(user).unread().count()


def notification_get_for_user(*, user: Any, id: Any) -> Notification:
    """One of the user's in-app notifications; anyone else's answers 404."""
    return get_or_404(notification_list(user=user), id=id)


# Mail that arrives when something happens, as opposed to the digest the user scheduled:
# these count towards settings.EMAIL_HOURLY_CAP.
IMMEDIATE_MAIL_KINDS = (
    OutboxMessage.Kind.AT_ONCE,
    OutboxMessage.Kind.CHECK_IN_REMINDER,
    OutboxMessage.Kind.ESCALATION,
)
CAP_PERIOD = timedelta(hours=1)


def immediate_mail_counts(*, user_ids: Iterable[int], as_of: datetime) -> dict[int, int]:
    """How many immediate mails each user was written in the hour up to ``as_of``; one query."""
    rows = (
        OutboxMessage.objects.filter(
            recipient_id__in=set(user_ids),
            kind__in=IMMEDIATE_MAIL_KINDS,
            created_at__gt=as_of - CAP_PERIOD,
            created_at__lte=as_of,
        )
        .values("recipient_id")
        .annotate(count=Count("pk"))
        .values_list("recipient_id", "count")
    )
    return dict(rows)
