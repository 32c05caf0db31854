"""The kinds of route in the scoping matrix (tests/test_route_matrix.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any


def _pk(obj: Any) -> dict[str, Any]:
    return {"pk": obj.pk}


@dataclasses.dataclass(frozen=True)
class Public:
    """Reachable without logging in (login, password reset)."""

    kwargs: tuple[tuple[str, str], ...] = ()
    method: str = "get"


@dataclasses.dataclass(frozen=True)
class LoggedIn:
    """Any logged-in user; anonymous visitors are refused.

    ``section`` names the model a page is about when that is not obvious; a
    client user, to whom pmaas/sharing.py shares no row of it, gets 404.
    """

    section: str | None = None


@dataclasses.dataclass(frozen=True)
class FirmWide:
    """A page about the whole firm (per-consultant figures): those who see every engagement reach it,
    everyone else gets 404 and anonymous visitors are refused."""


@dataclasses.dataclass(frozen=True)
class ObjectRoute:
    """Acts on one object: outside the user's scope it answers 404, inside it does not."""

    attr: str
    method: str = "get"
    data: tuple[tuple[str, str], ...] = ()
    # How the route's URL names the object; most take its primary key.
    url_kwargs: Callable[[Any], dict[str, Any]] = _pk
    # The model the page is about, when not the object's own (an engagement's plan is about channels):
    # a client user, to whom pmaas/sharing.py shares no row of it, gets 404.
    section: str | None = None


@dataclasses.dataclass(frozen=True)
class ListRoute:
    """Lists objects of one kind: exactly those of the engagements in scope."""

    attr: str


@dataclasses.dataclass(frozen=True)
class TokenRoute:
    """Reachable without logging in, but only with a secret in the URL: a wrong one answers 404."""

    kwarg: str = "token"


@dataclasses.dataclass(frozen=True)
class OwnRoute:
    """Acts on a row a user owns (a calendar feed): 404 for everyone but its owner and administrators."""

    method: str = "post"


@dataclasses.dataclass(frozen=True)
class PersonalRoute:
    """Acts on the caller's own notifications: someone else's answer 404, administrators included.

    ``detail`` routes name one notification by its primary key; the others act on all of the caller's.
    """

    method: str = "get"
    detail: bool = True


@dataclasses.dataclass(frozen=True)
class SignedLinkRoute:
    """A link mailed to a logged-in user (confirm a new address): anonymous visitors are sent to log in,
    and a link not signed for the caller opens nothing (400, with what is wrong)."""

    kwarg: str = "token"


@dataclasses.dataclass(frozen=True)
class RecipientLinkRoute:
    """A signed link mailed to someone without a login (a sponsor update's pages): no session is
    needed or used, and a link that is not genuine answers 400 with a page saying what is wrong."""

    kwarg: str = "token"


Entry = (
    Public
    | LoggedIn
    | FirmWide
    | ObjectRoute
    | ListRoute
    | TokenRoute
    | OwnRoute
    | PersonalRoute
    | SignedLinkRoute
    | RecipientLinkRoute
)
