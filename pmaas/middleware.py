"""Middleware every app shares: domain errors and oversized bodies as HTTP answers, and the policy headers."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers

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


class RequestBodyLimitMiddleware:
    """A body longer than DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 Content Too Large, before anything reads it.

    Django refuses such a form body only when a view or the CSRF check reads
    it, and then with a bare 400; REST framework reads JSON from the stream
    and never checks. Deciding on the declared Content-Length, first, covers
    both and says what went wrong: JSON for the API, a page for the rest.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is None or length <= limit:
            return self.get_response(request)
        message = f"The request is too large: at most {limit // 1024} KB may be sent at once."
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=413)
        body = render_to_string("413.html", {"message": message}, request=request)
        return HttpResponse(body, status=413)


class PermissionsPolicyMiddleware:
    """Send ``settings.PERMISSIONS_POLICY`` on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class NoStoreForUsersMiddleware:
    """Responses to a logged-in user are never stored by a browser or a shared cache.

    A response that states its own Cache-Control (a calendar feed does) keeps it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
