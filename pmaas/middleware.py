"""How pages answer the domain's access errors: the one place they become HTTP."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from pmaas.errors import NotAllowed, NotFound


class DomainErrorMiddleware:
    """A service's NotFound answers 404 and its NotAllowed 403, as Http404 and PermissionDenied would.

    Re-raised as Django's own exceptions rather than rendered here, so the
    pages, the logging and the debug views are exactly Django's.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, NotFound):
            raise Http404(*exception.args) from exception
        if isinstance(exception, NotAllowed):
            raise PermissionDenied(*exception.args) from exception
        return None
