"""Signed links in a sponsor update: view online, preferences, one-click unsubscribe, acknowledge.

A link is the permission: it names one subscription (and, to view online or
acknowledge, one of its deliveries), is signed with the site's secret under a salt per
purpose (a preferences link does not unsubscribe, an unsubscribe link does
not open preferences), and expires after ``SPONSOR_UPDATE_LINK_DAYS``. No
login is needed, and a link shows nothing beyond the subscription it names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

_SALT = "sponsor_updates.link"


class Purpose(enum.StrEnum):
    VIEW = "view"
    PREFERENCES = "preferences"
    UNSUBSCRIBE = "unsubscribe"
    ACKNOWLEDGE = "acknowledge"


_ROUTES = {
    Purpose.VIEW: "sponsor_update_online",
    Purpose.PREFERENCES: "sponsor_update_preferences",
    Purpose.UNSUBSCRIBE: "sponsor_update_unsubscribe",
    Purpose.ACKNOWLEDGE: "sponsor_update_acknowledge",
}


@dataclass(frozen=True)
class LinkTarget:
    subscription_id: int
    delivery_id: int | None = None


class LinkRefused(Exception):
    """A link that opens nothing: ``expired`` (authentic but too old, with its target) or tampered."""

    def __init__(self, *, expired: bool, target: LinkTarget | None = None) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired
        self.target = target


def link_max_age() -> timedelta:
    return timedelta(days=settings.SPONSOR_UPDATE_LINK_DAYS)


def link_token(purpose: Purpose, target: LinkTarget) -> str:
    payload: dict[str, int] = {"s": target.subscription_id}
    if target.delivery_id is not None:
        payload["d"] = target.delivery_id
    return signing.dumps(payload, salt=f"{_SALT}.{purpose}", compress=True)


# A token is URL-safe base64 and colons, which a path carries as they are, so
# each route is reversed once and the token put in its place: a sweep makes
# four links an update, and reversing each cost more than signing it.
_TOKEN_SLOT = "token-slot"  # noqa: S105 - a placeholder in a path, not a secret
_paths: dict[tuple[Purpose, str, object], tuple[str, str]] = {}


def _path_around_token(purpose: Purpose) -> tuple[str, str]:
    key = (purpose, get_script_prefix(), get_urlconf())
    if key not in _paths:
        before, _, after = reverse(_ROUTES[purpose], kwargs={"token": _TOKEN_SLOT}).partition(_TOKEN_SLOT)
        _paths[key] = (before, after)
    return _paths[key]


def link_url(purpose: Purpose, target: LinkTarget, token: str = "") -> str:
    """The absolute URL of a signed link, on ``SITE_URL``, as mail carries it (with ``token``, if signed)."""
    before, after = _path_around_token(purpose)
    return f"{settings.SITE_URL}{before}{token or link_token(purpose, target)}{after}"


def _target(payload: object) -> LinkTarget | None:
    if not isinstance(payload, dict):
        return None
    subscription_id, delivery_id = payload.get("s"), payload.get("d")
    if not isinstance(subscription_id, int) or not (delivery_id is None or isinstance(delivery_id, int)):
        return None
    return LinkTarget(subscription_id=subscription_id, delivery_id=delivery_id)


def link_read(purpose: Purpose, token: str) -> LinkTarget:
    """What a link names; raises LinkRefused when it was altered, signed for another purpose, or expired."""
    salt = f"{_SALT}.{purpose}"
    try:
        target = _target(signing.loads(token, salt=salt, max_age=link_max_age()))
    except signing.SignatureExpired:
        # Authentic, only old: what it named may be sent a fresh link.
        raise LinkRefused(expired=True, target=_target(signing.loads(token, salt=salt))) from None
    except signing.BadSignature:
        raise LinkRefused(expired=False) from None
    if target is None:
        raise LinkRefused(expired=False)
    return target
