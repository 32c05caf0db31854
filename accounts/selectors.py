"""Reads of a user's own account data: their calendar feeds and sessions."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import CalendarFeed, UserSession
from pmaas.scoping import get_or_404


def calendar_feed_list(*, user: Any) -> QuerySet[CalendarFeed]:
    """The user's own active feeds, the personal one first, then by engagement code."""
    return (
        CalendarFeed.objects.visible_to(user)
        .active()
        .filter(owner=user)
        .select_related("engagement", "engagement__client")
        .order_by(F("engagement__code").asc(nulls_first=True), "created_at")
    )


def calendar_feed_get_for_user(*, user: Any, id: int) -> CalendarFeed:
    return get_or_404(CalendarFeed.objects.visible_to(user).select_related("engagement"), id=id)


def calendar_feed_get_by_token(*, token_hash: str) -> CalendarFeed | None:
    """The active feed of an active user a secret opens, or None; the token is the only credential."""
    return (
        CalendarFeed.objects.active()
        .select_related("owner", "engagement")
        .filter(token_hash=token_hash, owner__is_active=True)
        .first()
    )


# A person has a handful of browsers; older rows than these are long logged out.
SESSIONS_SHOWN = 20


def session_list_for_user(*, user: Any) -> list[UserSession]:
    """The user's own sessions still known to the session store, the latest login first.

    At most ``SESSIONS_SHOWN``; a row whose session has ended (logged out,
    expired, ended from another browser) is left out.
    """
    rows = list(UserSession.objects.visible_to(user).filter(user=user)[:SESSIONS_SHOWN])
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if hasattr(store_class, "get_model_class"):
        # A database-backed store (db, cached_db): the live ones of the page in one query, not one each.
        live = set(
            store_class.get_model_class()
            .objects.filter(session_key__in=[row.session_key for row in rows], expire_date__gt=timezone.now())
            .values_list("session_key", flat=True)
        )
        return [row for row in rows if row.session_key in live]
    store = store_class()
    return [row for row in rows if store.exists(row.session_key)]


def session_get_for_user(*, user: Any, id: Any) -> UserSession:
    """One of the user's own sessions, else 404 (an administrator's included: sessions are personal)."""
    return get_or_404(UserSession.objects.visible_to(user).filter(user=user), id=id)
