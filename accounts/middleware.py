"""Show times in the time zone the logged-in user chose; the database keeps UTC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.views import APIView


class UserTimeZoneMiddleware:
    """Activate ``request.user.time_zone`` for the pages, so template date filters honour it.

    Runs after AuthenticationMiddleware. Anonymous visitors, and a user whose
    stored zone is no longer known to the system's zone database, see UTC
    (settings.TIME_ZONE) rather than an error page. The API always answers in
    UTC: its clients parse the timestamps, and a session caller and a token
    caller must get the same text for the same row.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            # The thread serves the next request, perhaps for someone else.
            timezone.deactivate()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        zone = _zone(getattr(user, "time_zone", ""))
        if zone is not None:
            timezone.activate(zone)


def _zone(name: str) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
