"""Writes of calendar feeds: opening one (its secret shown once), revoking it, noting its use.

A feed is a user's row (accounts.CalendarFeed), but what it serves is the
communication plan, and opening one for an engagement asks the engagement's
visibility rule: so its writes live here, above both.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import CalendarFeed, User
from engagements.models import Engagement
from pmaas.errors import NotAllowed
from pmaas.sharing import NOTHING, client_share, is_client_user
from pmaas.validation import clean_instance


def calendar_feed_token_hash(token: str) -> str:
    """The stored form of a feed secret: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, actor: User, engagement: Engagement | None = None) -> tuple[CalendarFeed, str]:
    """Open a calendar feed for the actor: personal (engagement None) or of one engagement.

    Rule: an engagement feed only for an engagement the actor may see (else
    NotAllowed); a feed is the communication plan, which is not shared with
    client users (pmaas/sharing.py), so they have none. Side effect:
    an active feed of the same owner and scope is revoked first, so its old URL
    stops working. Returns the feed and its secret, which is stored only as a
    hash and cannot be shown again. Not idempotent: each call issues a new secret.
    """
    if not actor.is_active:
        raise NotAllowed("Inactive users have no calendar feeds.")
    if client_share("communications.Channel") is NOTHING and is_client_user(actor):
        raise NotAllowed("Calendar feeds show the firm's communication plan.")
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
