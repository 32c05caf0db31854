"""The domain's errors, and how each interface answers them: one translation per interface."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.test import RequestFactory
from django.urls import include, path, reverse
from rest_framework.test import APIRequestFactory

from pmaas.api import exception_handler
from pmaas.errors import NotAllowed, NotFound, RuleViolation, TransitionRefused
from pmaas.middleware import DomainErrorMiddleware
from tests import factories
from tests.factories import World


def _middleware() -> DomainErrorMiddleware:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("unreached")

    return DomainErrorMiddleware(view)


def test_the_middleware_is_installed_for_every_page() -> None:
    assert "pmaas.middleware.DomainErrorMiddleware" in settings.MIDDLEWARE


@pytest.mark.parametrize(
    ("error", "expected"),
    [(NotFound("No such thing."), Http404), (NotAllowed("Not yours."), PermissionDenied)],
)
def test_pages_turn_not_found_into_404_and_not_allowed_into_403(error: Exception, expected: type) -> None:
    # Given a request whose view raised a domain error
    request = RequestFactory().get("/")

    # When the middleware sees it, then Django's own exception carries the same message on
    with pytest.raises(expected, match=str(error)):
        _middleware().process_exception(request, error)


def test_pages_leave_other_errors_to_the_view_and_to_django() -> None:
    assert _middleware().process_exception(RequestFactory().get("/"), RuleViolation("No.")) is None


@pytest.mark.parametrize(
    ("error", "status", "body"),
    [
        (NotFound("No such follow-up."), 404, {"detail": "No such follow-up."}),
        (
            NotAllowed("You may view this but not change it."),
            403,
            {"detail": "You may view this but not change it."},
        ),
        (
            RuleViolation("Pause the channels first."),
            400,
            {"non_field_errors": ["Pause the channels first."]},
        ),
        (
            TransitionRefused(
                "A held occurrence cannot become due.", source="held", target="due", field="status"
            ),
            400,
            {"status": ["A held occurrence cannot become due."]},
        ),
    ],
)
def test_the_api_answers_each_domain_error_with_its_status_and_body(
    error: Exception, status: int, body: dict[str, Any]
) -> None:
    # Given an API request whose service raised a domain error
    request = APIRequestFactory().get("/api/v1/")

    # When the API's exception handler translates it
    response = exception_handler(error, {"request": request, "view": None})

    # Then the status and body are those of Http404, PermissionDenied and field errors
    assert response is not None
    assert response.status_code == status
    assert response.data == body


def test_a_rule_violation_is_keyed_by_its_field_or_as_a_non_field_error() -> None:
    assert RuleViolation("No.", field="to_status").message_dict == {"to_status": ["No."]}
    assert RuleViolation("No.").message_dict == {NON_FIELD_ERRORS: ["No."]}


@pytest.mark.django_db
def test_a_page_and_the_api_answer_403_when_a_service_refuses_a_visible_object(
    client: Any, world: World
) -> None:
    # Given the client PMO lead, who sees a team item shared with her but may not change it
    item = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, shared_with_client=True
    )
    client.force_login(world.client_user)

    # When they try to complete it on its page and through the API
    page = client.post(reverse("follow_up_complete", args=[item.pk]))
    api = client.post(reverse("v1:follow-up-complete", args=[item.pk]))

    # Then both are refused with 403 and the service's message: the page in the site's own layout
    assert page.status_code == 403
    assert "You may view this follow-up but not change it." in page.content.decode()
    assert 'href="/"' in page.content.decode()
    assert api.status_code == 403
    assert api.json() == {"detail": "You may view this follow-up but not change it."}


def _refused_with(error: Exception) -> Any:
    def view(request: HttpRequest) -> HttpResponse:
        raise error

    return view


# The pages of test_pages_answer_domain_errors_through_the_whole_request_cycle.
urlpatterns = [
    path("not-found/", _refused_with(NotFound("No such thing."))),
    path("not-allowed/", _refused_with(NotAllowed("Not yours to change."))),
    # The project's routes too: the 404 and 403 pages link to them.
    path("", include("pmaas.urls")),
]


@pytest.mark.urls("tests.test_errors")
def test_pages_answer_domain_errors_through_the_whole_request_cycle(client: Any, settings: Any) -> None:
    # Given pages whose service refuses, outside debug mode (Django's own 404 and 403 pages)
    settings.DEBUG = False

    # When they are requested, then the installed middleware answers 404 and 403
    assert client.get("/not-found/").status_code == 404
    assert client.get("/not-allowed/").status_code == 403
