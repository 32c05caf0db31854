"""Reads of notifications and of who is told what: always the user's own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from accounts.models import User
from notifications.models import Notification, NotificationPreference
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
