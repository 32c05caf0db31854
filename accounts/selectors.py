"""Reads of a user's own account data: their calendar feeds."""

from __future__ import annotations

from typing import Any

from django.db.models import F, QuerySet

from accounts.models import CalendarFeed
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
