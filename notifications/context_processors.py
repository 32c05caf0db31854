"""What every page's template needs from this app: the notification bell's unread count."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from notifications.selectors import notification_unread_count


class NotificationBell:
    """The bell's number, counted when a template first asks for it and then kept.

    Lazy, so htmx partials that never show the bell cost no query.
    """

    def __init__(self, user: Any) -> None:
        self._user = user

    @cached_property
    def unread(self) -> int:
        return notification_unread_count(user=self._user)


def notification_bell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notification_bell": NotificationBell(user)}
