from __future__ import annotations

import logging
from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from communications import escalation, scheduling, services, silence

logger = logging.getLogger(__name__)

# Backoff of a failing reminder: 30 s, 60 s, … capped at 10 min, well under a
# quarter of the broker's visibility timeout; at most about 85 minutes in all.
REMINDER_MAX_RETRIES = 12
REMINDER_BACKOFF_SECONDS = 30
REMINDER_BACKOFF_MAX_SECONDS = 600
# How every mail-sending task retries while the mail server fails.
MAIL_RETRY: dict[str, Any] = {
    "acks_late": True,
    # SMTPException is an OSError; both are named for the reader.
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": REMINDER_BACKOFF_SECONDS,
    "retry_backoff_max": REMINDER_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": REMINDER_MAX_RETRIES,
}


@shared_task(name="communications.flag_overdue_follow_ups", acks_late=True)
def flag_overdue_follow_ups() -> int:
    """Periodic: flag newly overdue follow-ups, tell their owners, write due digests, escalate the late.

    Idempotent steps on one ``as_of``; a run cut short is finished by the
    next. Flagging and telling the owners share one transaction, since the
    owners are told of the items stamped with this very ``as_of``. Returns
    the number newly flagged, as it did before the digest and the ladder
    were added; the other counts are logged.
    """
    as_of = timezone.now()
    with transaction.atomic():
        flagged = services.follow_ups_flag_overdue(as_of=as_of)
        told = escalation.follow_ups_notify_overdue(as_of=as_of)
    digests = escalation.follow_ups_send_overdue_digests(as_of=as_of)
    escalated = escalation.follow_ups_escalate(as_of=as_of)
    logger.info(
        "overdue follow-ups: %s flagged, %s told, %s digests, %s escalated", flagged, told, digests, escalated
    )
    return flagged


@shared_task(name="communications.dispatch_occurrences", acks_late=True)
def dispatch_occurrences() -> dict[str, int]:
    """Periodic: follow plan changes, create coming occurrences, mark due, remind, mark the missed.

    Each step is its own idempotent service call on one ``as_of``; a run cut
    short is finished by the next. Lost reminder mail is requeued by
    ``reconcile_outbox``, not here.
    """
    as_of = timezone.now()
    return {
        "cancelled": scheduling.occurrences_follow_the_plan(),
        "created": scheduling.occurrences_dispatch(as_of=as_of),
        "due": scheduling.occurrences_mark_due(as_of=as_of),
        "reminded": scheduling.occurrences_send_reminders(as_of=as_of),
        "missed": scheduling.occurrences_mark_missed(as_of=as_of),
        "silent": silence.silences_flag(as_of=as_of),
    }


@shared_task(name="communications.send_occurrence_reminder", **MAIL_RETRY)
def send_occurrence_reminder(occurrence_id: int) -> bool:
    """Mail the owner the reminder of one claimed occurrence; retried while the mail server fails."""
    return scheduling.occurrence_send_reminder(occurrence_id=occurrence_id)


@shared_task(name="communications.send_follow_up_notice", **MAIL_RETRY)
def send_follow_up_notice(notice_id: int) -> bool:
    """Mail one overdue digest or escalation; retried with backoff while the mail server fails."""
    return escalation.follow_up_notice_send(notice_id=notice_id)


@shared_task(name="communications.reconcile_outbox", acks_late=True)
def reconcile_outbox() -> dict[str, int]:
    """Periodic: enqueue again every pending mail whose send task is missing or whose time has come.

    The database holds every pending mail (claimed reminders, undelivered
    notices); the broker only carries the work. Idempotent: each re-enqueue
    is claimed by a conditional UPDATE.
    """
    as_of = timezone.now()
    return {
        "reminders": scheduling.occurrences_requeue_lost_reminders(as_of=as_of),
        "notices": escalation.follow_up_notices_reconcile(as_of=as_of),
    }
