"""The headers every response carries: a Content-Security-Policy without inline scripts,
a Permissions-Policy, and no copy of a logged-in page left in any cache."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from tests.factories import World


def _directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {name: values for name, *values in (part.split() for part in policy.split(";") if part.strip())}


def test_pages_allow_scripts_and_styles_only_from_the_site_itself(client: Client, world: World) -> None:
    client.force_login(world.consultant)

    # When the consultant opens their week and the login page is opened by someone else
    pages = [client.get(reverse("home")), Client().get(reverse("login"))]

    # Then neither lets an inline script, an event handler or a style attribute run
    for response in pages:
        assert response.status_code == 200
        directives = _directives(response)
        assert directives["script-src"] == ["'self'"]
        assert directives["style-src"] == ["'self'"]
        assert directives["object-src"] == ["'none'"]
        assert directives["frame-ancestors"] == ["'none'"]


def test_the_api_docs_and_browsable_api_widen_only_their_own_styles(client: Client, world: World) -> None:
    client.force_login(world.consultant)

    responses = [client.get(reverse(name)) for name in ("v1:docs", "v1:redoc")]
    responses.append(client.get(reverse("v1:engagement-list"), HTTP_ACCEPT="text/html"))
    for response in responses:
        assert response.status_code == 200
        directives = _directives(response)
        assert directives["script-src"] == ["'self'"]
        assert "'unsafe-inline'" in directives["style-src"]


def test_every_response_refuses_camera_microphone_and_location(client: Client, world: World) -> None:
    client.force_login(world.consultant)

    for url in (reverse("login"), reverse("home"), reverse("v1:engagement-list"), "/static/css/app.css"):
        policy = client.get(url)["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()"):
            assert feature in policy, url


def test_pages_and_api_answers_for_a_logged_in_user_are_not_stored(client: Client, world: World) -> None:
    client.force_login(world.consultant)

    for url in (reverse("home"), reverse("engagement_list"), reverse("v1:engagement-list")):
        assert "no-store" in client.get(url)["Cache-Control"], url
