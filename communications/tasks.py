"""The domain's periodic sweeps: each task takes the time and calls one service.

Mail is not sent here: the sweeps write outbox messages, which
``notifications.tasks`` sends and reconciles.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from communications import escalation, health, raid, rollups, scheduling, silence

logger = logging.getLogger(__name__)


@shared_task(name="communications.sweep_overdue_follow_ups", acks_late=True)
def sweep_overdue_follow_ups() -> int:
    """Periodic: flag newly overdue follow-ups, tell their owners, escalate the late ones."""
    return escalation.follow_ups_sweep_overdue(as_of=timezone.now())


@shared_task(name="communications.send_daily_digests", acks_late=True)
def send_daily_digests() -> int:
    """Periodic: write each recipient's daily digest once their digest time has passed."""
    return escalation.follow_ups_send_overdue_digests(as_of=timezone.now())


@shared_task(name="communications.dispatch_occurrences", acks_late=True)
def dispatch_occurrences() -> dict[str, int]:
    """Periodic: follow plan changes, create coming occurrences, mark due, remind, mark the missed."""
    return scheduling.occurrences_sweep(as_of=timezone.now())


@shared_task(name="communications.flag_silent_stakeholders", acks_late=True)
def flag_silent_stakeholders() -> int:
    """Periodic: flag sponsors and PMO lead gone quiet for longer than their plan allows."""
    return silence.silences_flag(as_of=timezone.now())


@shared_task(name="communications.flag_raid_reviews", acks_late=True)
def flag_raid_reviews() -> int:
    """Periodic: tell owners, once a day, of risks past review and assumptions past validation."""
    return raid.raid_reviews_flag(as_of=timezone.now())


@shared_task(name="communications.recompute_engagement_health", acks_late=True)
def recompute_engagement_health() -> int:
    """Periodic: recompute every engagement's health and its factors."""
    return health.engagements_recompute_health(as_of=timezone.now())


@shared_task(name="communications.refresh_weekly_rollups", acks_late=True)
def refresh_weekly_rollups() -> int:
    """Periodic: recompute this week's and last week's roll-ups of every engagement."""
    return rollups.weekly_rollups_sweep(as_of=timezone.now())


# The name the previous release's beat sent, which ran the overdue sweep and the
# digests together: a copy still waiting on the broker runs both. Goes in the next release.
@shared_task(name="communications.flag_overdue_follow_ups", acks_late=True)
def legacy_flag_overdue_follow_ups() -> int:
    as_of = timezone.now()
    flagged = escalation.follow_ups_sweep_overdue(as_of=as_of)
    escalation.follow_ups_send_overdue_digests(as_of=as_of)
    return flagged
