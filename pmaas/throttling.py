"""The API's throttles: per user, counted in the shared cache (settings.CACHES).

A module of its own because REST framework loads the classes named in its
settings while its views module is still being imported.
"""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import UserRateThrottle


class UserThrottle(UserRateThrottle):
    """Every request of one user, at the rate ``user`` (API_THROTTLE_RATE)."""

    scope = "user"


class UserWriteThrottle(UserRateThrottle):
    """A user's writes, at the lower rate ``user_writes``: each one locks rows and may send mail."""

    scope = "user_writes"

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
