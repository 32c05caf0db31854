"""What every page's template needs from this app: the role the header names for the user."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from engagements.selectors import user_role_label


class HeaderRole:
    """The header's role label, looked up when a template first shows it and then kept.

    Lazy, so htmx partials and API answers, which show no header, cost no query.
    """

    def __init__(self, user: Any) -> None:
        self._user = user

    @cached_property
    def label(self) -> str:
        return user_role_label(user=self._user)

    def __str__(self) -> str:
        return self.label


def header_role(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"header_role": HeaderRole(user)}
