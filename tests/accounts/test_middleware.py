from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import UserTimeZoneMiddleware
from tests import factories

NINE_UTC_WINTER = dt.datetime(2026, 1, 15, 9, 0, tzinfo=dt.UTC)
NINE_UTC_SUMMER = dt.datetime(2026, 7, 15, 9, 0, tzinfo=dt.UTC)


def _render_through_middleware(user: Any, value: dt.datetime) -> str:
    """Serve one page showing ``value`` the way Django's handler calls the middleware."""
    template = Template('{{ value|date:"j M H:i T" }}')

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(template.render(Context({"value": value})))

    def handler(request: HttpRequest) -> HttpResponse:
        middleware.process_view(request, view, (), {})
        return view(request)

    middleware = UserTimeZoneMiddleware(handler)
    request = RequestFactory().get("/")
    request.user = user
    return middleware(request).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("moment", "expected"),
    [(NINE_UTC_WINTER, "15 Jan 10:00 CET"), (NINE_UTC_SUMMER, "15 Jul 11:00 CEST")],
    ids=["winter", "summer"],
)
def test_a_utc_time_renders_in_the_users_zone_across_daylight_saving(moment, expected):
    # Given a consultant in Berlin
    user = factories.consultant(time_zone="Europe/Berlin")

    # When a page shows 09:00 UTC
    rendered = _render_through_middleware(user, moment)

    # Then it reads 10:00 in winter (CET) and 11:00 in summer (CEST)
    assert rendered == expected


@pytest.mark.django_db
def test_a_user_far_from_utc_sees_the_local_date_too():
    # Given a consultant in Sydney
    user = factories.consultant(time_zone="Australia/Sydney")

    # When a page shows 20:00 UTC on 15 January
    rendered = _render_through_middleware(user, dt.datetime(2026, 1, 15, 20, 0, tzinfo=dt.UTC))

    # Then it is already 07:00 the next morning there (AEDT, UTC+11)
    assert rendered == "16 Jan 07:00 AEDT"


def test_an_anonymous_visitor_sees_utc():
    # Given a visitor who has not logged in, on a thread where another zone was left active
    timezone.activate(dt.timezone(dt.timedelta(hours=5)))

    # When a page shows 09:00 UTC
    rendered = _render_through_middleware(AnonymousUser(), NINE_UTC_WINTER)

    # Then it is shown in UTC
    assert rendered == "15 Jan 09:00 UTC"


@pytest.mark.django_db
def test_the_zone_is_deactivated_after_the_response():
    # Given a consultant in Tokyo whose request has been served
    user = factories.consultant(time_zone="Asia/Tokyo")
    _render_through_middleware(user, NINE_UTC_WINTER)

    # Then the thread is back on the default zone for whoever it serves next
    assert timezone.get_current_timezone_name() == "UTC"


@pytest.mark.django_db
def test_a_zone_the_system_no_longer_knows_falls_back_to_utc():
    # Given a user whose stored zone was removed from the zone database
    user = factories.consultant()
    user.time_zone = "Mars/Olympus_Mons"

    # When a page shows 09:00 UTC
    rendered = _render_through_middleware(user, NINE_UTC_WINTER)

    # Then the page still renders, in UTC
    assert rendered == "15 Jan 09:00 UTC"


def test_the_middleware_runs_right_after_authentication(settings):
    # Then it comes after the middleware that sets request.user
    order = settings.MIDDLEWARE
    position = order.index("accounts.middleware.UserTimeZoneMiddleware")
    assert order[position - 1] == "django.contrib.auth.middleware.AuthenticationMiddleware"


def test_the_api_answers_in_utc_whatever_the_callers_zone(world, client):
    # Given a consultant in Berlin, logged in with a session
    world.consultant.time_zone = "Europe/Berlin"
    world.consultant.save(update_fields=["time_zone"])
    client.force_login(world.consultant)
    check_in = world.mine.check_in

    # When they read a check-in through the API
    response = client.get(reverse("v1:check-in-detail", kwargs={"pk": check_in.pk}))

    # Then its time is given in UTC, as a token client would get it
    assert response.status_code == 200
    occurred_at = response.json()["occurred_at"]
    assert occurred_at.endswith("Z")
    assert dt.datetime.fromisoformat(occurred_at) == check_in.occurred_at
