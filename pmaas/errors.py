"""The project's error types: what services raise when the rules or the caller's scope refuse a request.

Services never raise HTTP exceptions. Field problems are Django's
ValidationError; everything else is one of these, and each interface
translates them in one place: pages in ``pmaas.middleware`` (NotFound → 404,
NotAllowed → 403) and the view that called the service (RuleViolation onto
its form), the API in ``pmaas.api.exception_handler`` (the same statuses and
bodies, RuleViolation → 400).
"""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS


class RuleViolation(Exception):
    """Raised by services when a request is well-formed but the rules forbid it.

    ``field`` names the input the refusal is about, when there is one, so a
    form shows it beside that input and the API keys it by that name.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def message_dict(self) -> dict[str, list[str]]:
        """The refusal keyed as a ValidationError keys it: by ``field``, else under NON_FIELD_ERRORS."""
        return {self.field or NON_FIELD_ERRORS: [self.message]}


class TransitionRefused(RuleViolation):
    """A status change its model's declared transitions do not allow (``pmaas.transitions``)."""

    def __init__(self, message: str, *, source: str, target: str, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.source = source
        self.target = target


class NotFound(Exception):
    """The object does not exist or lies outside the caller's scope: 404, the two never told apart."""


class NotAllowed(Exception):
    """The caller may see the object but not make this change: 403."""
