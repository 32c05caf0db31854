from __future__ import annotations

import logging
from smtplib import SMTPException

from celery import shared_task
from django.utils import timezone

from communications import escalation, scheduling, services

logger = logging.getLogger(__name__)

# Backoff of a failing reminder: 30 s, 60 s, … capped at 10 min, well under a
# quarter of the broker's visibility timeout; at most about 85 minutes in all.
REMINDER_MAX_RETRIES = 12
REMINDER_BACKOFF_SECONDS = 30
REMINDER_BACKOFF_MAX_SECONDS = 600


@shared_task(name="communications.flag_overdue_follow_ups", acks_late=True)
def flag_overdue_follow_ups() -> int:
    """Periodic: stamp newly overdue follow-ups, digest them to their owners, escalate the late.

    Three idempotent steps on one ``as_of``; a run cut short is finished by
    the next. Returns the number newly flagged, as it did before the digest
    and the ladder were added; their own counts are logged.
    """
    as_of = timezone.now()
    flagged = services.follow_ups_flag_overdue(as_of=as_of)
    digests = escalation.follow_ups_send_overdue_digests(as_of=as_of)
    escalated = escalation.follow_ups_escalate(as_of=as_of)
    logger.info("overdue follow-ups: %s flagged, %s digests, %s escalated", flagged, digests, escalated)
    return flagged


@shared_task(name="communications.dispatch_occurrences", acks_late=True)
def dispatch_occurrences() -> dict[str, int]:
    """Periodic: follow plan changes, create coming occurrences, mark due, remind, mark the missed.

    Each step is its own idempotent service call on one ``as_of``; a run cut
    short is finished by the next.
    """
    as_of = timezone.now()
    return {
        "cancelled": scheduling.occurrences_follow_the_plan(),
        "created": scheduling.occurrences_dispatch(as_of=as_of),
        "due": scheduling.occurrences_mark_due(as_of=as_of),
        "reminded": scheduling.occurrences_send_reminders(as_of=as_of),
        "requeued": scheduling.occurrences_requeue_lost_reminders(as_of=as_of),
        "missed": scheduling.occurrences_mark_missed(as_of=as_of),
    }


@shared_task(
    name="communications.send_occurrence_reminder",
    acks_late=True,
    # SMTPException is an OSError; both are named for the reader.
    autoretry_for=(SMTPException, OSError),
    retry_backoff=REMINDER_BACKOFF_SECONDS,
    retry_backoff_max=REMINDER_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=REMINDER_MAX_RETRIES,
)
def send_occurrence_reminder(occurrence_id: int) -> bool:
    """Mail the owner the reminder of one claimed occurrence; retried while the mail server fails."""
    return scheduling.occurrence_send_reminder(occurrence_id=occurrence_id)


@shared_task(
    name="communications.send_follow_up_notice",
    acks_late=True,
    # SMTPException is an OSError; both are named for the reader.
    autoretry_for=(SMTPException, OSError),
    retry_backoff=REMINDER_BACKOFF_SECONDS,
    retry_backoff_max=REMINDER_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=REMINDER_MAX_RETRIES,
)
def send_follow_up_notice(notice_id: int) -> bool:
    """Mail one overdue digest or escalation; retried with backoff while the mail server fails."""
    return escalation.follow_up_notice_send(notice_id=notice_id)
