"""Writes to a user's own account: name, email and preferences."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import CalendarFeed, User
from engagements.models import Engagement
from pmaas.errors import NotAllowed
from pmaas.validation import clean_instance


@transaction.atomic
def user_update_preferences(
    *, user: User, first_name: str, last_name: str, email: str, time_zone: str
) -> User:
    """Change a user's own name, email address and time zone.

    Rule: the time zone must be an IANA name (the model's validator), the email
    address valid and not already another account's (case-insensitive), because
    password reset looks accounts up by email. Every role may change its own
    preferences, a client PMO lead included. No side effects beyond the row.
    Idempotent: saving the same values twice leaves the row as it was.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.first_name = first_name.strip()
    locked.last_name = last_name.strip()
    locked.email = email.strip()
    locked.time_zone = time_zone.strip()
    errors: dict[str, ValidationError] = {}
    if locked.email and User.objects.filter(email__iexact=locked.email).exclude(pk=locked.pk).exists():
        errors["email"] = ValidationError("Another account already uses this email address.", code="taken")
    clean_instance(locked, errors)
    locked.save(update_fields=["first_name", "last_name", "email", "time_zone"])
    # The caller's instance (request.user) shows the new values for the rest of the request.
    for name in ("first_name", "last_name", "email", "time_zone"):
        setattr(user, name, getattr(locked, name))
    return locked


def calendar_feed_token_hash(token: str) -> str:
    """The stored form of a feed secret: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, actor: User, engagement: Engagement | None = None) -> tuple[CalendarFeed, str]:
    """Open a calendar feed for the actor: personal (engagement None) or of one engagement.

    Rule: an engagement feed only for an engagement the actor may see (else
    NotAllowed); any active user, a client PMO lead included, may have
    feeds, since a feed only shows what its owner may see anyway. Side effect:
    an active feed of the same owner and scope is revoked first, so its old URL
    stops working. Returns the feed and its secret, which is stored only as a
    hash and cannot be shown again. Not idempotent: each call issues a new secret.
    """
    if not actor.is_active:
        raise NotAllowed("Inactive users have no calendar feeds.")
    if engagement is not None and not Engagement.objects.visible_to(actor).filter(pk=engagement.pk).exists():
        raise NotAllowed("This engagement is not in your scope.")
    # Serialises two creations for the same owner, which would otherwise both
    # pass the revoke step and trip the one-active-feed constraint.
    User.objects.select_for_update().filter(pk=actor.pk).first()
    now = timezone.now()
    CalendarFeed.objects.active().filter(owner=actor, engagement=engagement).update(revoked_at=now)
    secret = secrets.token_urlsafe(32)
    feed = CalendarFeed(owner=actor, engagement=engagement, token_hash=calendar_feed_token_hash(secret))
    clean_instance(feed)
    feed.save()
    return feed, secret


@transaction.atomic
def calendar_feed_revoke(*, actor: User, feed: CalendarFeed) -> CalendarFeed:
    """Revoke a feed so its URL answers 404 from now on.

    Rule: the owner may revoke their own feeds, an administrator anyone's (else
    NotAllowed). Side effects: none beyond the row. Idempotent: revoking a
    revoked feed keeps its first revocation time.
    """
    if not CalendarFeed.objects.visible_to(actor).filter(pk=feed.pk).exists():
        raise NotAllowed("This calendar feed is not yours.")
    CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    feed.refresh_from_db(fields=["revoked_at"])
    return feed


# Each subscribed calendar client polls its feed every few minutes: writing the
# row on every poll would turn reads into writes for no gain in information.
CALENDAR_FEED_USE_RESOLUTION = timedelta(hours=1)


def calendar_feed_mark_used(*, feed: CalendarFeed, as_of: datetime) -> bool:
    """Record that the feed was fetched, at most once per hour.

    Rule: last_used_at moves only when it is empty or more than an hour old,
    decided by one conditional UPDATE, so concurrent fetches write it once.
    Returns whether the row changed. Idempotent within the hour.
    """
    changed = (
        CalendarFeed.objects.filter(pk=feed.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=as_of - CALENDAR_FEED_USE_RESOLUTION))
        .update(last_used_at=as_of)
    )
    if changed:
        feed.last_used_at = as_of
    return bool(changed)
