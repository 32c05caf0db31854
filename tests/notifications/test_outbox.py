"""The one outbox: written with the decision, sent at most once, retried, reconciled, scoped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from smtplib import SMTPDataError
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone

from accounts.models import User
from notifications import outbox
from notifications.models import OutboxMessage
from notifications.outbox import (
    REQUEUE_AFTER,
    OutboundEmail,
    outbox_add,
    outbox_cancel,
    outbox_reconcile,
    outbox_send,
)
from tests import factories, smtp_fixtures
from tests.smtp_fixtures import SmtpServer, free_port

smtp_server = smtp_fixtures.smtp_server
smtp = smtp_fixtures.smtp

pytestmark = pytest.mark.django_db

smtp_server = smtp_fixtures.smtp_server
smtp = smtp_fixtures.smtp

UTC = dt.UTC
AS_OF = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _email(recipient: User, key: str, **fields: Any) -> OutboundEmail:
    values: dict[str, Any] = {
        "kind": OutboxMessage.Kind.ESCALATION,
        "key": key,
        "to": recipient.email,
        "subject": f"About {key}",
        "text": f"Plain words about {key}.",
        "html": f"<p>Words about {key}.</p>",
        "recipient_id": recipient.pk,
    }
    values.update(fields)
    return OutboundEmail(**values)


def _message(**fields: Any) -> OutboxMessage:
    recipient = fields.pop("recipient", None) or factories.consultant()
    values: dict[str, Any] = {
        "kind": OutboxMessage.Kind.ESCALATION,
        "idempotency_key": f"test:{recipient.pk}",
        "recipient": recipient,
        "to_address": recipient.email,
        "subject": "Escalated",
        "body_text": "An item is overdue.",
        "created_at": AS_OF - dt.timedelta(hours=3),
    }
    values.update(fields)
    return OutboxMessage.objects.create(**values)


def test_a_message_handed_over_twice_is_written_and_sent_once(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a decision to mail someone
    recipient = factories.consultant()

    # When the same decision is handed to the outbox twice (a sweep run twice)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_add(emails=[_email(recipient, "decision:1")], as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_add(emails=[_email(recipient, "decision:1")], as_of=AS_OF + dt.timedelta(minutes=1))

    # Then one row, one mail, in text and HTML, with a Message-ID of its own
    assert OutboxMessage.objects.count() == 1
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [recipient.email]
    assert sent.subject == "About decision:1"
    assert isinstance(sent, EmailMultiAlternatives)
    assert "<p>Words about decision:1.</p>" in str(sent.alternatives[0][0])
    assert sent.extra_headers["Message-ID"].startswith("<")
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts, message.created_at) == (OutboxMessage.Status.SENT, 1, AS_OF)


def test_a_resent_message_keeps_its_message_id(eager_tasks: None):
    # Given a message sent once
    message = _message()
    outbox_send(key=message.idempotency_key)
    first = mail.outbox[0].extra_headers["Message-ID"]

    # When a worker killed before recording the send makes it go again
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.PENDING, sent_at=None)
    outbox_send(key=message.idempotency_key)

    # Then the copy carries the same Message-ID, so a mail client shows it as the same message
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [first, first]


def test_a_message_for_quiet_hours_is_held_until_the_reconciler_finds_its_time(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a message that may not go before tomorrow morning
    recipient = factories.consultant()
    morning = AS_OF + dt.timedelta(hours=18)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_add(emails=[_email(recipient, "held", not_before=morning)], as_of=AS_OF)

    # When the reconciler runs in the night, in the morning and again
    with django_capture_on_commit_callbacks(execute=True):
        night = outbox_reconcile(as_of=morning - dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        sent = outbox_reconcile(as_of=morning)
    with django_capture_on_commit_callbacks(execute=True):
        again = outbox_reconcile(as_of=morning + dt.timedelta(minutes=5))

    # Then it goes in the morning only, once
    assert (night, sent, again) == (0, 1, 0)
    assert [m.to for m in mail.outbox] == [[recipient.email]]


def test_a_withdrawn_message_is_never_sent(eager_tasks: None):
    # Given a pending message and a sent one
    pending = _message()
    sent = _message(status=OutboxMessage.Status.SENT, sent_at=AS_OF)

    # When the domain withdraws both, and their send tasks run anyway
    cancelled = outbox_cancel(keys=[pending.idempotency_key, sent.idempotency_key])
    results = [outbox_send(key=pending.idempotency_key), outbox_send(key=sent.idempotency_key)]

    # Then only the pending one was withdrawn, nothing is sent, and the sent one stays sent
    assert cancelled == 1
    assert results == [False, False]
    assert mail.outbox == []
    assert OutboxMessage.objects.get(pk=sent.pk).status == OutboxMessage.Status.SENT


def test_a_replayed_message_is_recorded_sent_at_its_moment_through_the_backend_given() -> None:
    # Given a pending message written a day ago, and a backend that delivers nowhere
    message = _message(created_at=AS_OF - dt.timedelta(days=1))
    nowhere = get_connection("django.core.mail.backends.dummy.EmailBackend")

    # When it is sent as of then, through that backend
    sent = outbox_send(key=message.idempotency_key, as_of=AS_OF - dt.timedelta(days=1), connection=nowhere)

    # Then it is recorded sent at that moment, once, and no mailbox got it
    message.refresh_from_db()
    assert sent is True
    assert message.status == OutboxMessage.Status.SENT
    assert message.sent_at == AS_OF - dt.timedelta(days=1)
    assert message.attempts == 1
    assert mail.outbox == []
    assert outbox_send(key=message.idempotency_key) is False


def test_a_message_without_an_address_fails_with_the_reason_and_is_not_retried(eager_tasks: None):
    # Given a message to someone without an email address
    message = _message(to_address="")

    # When its send task runs, twice
    first, second = outbox_send(key=message.idempotency_key), outbox_send(key=message.idempotency_key)

    # Then it is recorded as failed, with the reason, and nothing is sent
    message.refresh_from_db()
    assert (first, second) == (False, False)
    assert (message.status, message.last_error) == (
        OutboxMessage.Status.FAILED,
        "The recipient has no email address.",
    )
    assert mail.outbox == []


def test_the_reconciler_enqueues_only_messages_whose_task_is_missing_and_never_gives_up(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given messages never enqueued, enqueued long ago, out of retries with an error,
    # enqueued a moment ago, sent, and held until tomorrow
    long_ago = AS_OF - REQUEUE_AFTER - dt.timedelta(minutes=1)
    never = _message()
    lost = _message(enqueued_at=long_ago)
    failed = _message(enqueued_at=long_ago, attempts=13, last_error="SMTPServerDisconnected()")
    _message(enqueued_at=AS_OF - dt.timedelta(minutes=10))
    _message(enqueued_at=long_ago, status=OutboxMessage.Status.SENT, sent_at=long_ago)
    _message(not_before=AS_OF + dt.timedelta(days=1))

    # When two reconcilers run one after the other on the same time
    with django_capture_on_commit_callbacks(execute=True):
        first = outbox_reconcile(as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        second = outbox_reconcile(as_of=AS_OF)

    # Then the three whose task is missing are mailed once each, the failed one included
    assert (first, second) == (3, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.to_address for m in (never, lost, failed))
    assert OutboxMessage.objects.filter(pk__in=[never.pk, lost.pk, failed.pk], enqueued_at=AS_OF).count() == 3


@pytest.mark.parametrize("messages", [3, 30])
def test_the_reconciler_runs_a_fixed_number_of_queries(messages: int, django_assert_num_queries: Any):
    # Given pending messages whose tasks are missing
    for _ in range(messages):
        _message()

    # When the reconciler runs (the send tasks are not run here)
    # Then a savepoint, the locked read, the claim and the release do it
    with django_assert_num_queries(4):
        assert outbox_reconcile(as_of=AS_OF) == messages


def test_a_user_sees_only_the_messages_sent_to_them(world: Any):
    # Given a message to the lead
    message = _message(recipient=world.lead)

    # When each kind of user asks
    seen = {
        name: list(OutboxMessage.objects.visible_to(user))
        for name, user in [
            ("lead", world.lead),
            ("consultant", world.consultant),
            ("administrator", world.administrator),
        ]
    }

    # Then the recipient and administrators see it, nobody else
    assert seen == {"lead": [message], "consultant": [], "administrator": [message]}


def test_only_pending_messages_move_and_every_other_state_is_final() -> None:
    # Given the outbox's declared transitions
    # Then pending may end in any final state, and nothing leaves a final state
    assert set(OutboxMessage.TRANSITIONS[OutboxMessage.Status.PENDING]) == set(OutboxMessage.Status) - {
        OutboxMessage.Status.PENDING
    }
    for final in set(OutboxMessage.Status) - {OutboxMessage.Status.PENDING}:
        assert not OutboxMessage.TRANSITIONS.targets(final)


def test_a_retry_after_the_message_expired_gives_up_instead_of_sending_late(eager_tasks: None):
    # Given a reminder whose first attempt failed, and whose check-in's time has since passed
    message = _message(
        kind=OutboxMessage.Kind.CHECK_IN_REMINDER,
        attempts=1,
        last_error="SMTPServerDisconnected()",
        expires_at=timezone.now() - dt.timedelta(minutes=1),
    )

    # When its retry runs
    sent = outbox_send(key=message.idempotency_key)

    # Then nothing is sent, and the message says it expired
    message.refresh_from_db()
    assert sent is False
    assert mail.outbox == []
    assert message.status == OutboxMessage.Status.EXPIRED


def test_a_callers_headers_travel_beside_the_outboxs_one_message_id(eager_tasks: None):
    # Given a message whose writer set list headers and, in another spelling, a Message-ID of its own
    message = _message(
        headers={"List-Id": "Updates <ehr.updates.example.test>", "Message-Id": "<callers@example.test>"}
    )

    # When it is sent
    outbox_send(key=message.idempotency_key)

    # Then the mail carries the caller's header and exactly one Message-ID, the outbox's own
    mime = mail.outbox[0].message()
    assert mime["List-Id"] == "Updates <ehr.updates.example.test>"
    assert len(mime.get_all("Message-ID")) == 1
    assert mime["Message-ID"] != "<callers@example.test>"
    assert mime["Message-ID"] == mail.outbox[0].extra_headers["Message-ID"]


@pytest.fixture
def smtp_mail(settings: Any, smtp: SmtpServer) -> Iterator[SmtpServer]:
    """Django's SMTP backend pointed at the loopback aiosmtpd server; the kept connection closed after."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    yield smtp
    outbox._connection.drop()


def test_a_worker_sends_one_message_after_another_on_one_smtp_connection(smtp_mail: SmtpServer):
    # Given three pending messages
    keys = [_message(idempotency_key=f"test:connection:{n}").idempotency_key for n in range(3)]

    # When one process sends them one after another
    for key in keys:
        assert outbox_send(key=key) is True

    # Then the server received all three over a single connection
    assert len(smtp_mail.messages) == 3
    assert smtp_mail.handler.greeted == 1


def test_after_a_refused_send_the_retry_opens_a_fresh_connection(smtp_mail: SmtpServer):
    # Given a message sent on a connection the process keeps, and a server that refuses the next one
    first, second = (_message(idempotency_key=f"test:refused:{n}").idempotency_key for n in range(2))
    outbox_send(key=first)
    smtp_mail.handler.refuse_next(1)

    # When the next send is refused, and its retry runs
    with pytest.raises(SMTPDataError):
        outbox_send(key=second)
    assert outbox_send(key=second) is True

    # Then the retry went on a new connection, and the message counts both attempts
    assert smtp_mail.handler.greeted == 2
    assert len(smtp_mail.messages) == 2
    message = OutboxMessage.objects.get(idempotency_key=second)
    assert (message.status, message.attempts, message.last_error) == (OutboxMessage.Status.SENT, 2, "")


def test_a_connection_left_idle_is_not_reused(smtp_mail: SmtpServer, monkeypatch: pytest.MonkeyPatch):
    # Given a process that treats any pause between sends as too long to trust its connection
    monkeypatch.setattr(outbox, "MAIL_CONNECTION_IDLE_SECONDS", -1.0)
    keys = [_message(idempotency_key=f"test:idle:{n}").idempotency_key for n in range(2)]

    # When it sends two messages
    for key in keys:
        outbox_send(key=key)

    # Then each went on a connection of its own
    assert smtp_mail.handler.greeted == 2
    assert len(smtp_mail.messages) == 2


def test_an_address_the_mail_server_refuses_for_good_fails_at_once_with_the_reason_in_words(
    smtp_mail: SmtpServer,
):
    # Given a message to a mailbox the mail server says does not exist (550)
    message = _message(to_address="gone@client.test")
    smtp_mail.handler.refuse("gone@client.test")

    # When its send task runs, and runs again
    first, second = outbox_send(key=message.idempotency_key), outbox_send(key=message.idempotency_key)

    # Then it is failed after one attempt, with no retry (nothing raised), and the reason is readable
    message.refresh_from_db()
    assert (first, second) == (False, False)
    assert (message.status, message.attempts) == (OutboxMessage.Status.FAILED, 1)
    assert message.last_error == (
        "The recipient's mail server refused the address (550 5.1.1 Mailbox unavailable)."
    )
    assert smtp_mail.messages == []


def test_a_mail_server_out_of_reach_leaves_the_message_pending_with_the_reason_in_words(
    settings: Any, smtp: SmtpServer
):
    # Given a message and a mail server on a port where nothing listens
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    message = _message()

    # When its send task runs
    with pytest.raises(OSError):
        outbox_send(key=message.idempotency_key)

    # Then it stays pending for the retries, with a reason a person can read
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxMessage.Status.PENDING, 1)
    assert message.last_error.startswith("The mail server could not be reached (ConnectionRefusedError")
    assert message.last_error.endswith("it is tried again.")
