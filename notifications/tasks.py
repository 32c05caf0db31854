from __future__ import annotations

import logging
from smtplib import SMTPException
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from notifications import outbox

logger = logging.getLogger(__name__)

# Backoff of a failing send: 30 s, 60 s, … capped at 10 min, well under a
# quarter of the broker's visibility timeout; at most about 85 minutes in all
# (shorter than outbox.REQUEUE_AFTER, after which the reconciler takes over).
MAIL_MAX_RETRIES = 12
MAIL_BACKOFF_SECONDS: int = settings.OUTBOX_RETRY_BACKOFF_SECONDS
MAIL_BACKOFF_MAX_SECONDS = 600
MAIL_RETRY: dict[str, Any] = {
    "acks_late": True,
    # SMTPException is an OSError; both are named for the reader.
    "autoretry_for": (SMTPException, OSError),
    "retry_backoff": MAIL_BACKOFF_SECONDS,
    "retry_backoff_max": MAIL_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": MAIL_MAX_RETRIES,
}


@shared_task(name=outbox.SEND_TASK, **MAIL_RETRY)
def send_outbox_message(key: str) -> bool:
    """Send the outbound message with this idempotency key; retried with backoff while mail fails."""
    return outbox.outbox_send(key=key)


@shared_task(name=outbox.SEND_BATCH_TASK, acks_late=True)
def send_outbox_messages(keys: list[str]) -> int:
    """Send several outbound messages on one mail connection, each locked, sent and recorded on its own.

    The first one the mail server fails goes on to ``send_outbox_message``
    after the first backoff, whose retries take it from there; the messages
    not yet tried go on at once in a task of their own. A task delivered
    again (its worker died) skips what it had sent. Returns how many were
    sent here.
    """
    sent = 0
    for position, key in enumerate(keys):
        try:
            sent += outbox.outbox_send(key=key)
        except OSError:
            # Counted and recorded on the row by the outbox; the retries are the single task's.
            send_outbox_message.apply_async((key,), countdown=MAIL_BACKOFF_SECONDS)
            rest = keys[position + 1 :]
            if rest:
                send_outbox_messages.delay(rest)
            break
    return sent


@shared_task(name="notifications.reconcile_outbox", acks_late=True)
def reconcile_outbox() -> int:
    """Periodic: enqueue every pending message whose send task is missing or whose quiet hours ended.

    The database holds every pending message; the broker only carries the work.
    """
    return outbox.outbox_reconcile(as_of=timezone.now())


# The names the previous release enqueued. A message already waiting on the
# broker under one of them still leads to its mail; they go in the next release.
@shared_task(name="communications.reconcile_outbox", acks_late=True)
def legacy_reconcile_outbox() -> int:
    return outbox.outbox_reconcile(as_of=timezone.now())


@shared_task(name="communications.send_occurrence_reminder", acks_late=True)
def legacy_send_occurrence_reminder(occurrence_id: int) -> int:
    """A reminder enqueued before the outbox: its row was migrated into the outbox, which sends it."""
    return outbox.outbox_reconcile(as_of=timezone.now())


@shared_task(name="communications.send_follow_up_notice", acks_late=True)
def legacy_send_follow_up_notice(notice_id: int) -> int:
    """A digest or escalation enqueued before the outbox: migrated into it, sent by it."""
    return outbox.outbox_reconcile(as_of=timezone.now())
