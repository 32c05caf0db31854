"""The one outbox: every outbound message is a row, written with the decision to send it.

The domain renders a message when it decides to send (``OutboundEmail``) and
hands it to ``outbox_add`` inside that decision's transaction; the row's
unique idempotency key makes the decision count once however often a sweep
runs. From there everything is written here, once, for every kind of
message:

- **claim**: a send task is enqueued after the transaction commits, for
  up to SEND_BATCH_SIZE messages, and ``enqueued_at`` records it; a message
  held by the recipient's quiet hours (``not_before``) waits for the
  reconciler;
- **send**: ``outbox_send`` locks the row, sends it, and records the outcome;
  a sent, cancelled, failed or expired message is never sent again;
- **retry with backoff**: a message whose send fails goes on to a task of its
  own, which retries while the mail server fails
  (``notifications.tasks.MAIL_RETRY``), every attempt counted and its error
  recorded on the row in words (``outbox_error_text``); a recipient's
  address the mail server refuses for good (a 5xx answer) makes the message
  failed at once, as no retry can deliver it;
- **reconcile**: ``outbox_reconcile`` enqueues again what the broker lost,
  what ran out of retries, and what quiet hours held, and expires what is
  too late to matter.

At least once towards the mail server, exactly once in the database: a
worker killed after the server accepted a message and before the row says
so sends it again. Its Message-ID is derived from the idempotency key, so a
mail client shows such a copy as the same message.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications.models import OutboxMessage
from pmaas.locking import claim_in_batches

logger = logging.getLogger(__name__)

# The send tasks, looked up by their registered names: the outbox enqueues them, they call the outbox.
# One message, retried with backoff while the mail server fails:
SEND_TASK = "notifications.send_outbox_message"
# Several messages in one task, each sent and recorded on its own; one that fails goes on to SEND_TASK.
SEND_BATCH_TASK = "notifications.send_outbox_messages"
# A task's own cost (the broker round trips, the worker's bookkeeping, a
# database connection check) was about half of a message's sending time
# when every message had a task. Twenty per task spread a sweep's batch of
# a hundred over the workers and keep a redelivered task short.
SEND_BATCH_SIZE = 20
# Longer than a send task's whole retry chain (about 85 minutes, notifications.tasks),
# so the reconciler never enqueues beside a retry still waiting on the broker.
REQUEUE_AFTER = timedelta(hours=2)
RECONCILE_BATCH_SIZE = 500
# An SMTP error message can be long; the admin shows the gist.
_ERROR_LIMIT = 2000
# A worker keeps its mail server connection this long between sends. Servers
# drop idle clients after a few minutes (RFC 5321 asks them to wait five);
# reopening sooner than that never meets a connection the server has closed.
MAIL_CONNECTION_IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class OutboundEmail:
    """A rendered mail the domain decided to send; ``key`` names that decision, so it is made once."""

    kind: str
    key: str
    to: str
    subject: str
    text: str
    html: str = ""
    recipient_id: int | None = None
    engagement_id: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    about: Mapping[str, Any] = field(default_factory=dict)
    not_before: datetime | None = None
    expires_at: datetime | None = None


def _enqueue(keys: Iterable[str]) -> None:
    task = current_app.tasks[SEND_BATCH_TASK]
    keys = list(keys)
    for start in range(0, len(keys), SEND_BATCH_SIZE):
        transaction.on_commit(partial(task.delay, keys[start : start + SEND_BATCH_SIZE]))


def outbox_add(*, emails: Sequence[OutboundEmail], as_of: datetime) -> int:
    """Write each message whose key is new, and enqueue after commit the ones that may go now.

    Runs in the caller's transaction, so the message exists exactly when the
    decision to send it does. One INSERT … ON CONFLICT DO NOTHING whatever
    the number of messages: a key written before (by an earlier run, or a
    second beat at the same moment) keeps its row, and the send task it may
    get again finds it sent, or sends it once. A message whose
    ``not_before`` lies ahead waits for the reconciler. Idempotent. Returns
    the number of messages handed over.
    """
    if not emails:
        return 0
    rows = []
    sendable = []
    for email in emails:
        goes_now = email.not_before is None or email.not_before <= as_of
        if goes_now:
            sendable.append(email.key)
        rows.append(
            OutboxMessage(
                kind=email.kind,
                idempotency_key=email.key,
                recipient_id=email.recipient_id,
                to_address=email.to,
                engagement_id=email.engagement_id,
                subject=email.subject,
                body_text=email.text,
                body_html=email.html,
                headers=dict(email.headers),
                about=dict(email.about),
                not_before=None if goes_now else email.not_before,
                expires_at=email.expires_at,
                enqueued_at=as_of if goes_now else None,
                created_at=as_of,
            )
        )
    OutboxMessage.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    _enqueue(sendable)
    return len(rows)


def outbox_cancel(*, keys: Iterable[str]) -> int:
    """Withdraw the pending messages with these keys, in one UPDATE; sent ones stay sent.

    For a message whose reason went away before it left (a check-in held
    before its reminder went). Idempotent. Returns how many were cancelled.
    """
    keys = list(keys)
    if not keys:
        return 0
    cancelled = OutboxMessage.Status.CANCELLED
    return OutboxMessage.objects.filter(
        idempotency_key__in=keys, status__in=OutboxMessage.TRANSITIONS.sources(cancelled)
    ).update(status=cancelled)


def _message_id(key: str) -> str:
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"


def _headers(message: OutboxMessage) -> dict[str, str]:
    """The caller's headers and the outbox's own Message-ID, which no caller header replaces.

    Header names are case-insensitive: a caller's "Message-Id" would otherwise
    travel beside ours, and a copy sent again would no longer match the first.
    """
    headers = {name: value for name, value in message.headers.items() if name.lower() != "message-id"}
    headers["Message-ID"] = _message_id(message.idempotency_key)
    return headers


def _email(message: OutboxMessage) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        to=[message.to_address],
        from_email=settings.DEFAULT_FROM_EMAIL,
        headers=_headers(message),
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    return email


class _MailConnection(threading.local):
    """Each worker process's (and thread's) open connection to the mail server, reused between sends.

    Opening one costs a TCP (and often a TLS) handshake and a greeting, more
    than sending a message on it; a worker sending thousands of updates keeps
    one. It is dropped after any failure, when the mail settings change, and
    when it has been idle for MAIL_CONNECTION_IDLE_SECONDS.
    """

    backend: BaseEmailBackend | None = None
    settings_key: tuple[Any, ...] = ()
    used_at: float = 0.0

    def get(self) -> BaseEmailBackend:
        """The open connection, opened now unless an earlier send left a usable one."""
        key = (
            settings.EMAIL_BACKEND,
            getattr(settings, "EMAIL_HOST", ""),
            getattr(settings, "EMAIL_PORT", 0),
        )
        if self.backend is not None and (
            key != self.settings_key or time.monotonic() - self.used_at > MAIL_CONNECTION_IDLE_SECONDS
        ):
            self.drop()
        if self.backend is not None:
            return self.backend
        backend = get_connection(fail_silently=False)
        # Opened here, so send_messages leaves it open for the next message.
        backend.open()
        self.backend, self.settings_key = backend, key
        return backend

    def sent(self) -> None:
        self.used_at = time.monotonic()

    def drop(self) -> None:
        backend, self.backend = self.backend, None
        if backend is not None:
            try:
                backend.close()
            except OSError:
                logger.debug("closing the mail connection failed", exc_info=True)


_connection = _MailConnection()


def _deliver(email: EmailMultiAlternatives, connection: BaseEmailBackend | None = None) -> None:
    """Send on the kept connection. After a failure it is closed, and the retry opens a fresh one.

    A ``connection`` given by the caller is used as it is, and not kept.
    """
    if connection is not None:
        connection.send_messages([email])
        return
    backend = _connection.get()
    try:
        backend.send_messages([email])
    except OSError:
        _connection.drop()
        raise
    _connection.sent()


def _smtp_answer(code: int, text: bytes | str) -> str:
    words = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(words.split())}".strip()


def _refused_for_good(error: OSError) -> bool:
    """The mail server refused every recipient with a permanent (5xx) answer: no retry can deliver it."""
    if not isinstance(error, smtplib.SMTPRecipientsRefused) or not error.recipients:
        return False
    return all(code >= 500 for code, _ in error.recipients.values())


def outbox_error_text(error: OSError) -> str:
    """A failed attempt in words a person on the team understands, with the mail server's own answer.

    Recorded on the row as ``last_error`` and shown as is by the admin and the
    pages that report a message's state.
    """
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = "; ".join(_smtp_answer(code, text) for code, text in error.recipients.values())
        return f"The recipient's mail server refused the address ({answers})."
    if isinstance(error, smtplib.SMTPAuthenticationError):
        answer = _smtp_answer(error.smtp_code, error.smtp_error)
        return f"The site's mail server refused its login ({answer}); it is tried again."
    if isinstance(error, smtplib.SMTPResponseException):
        answer = _smtp_answer(error.smtp_code, error.smtp_error)
        return f"The mail server did not accept the message ({answer}); it is tried again."
    return f"The mail server could not be reached ({type(error).__name__}: {error}); it is tried again."


def outbox_send(
    *, key: str, as_of: datetime | None = None, connection: BaseEmailBackend | None = None
) -> bool:
    """Send one pending message; called by the send task, which retries while the mail server fails.

    The row is locked while sending, so two deliveries of the same task send
    it once; anything but a pending message is skipped. When a message may
    first go is decided by whoever enqueues it (``outbox_add`` and
    ``outbox_reconcile``, each at its ``as_of``); a retry past the message's
    ``expires_at`` makes it expired instead of sending it late. One without
    an address becomes failed and is not sent, and so does one whose address
    the mail server refuses for good (5xx for every recipient). Each
    attempt is counted; a failure's error is recorded on the row in words
    (``outbox_error_text``) before it is raised for the task to retry.
    ``as_of`` (now by default) is the time recorded; ``connection`` is the
    mail backend (``EMAIL_URL``'s, kept open between sends, by default): a
    history replayed by the demo is sent at its own moments to a backend
    that delivers nowhere. Returns whether it was sent now.
    """
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(idempotency_key=key).first()
        if message is None or not OutboxMessage.TRANSITIONS.can_move(
            message.status, OutboxMessage.Status.SENT
        ):
            return False
        now = as_of or timezone.now()
        # The first attempt goes as its enqueuer decided; a retry that outlived the
        # message's use (a reminder after its check-in's time) gives up instead.
        if message.attempts and message.expires_at is not None and message.expires_at <= now:
            OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.EXPIRED)
            return False
        if not message.to_address:
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=OutboxMessage.Status.FAILED, last_error="The recipient has no email address."
            )
            logger.warning("outbox message %s: the recipient has no email address", key)
            return False
        try:
            _deliver(_email(message), connection)
        except OSError as exc:
            failed = exc
        else:
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=OutboxMessage.Status.SENT,
                sent_at=now,
                attempts=F("attempts") + 1,
                last_attempt_at=now,
                last_error="",
            )
            return True
    error = outbox_error_text(failed)[:_ERROR_LIMIT]
    if _refused_for_good(failed):
        OutboxMessage.objects.filter(idempotency_key=key, status=OutboxMessage.Status.PENDING).update(
            status=OutboxMessage.Status.FAILED,
            attempts=F("attempts") + 1,
            last_attempt_at=as_of or timezone.now(),
            last_error=error,
        )
        logger.warning("outbox message %s: refused for good: %r", key, failed)
        return False
    # Recorded after the lock is released and not rolled back by the raise, so the admin sees it.
    OutboxMessage.objects.filter(idempotency_key=key).update(
        attempts=F("attempts") + 1, last_attempt_at=as_of or timezone.now(), last_error=error
    )
    logger.warning("outbox message %s: sending failed: %r", key, failed)
    raise failed


def outbox_reconcile(*, as_of: datetime, batch_size: int = RECONCILE_BATCH_SIZE) -> int:
    """Enqueue each pending message whose time has come and whose send task is missing; expire the late.

    Missing means never enqueued (held by quiet hours until ``not_before``)
    or enqueued longer ago than REQUEUE_AFTER (the broker lost the task, or
    its retries ran out while the mail server was down). Nothing is given up:
    a message that keeps failing stays pending with its last error and is
    tried again at this slow pace, until it goes or its ``expires_at``
    passes, when it becomes expired instead. Each batch is locked (SKIP
    LOCKED on PostgreSQL), claimed by one UPDATE of ``enqueued_at`` and
    enqueued on commit, so two reconcilers at once enqueue each message
    once. Four queries per batch. Returns the number enqueued.
    """
    due = Q(not_before__isnull=True) | Q(not_before__lte=as_of)
    missing = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=as_of - REQUEUE_AFTER)
    candidates = OutboxMessage.objects.pending().filter(due, missing)

    def claim(batch: list[tuple[int, str, datetime | None]]) -> int:
        # Locked by this transaction (on SQLite the whole database is), so every row is still missing.
        late = {pk for pk, _, expires_at in batch if expires_at is not None and expires_at <= as_of}
        fresh = [(pk, key) for pk, key, _ in batch if pk not in late]
        if late:
            OutboxMessage.objects.filter(pk__in=late).update(status=OutboxMessage.Status.EXPIRED)
        if fresh:
            OutboxMessage.objects.filter(pk__in=[pk for pk, _ in fresh]).update(enqueued_at=as_of)
            _enqueue(key for _, key in fresh)
        return len(fresh)

    return claim_in_batches(
        candidates.values_list("pk", "idempotency_key", "expires_at"), batch_size=batch_size, claim=claim
    )
