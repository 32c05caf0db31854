"""Every route of the project, every role: what each may reach and what answers 404.

The routes are read from the URL resolver, so a route added without an entry
in ROUTES fails test_every_route_has_a_matrix_entry.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from communications.calendar_feeds import calendar_feed_create
from pmaas.sharing import NOTHING, client_share
from tests import factories, routes
from tests.factories import Scope, World
from tests.route_kinds import (
    Entry,
    FirmWide,
    ListRoute,
    LoggedIn,
    ObjectRoute,
    OwnRoute,
    PersonalRoute,
    Public,
    RecipientLinkRoute,
    SignedLinkRoute,
    TokenRoute,
)


def _collect_routes() -> dict[str, Entry]:
    merged: dict[str, Entry] = {}
    for module_info in pkgutil.iter_modules(routes.__path__):
        module = importlib.import_module(f"{routes.__name__}.{module_info.name}")
        for name, entry in module.ROUTES.items():
            assert name not in merged, f"{name} has two entries in tests/routes"
            merged[name] = entry
    return merged


ROUTES = _collect_routes()

SCOPES = ("mine", "sibling", "other")
# Which of the world's engagements each role sees (DESIGN.md, "Roles and what they may see").
VISIBLE = {
    "administrator": {"mine", "sibling", "other"},
    "practice_lead": {"mine", "sibling", "other"},
    "engagement_lead": {"mine"},
    "consultant": {"mine"},
    "client_pmo_lead": {"mine", "sibling"},
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
    assert sorted(set(routes) - set(ROUTES)) == [], "add these routes to a module in tests/routes/"
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


def _shared_with_clients(target: Any, section: str | None) -> bool:
    """Whether pmaas/sharing.py shares this row (and the section the page is about) with client users."""
    if section is not None and client_share(section) is NOTHING:
        return False
    model = type(target)
    return model._default_manager.filter(pk=target.pk).filter(client_share(model._meta.label).rows).exists()


def _visible(role: str, scope_name: str, attr: str, target: Any = None, section: str | None = None) -> bool:
    if role == "client_pmo_lead" and target is not None and not _shared_with_clients(target, section):
        return False
    if attr in BY_CLIENT:
        return CLIENT_OF[scope_name] in {CLIENT_OF[name] for name in VISIBLE[role]}
    return scope_name in VISIBLE[role]


def _url(name: str, entry: Entry, target: Any = None) -> str:
    if isinstance(entry, Public):
        return reverse(name, kwargs=dict(entry.kwargs))
    if target is None:
        return reverse(name)
    assert isinstance(entry, ObjectRoute)
    return reverse(name, kwargs=entry.url_kwargs(target))


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

    # Given each role logged in, then the route serves them; a client user only what is shared with clients
    entry = ROUTES[name]
    assert isinstance(entry, LoggedIn)
    for role, user in world.users().items():
        client.force_login(user)
        response = client.get(reverse(name))
        firm_only = entry.section is not None and client_share(entry.section) is NOTHING
        expected = 404 if role == "client_pmo_lead" and firm_only else 200
        assert response.status_code == expected, (role, response.status_code)


@pytest.mark.parametrize("name", _entries(FirmWide))
def test_firm_wide_routes_serve_only_those_who_see_every_engagement(client, world, name):
    # Given an anonymous visitor, then the route does not serve them
    assert client.get(reverse(name)).status_code in (302, 401, 403)

    # Given each role logged in, then administrators and practice leads are served, the others get 404
    for role, user in world.users().items():
        client.force_login(user)
        expected = 200 if role in ("administrator", "practice_lead") else 404
        assert client.get(reverse(name)).status_code == expected, role


@pytest.mark.parametrize("name", _entries(ObjectRoute))
def test_object_routes_answer_404_outside_scope_for_every_role(client, world, name):
    entry = ROUTES[name]
    assert isinstance(entry, ObjectRoute)
    for role, user in world.users().items():
        client.force_login(user)
        for scope_name in SCOPES:
            # Given one object in each engagement, when the role asks for it
            target = _object(world, scope_name, entry.attr)
            response = getattr(client, entry.method)(_url(name, entry, target), dict(entry.data))

            # Then it is answered only inside the role's scope, and outside it is 404, never 403
            if _visible(role, scope_name, entry.attr, target, entry.section):
                assert response.status_code != 404, (role, scope_name, response.status_code)
            else:
                assert response.status_code == 404, (role, scope_name, response.status_code)
    client.logout()
    target = _object(world, "mine", entry.attr)
    assert getattr(client, entry.method)(_url(name, entry, target)).status_code in (302, 401, 403)


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
            visible = _visible(role, scope_name, entry.attr, target)
            assert (target.pk in listed) == visible, (role, scope_name)
    client.logout()
    assert client.get(reverse(name)).status_code in (302, 401, 403)


@pytest.mark.parametrize("name", _entries(TokenRoute))
def test_token_routes_answer_404_to_a_wrong_token_for_everyone(client, world, name):
    entry = ROUTES[name]
    assert isinstance(entry, TokenRoute)
    url = reverse(name, kwargs={entry.kwarg: "not-a-real-token"})
    # Given an anonymous visitor, then a wrong token is 404 and not a login redirect
    assert client.get(url).status_code == 404

    # Given each role logged in, then a session opens nothing: the token alone decides
    for role, user in world.users().items():
        client.force_login(user)
        assert client.get(url).status_code == 404, role


@pytest.mark.parametrize("name", _entries(SignedLinkRoute))
def test_signed_link_routes_send_visitors_to_log_in_and_open_nothing_for_a_wrong_link(client, world, name):
    entry = ROUTES[name]
    assert isinstance(entry, SignedLinkRoute)
    url = reverse(name, kwargs={entry.kwarg: "not-a-real-link"})
    # Given an anonymous visitor, then the link sends them to log in first
    assert client.get(url).status_code == 302

    # Given each role logged in, then a link not signed for them changes nothing
    for role, user in world.users().items():
        client.force_login(user)
        assert client.post(url).status_code == 400, role


@pytest.mark.parametrize("name", _entries(RecipientLinkRoute))
def test_recipient_link_routes_open_nothing_for_a_link_that_is_not_genuine(client, world, name):
    entry = ROUTES[name]
    assert isinstance(entry, RecipientLinkRoute)
    url = reverse(name, kwargs={entry.kwarg: "not-a-real-link"})
    # Given an anonymous visitor, then a wrong link answers 400 with a page, not a login redirect
    response = client.get(url)
    assert response.status_code == 400
    assert b"This link does not work" in response.content

    # Given each role logged in, then a session opens nothing either, and a POST changes nothing
    for role, user in world.users().items():
        client.force_login(user)
        assert client.get(url).status_code == 400, role
        assert client.post(url).status_code == 400, role


@pytest.mark.parametrize("name", _entries(OwnRoute))
def test_own_routes_answer_404_to_everyone_but_the_owner_and_administrators(client, world, name):
    entry = ROUTES[name]
    assert isinstance(entry, OwnRoute)
    for role, user in world.users().items():
        # Given a fresh row owned by the consultant, when each role acts on it
        feed, _ = calendar_feed_create(actor=world.consultant)
        client.force_login(user)
        response = getattr(client, entry.method)(reverse(name, kwargs={"pk": feed.pk}))

        # Then the owner and administrators reach it, everyone else gets 404
        reaches = user == world.consultant or role == "administrator"
        assert (response.status_code != 404) == reaches, (role, response.status_code)
    feed, _ = calendar_feed_create(actor=world.consultant)
    client.logout()
    assert getattr(client, entry.method)(reverse(name, kwargs={"pk": feed.pk})).status_code in (302, 401, 403)


def test_the_admin_lets_in_administrators_only(client, world):
    for role, user in world.users().items():
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        if role == "administrator":
            assert response.status_code == 200
        else:
            assert response.status_code == 302
            assert reverse("admin:login") in response["Location"]


@pytest.mark.parametrize("name", _entries(PersonalRoute))
def test_personal_routes_answer_404_to_everyone_but_the_recipient(client, world, name):
    entry = ROUTES[name]
    assert isinstance(entry, PersonalRoute)
    for role, user in world.users().items():
        # Given a fresh notification for the consultant, when each role acts on it (or on all of its own)
        notification = factories.make_notification(
            recipient=world.consultant, engagement=world.mine.engagement
        )
        client.force_login(user)
        url = reverse(name, kwargs={"pk": notification.pk}) if entry.detail else reverse(name)
        response = getattr(client, entry.method)(url)

        # Then only the recipient reaches it: administrators too get 404 for someone else's
        if entry.detail:
            assert (response.status_code != 404) == (user == world.consultant), (role, response.status_code)
        else:
            assert response.status_code == 200, (role, response.status_code)
    client.logout()
    url = reverse(name, kwargs={"pk": notification.pk}) if entry.detail else reverse(name)
    assert getattr(client, entry.method)(url).status_code in (302, 401, 403)
