"""Every route of the project, every role: what each may reach and what answers 404.

The routes are read from the URL resolver, so a route added without an entry
in ROUTES fails test_every_route_has_a_matrix_entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.factories import Scope, World

SCOPES = ("mine", "sibling", "other")
# Which of the world's engagements each role sees (DESIGN.md, "Roles and what they may see").
VISIBLE = {
    "administrator": {"mine", "sibling", "other"},
    "practice_lead": {"mine", "sibling", "other"},
    "engagement_lead": {"mine"},
    "consultant": {"mine"},
    "client_pmo_lead": {"mine", "sibling"},
}


@dataclasses.dataclass(frozen=True)
class Public:
    """Reachable without logging in (login, password reset)."""

    kwargs: tuple[tuple[str, str], ...] = ()
    method: str = "get"


@dataclasses.dataclass(frozen=True)
class LoggedIn:
    """Any logged-in user; anonymous visitors are refused."""


@dataclasses.dataclass(frozen=True)
class ObjectRoute:
    """Acts on one object: outside the user's scope it answers 404, inside it does not."""

    attr: str
    method: str = "get"
    data: tuple[tuple[str, str], ...] = ()


@dataclasses.dataclass(frozen=True)
class ListRoute:
    """Lists objects of one kind: exactly those of the engagements in scope."""

    attr: str


Entry = Public | LoggedIn | ObjectRoute | ListRoute

ROUTES: dict[str, Entry] = {
    "home": LoggedIn(),
    "login": Public(),
    "logout": Public(method="post"),
    "password_reset": Public(),
    "password_reset_done": Public(),
    "password_reset_confirm": Public(kwargs=(("uidb64", "MQ"), ("token", "set-password"))),
    "password_reset_complete": Public(),
    "v1:api-root": LoggedIn(),
    "v1:schema": LoggedIn(),
    "v1:docs": LoggedIn(),
    "v1:redoc": LoggedIn(),
    "v1:client-list": ListRoute("client"),
    "v1:client-detail": ObjectRoute("client"),
    "v1:engagement-list": ListRoute("engagement"),
    "v1:engagement-detail": ObjectRoute("engagement"),
    "v1:membership-list": ListRoute("membership"),
    "v1:membership-detail": ObjectRoute("membership"),
    "v1:milestone-list": ListRoute("milestone"),
    "v1:milestone-detail": ObjectRoute("milestone"),
    "v1:change-request-list": ListRoute("change_request"),
    "v1:change-request-detail": ObjectRoute("change_request"),
    "v1:stakeholder-list": ListRoute("stakeholder"),
    "v1:stakeholder-detail": ObjectRoute("stakeholder"),
    "v1:stakeholder-role-list": ListRoute("role"),
    "v1:stakeholder-role-detail": ObjectRoute("role"),
    "v1:channel-list": ListRoute("channel"),
    "v1:channel-detail": ObjectRoute("channel"),
    "v1:check-in-list": ListRoute("check_in"),
    "v1:check-in-detail": ObjectRoute("check_in"),
    "v1:follow-up-list": ListRoute("follow_up"),
    "v1:follow-up-detail": ObjectRoute("follow_up"),
    "v1:follow-up-complete": ObjectRoute("follow_up", method="post"),
    "v1:follow-up-reopen": ObjectRoute("follow_up", method="post"),
    "v1:follow-up-comments": ObjectRoute("follow_up", method="post", data=(("body", "Noted."),)),
    "v1:follow-up-comment-list": ListRoute("comment"),
    "v1:follow-up-comment-detail": ObjectRoute("comment"),
    "v1:sponsor-subscription-list": ListRoute("subscription"),
    "v1:sponsor-subscription-detail": ObjectRoute("subscription"),
    "v1:delivery-list": ListRoute("delivery"),
    "v1:delivery-detail": ObjectRoute("delivery"),
}


def _walk(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            name = pattern.name or ""
            yield prefix + str(pattern.pattern), (f"{namespace}:{name}" if namespace and name else name)


def project_routes() -> dict[str, str]:
    """Route name → pattern for everything but the Django admin (checked on its own below)."""
    routes: dict[str, str] = {}
    for pattern, name in _walk(get_resolver().url_patterns):
        if pattern.startswith("admin/"):
            continue
        routes[name or f"<unnamed {pattern}>"] = pattern
    return routes


def test_every_route_has_a_matrix_entry():
    # Given every route the resolver knows outside the admin
    routes = project_routes()

    # Then each one is described in the matrix, and the matrix names no route that is gone
    assert sorted(set(routes) - set(ROUTES)) == [], "add these routes to ROUTES in tests/test_route_matrix.py"
    assert sorted(set(ROUTES) - set(routes)) == []


def _scope(world: World, name: str) -> Scope:
    return getattr(world, name)


def _object(world: World, scope_name: str, attr: str) -> Any:
    if attr == "client":
        return _scope(world, scope_name).engagement.client
    return getattr(_scope(world, scope_name), attr)


# Clients and their people are shared by all engagements of a client (mine and sibling).
BY_CLIENT = {"client", "stakeholder"}
CLIENT_OF = {"mine": "A", "sibling": "A", "other": "B"}


def _visible(role: str, scope_name: str, attr: str) -> bool:
    if attr in BY_CLIENT:
        return CLIENT_OF[scope_name] in {CLIENT_OF[name] for name in VISIBLE[role]}
    return scope_name in VISIBLE[role]


def _url(name: str, entry: Entry, pk: int | None = None) -> str:
    if isinstance(entry, Public):
        return reverse(name, kwargs=dict(entry.kwargs))
    if pk is None:
        return reverse(name)
    return reverse(name, kwargs={"pk": pk})


def _entries(kind: type) -> list[str]:
    return [name for name, entry in ROUTES.items() if isinstance(entry, kind)]


@pytest.mark.parametrize("name", _entries(Public))
def test_public_routes_answer_without_login(client, db, name):
    entry = ROUTES[name]
    assert isinstance(entry, Public)
    response = getattr(client, entry.method)(_url(name, entry))
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("name", _entries(LoggedIn))
def test_logged_in_routes_refuse_anonymous_and_serve_every_role(client, world, name):
    # Given an anonymous visitor, then the route does not serve them
    assert reverse(name)
    anonymous = client.get(reverse(name))
    assert anonymous.status_code in (302, 401, 403)

    # Given each role logged in, then the route serves them
    for role, user in world.users().items():
        client.force_login(user)
        response = client.get(reverse(name))
        assert response.status_code == 200, (role, response.status_code)


@pytest.mark.parametrize("name", _entries(ObjectRoute))
def test_object_routes_answer_404_outside_scope_for_every_role(client, world, name):
    entry = ROUTES[name]
    assert isinstance(entry, ObjectRoute)
    for role, user in world.users().items():
        client.force_login(user)
        for scope_name in SCOPES:
            # Given one object in each engagement, when the role asks for it
            target = _object(world, scope_name, entry.attr)
            response = getattr(client, entry.method)(_url(name, entry, target.pk), dict(entry.data))

            # Then it is answered only inside the role's scope, and outside it is 404, never 403
            if _visible(role, scope_name, entry.attr):
                assert response.status_code != 404, (role, scope_name, response.status_code)
            else:
                assert response.status_code == 404, (role, scope_name, response.status_code)
    client.logout()
    target = _object(world, "mine", entry.attr)
    assert getattr(client, entry.method)(_url(name, entry, target.pk)).status_code in (302, 401, 403)


@pytest.mark.parametrize("name", _entries(ListRoute))
def test_list_routes_show_exactly_the_objects_in_scope(client, world, name):
    entry = ROUTES[name]
    assert isinstance(entry, ListRoute)
    for role, user in world.users().items():
        # Given a role, when it lists the kind of object
        client.force_login(user)
        response = client.get(reverse(name), {"page_size": 200})
        assert response.status_code == 200, role
        listed = {row["id"] for row in response.json()["results"]}

        # Then each world object is listed exactly when its engagement is in scope
        for scope_name in SCOPES:
            target = _object(world, scope_name, entry.attr)
            assert (target.pk in listed) == _visible(role, scope_name, entry.attr), (role, scope_name)
    client.logout()
    assert client.get(reverse(name)).status_code in (302, 401, 403)


def test_the_admin_lets_in_administrators_only(client, world):
    for role, user in world.users().items():
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        if role == "administrator":
            assert response.status_code == 200
        else:
            assert response.status_code == 302
            assert reverse("admin:login") in response["Location"]
