"""The outbox tasks, run in-process: sending with retries, the reconciler, the names kept from before."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any, cast

import pytest
from django.core import mail
from django.utils import timezone
from pytest_django.fixtures import Settings
from time_machine import TimeMachineFixture

from communications import scheduling
from communications.models import Channel, Occurrence
from communications.tasks import dispatch_occurrences
from notifications import outbox
from notifications.models import OutboxMessage
from notifications.outbox import OutboundEmail, outbox_add
from notifications.tasks import (
    MAIL_BACKOFF_MAX_SECONDS,
    MAIL_BACKOFF_SECONDS,
    MAIL_MAX_RETRIES,
    reconcile_outbox,
    send_outbox_message,
    send_outbox_messages,
)
from pmaas.celery import app as celery_app
from tests import factories
from tests.flaky_mail import FlakyBackend

pytestmark = pytest.mark.django_db

UTC = dt.UTC
AS_OF = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
Kind = OutboxMessage.Kind
Status = OutboxMessage.Status


def _pending(*, kind: str = Kind.CHECK_IN_REMINDER) -> OutboxMessage:
    """A message the outbox wrote as a sweep does; its send task, enqueued on commit, never runs here."""
    recipient = factories.consultant()
    key = f"{kind}:test:{uuid.uuid4().hex}"
    outbox_add(
        emails=[
            OutboundEmail(
                kind=kind,
                key=key,
                to=recipient.email,
                subject="Reminder: Weekly one-to-one with Dr Anna Weber",
                text="Weekly one-to-one with Dr Anna Weber is due in three hours.",
                html="<p>Weekly one-to-one with Dr Anna Weber is due in three hours.</p>",
                recipient_id=recipient.pk,
                # Retries run on the worker's clock: the check-in lies three hours after that.
                expires_at=timezone.now() + dt.timedelta(hours=3),
            )
        ],
        as_of=AS_OF,
    )
    return OutboxMessage.objects.get(idempotency_key=key)


def _send(message: OutboxMessage) -> Any:
    """Run the send task for ``message`` in-process, as a worker would, retries included."""
    return send_outbox_message.apply(args=(message.idempotency_key,))


def _migrated(*, kind: str, key: str, expires_at: dt.datetime | None = None) -> OutboxMessage:
    """A pending message as the migration from the previous release wrote it: never enqueued by the outbox."""
    recipient = factories.consultant()
    return OutboxMessage.objects.create(
        kind=kind,
        idempotency_key=key,
        recipient=recipient,
        to_address=recipient.email,
        subject=f"Migrated {kind}",
        body_text=f"A {kind} written before the outbox.\n",
        expires_at=expires_at,
        created_at=AS_OF - dt.timedelta(minutes=5),
    )


def test_the_send_task_retries_until_the_mail_server_accepts(flaky_mail: type[FlakyBackend]):
    # Given a pending reminder and a mail server that refuses twice
    message = _pending()
    flaky_mail.fail_next(2)

    # When the send task runs
    result = _send(message)

    # Then it retried, the third attempt delivered one mail and the row says so
    assert result.successful()
    assert flaky_mail.refused == 2
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.attempts == 3
    assert message.last_error == ""
    assert message.status == Status.SENT
    assert message.sent_at is not None


def test_the_send_task_gives_up_after_its_retries_with_the_error_recorded(flaky_mail: type[FlakyBackend]):
    # Given a pending reminder and a mail server that never accepts
    message = _pending()
    flaky_mail.fail_next(10_000)

    # When the send task runs out of retries
    result = _send(message)

    # Then it failed loudly, every attempt and the last error are on the row for the admin
    assert result.failed()
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.attempts == MAIL_MAX_RETRIES + 1
    assert "SMTPServerDisconnected" in message.last_error
    assert message.sent_at is None
    # And the message stays pending, for the reconciler to try again
    assert message.status == Status.PENDING


def test_a_sent_message_is_not_sent_again_by_a_redelivered_task(flaky_mail: type[FlakyBackend]):
    # Given a message the task has sent
    message = _pending()
    _send(message)

    # When the broker hands the same task out again
    result = _send(message)

    # Then it sends nothing more
    assert result.get() is False
    assert len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.attempts == 1


def test_one_task_sends_several_messages_each_once_and_a_redelivered_task_sends_none_again(
    flaky_mail: type[FlakyBackend],
):
    # Given three pending reminders
    messages = [_pending() for _ in range(3)]
    keys = [m.idempotency_key for m in messages]

    # When one batch task sends them, and the broker hands the same task out again
    first = send_outbox_messages.apply(args=(keys,))
    again = send_outbox_messages.apply(args=(keys,))

    # Then each reached the mail server once, recorded sent at the first attempt
    assert (first.get(), again.get()) == (3, 0)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.to_address for m in messages)
    rows = OutboxMessage.objects.filter(idempotency_key__in=keys)
    assert {(m.status, m.attempts) for m in rows} == {(Status.SENT, 1)}


def test_a_message_the_mail_server_refuses_in_a_batch_is_retried_alone_and_the_rest_still_go(
    flaky_mail: type[FlakyBackend], eager_tasks: None
):
    # Given three pending reminders and a mail server that refuses the next attempt
    messages = [_pending() for _ in range(3)]
    keys = [m.idempotency_key for m in messages]
    flaky_mail.fail_next(1)

    # When one batch task sends them
    send_outbox_messages.apply(args=(keys,))

    # Then the refused one went at its retry and the others at their first attempt, each exactly once
    assert flaky_mail.refused == 1
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.to_address for m in messages)
    rows = {m.idempotency_key: m for m in OutboxMessage.objects.filter(idempotency_key__in=keys)}
    assert [rows[key].attempts for key in keys] == [2, 1, 1]
    assert {rows[key].status for key in keys} == {Status.SENT}


def test_the_outbox_enqueues_one_send_task_per_twenty_messages(django_capture_on_commit_callbacks: Any):
    # Given a sweep's batch of 45 messages
    recipient = factories.consultant()
    emails = [
        OutboundEmail(kind=Kind.CHECK_IN_REMINDER, key=f"b:{n}", to=recipient.email, subject="Due", text="-")
        for n in range(45)
    ]

    # When the outbox writes them
    with django_capture_on_commit_callbacks() as callbacks:
        outbox_add(emails=emails, as_of=AS_OF)

    # Then three send tasks go to the broker on commit, carrying every message once
    carried = [callback.args[0] for callback in callbacks]
    assert [len(keys) for keys in carried] == [20, 20, 5]
    assert sorted(key for keys in carried for key in keys) == sorted(e.key for e in emails)


def test_send_retries_never_wait_longer_than_a_quarter_of_the_visibility_timeout():
    # Given the send task's backoff cap and the Redis default visibility timeout
    visibility_timeout = 3600

    # When the longest countdown is compared with it
    # Then a retry is never published further ahead than a quarter of it
    assert cast(Any, send_outbox_message).retry_backoff_max == MAIL_BACKOFF_MAX_SECONDS
    assert visibility_timeout / 4 >= MAIL_BACKOFF_MAX_SECONDS


def test_a_message_is_requeued_only_after_its_whole_retry_chain_could_have_ended():
    # Given the send task's backoff: doubling from its base, capped, for every retry
    task = cast(Any, send_outbox_message)
    assert (task.retry_backoff, task.max_retries) == (MAIL_BACKOFF_SECONDS, MAIL_MAX_RETRIES)
    longest_chain = sum(
        min(MAIL_BACKOFF_SECONDS * 2**attempt, MAIL_BACKOFF_MAX_SECONDS)
        for attempt in range(MAIL_MAX_RETRIES)
    )

    # When it is compared with the age at which the reconciler enqueues a pending message again
    # Then the requeue never overlaps a retry still waiting
    assert dt.timedelta(seconds=longest_chain) < outbox.REQUEUE_AFTER


def test_the_dispatcher_leaves_lost_mail_to_the_reconciler(
    time_machine: TimeMachineFixture, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a reminder claimed three hours ago whose send task was lost
    time_machine.move_to(AS_OF, tick=False)
    due_at = AS_OF + dt.timedelta(hours=3)
    lead = factories.consultant()
    role = factories.make_role(engagement=factories.make_engagement(lead=lead))
    channel = factories.make_channel(role=role, owner=lead)
    Channel.objects.filter(pk=channel.pk).update(next_due_at=due_at)
    Occurrence.objects.create(channel=channel, due_at=due_at)
    assert scheduling.occurrences_send_reminders(as_of=AS_OF - dt.timedelta(hours=3)) == 1
    # And an escalation never enqueued
    _migrated(kind=Kind.ESCALATION, key="escalation:user:1:follow_up:1:level:1")

    # When the dispatcher runs, then the reconciler
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_occurrences.apply()
    sent_by_dispatcher = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        enqueued = reconcile_outbox.apply().get()

    # Then only the reconciler sent them, each once
    assert sent_by_dispatcher == 0
    assert enqueued == 2
    assert len(mail.outbox) == 2
    assert Counter(OutboxMessage.objects.filter(status=Status.SENT).values_list("kind", flat=True)) == {
        Kind.CHECK_IN_REMINDER: 1,
        Kind.ESCALATION: 1,
    }
    assert OutboxMessage.objects.pending().count() == 0


def test_the_beat_schedule_runs_the_reconciler_with_an_expiry_under_its_interval(settings: Settings):
    # Given the settings' beat schedule
    entry = settings.CELERY_BEAT_SCHEDULE["reconcile-outbox"]

    # When its interval and expiry are compared
    # Then it runs the named task and expires before the next run
    assert entry["task"] == "notifications.reconcile_outbox"
    assert entry["schedule"] == settings.OUTBOX_RECONCILE_SECONDS
    assert 0 < entry["options"]["expires"] < entry["schedule"]
    assert entry["task"] in celery_app.tasks


@pytest.mark.parametrize(
    ("name", "kind", "args", "key"),
    [
        pytest.param(
            "communications.reconcile_outbox",
            Kind.ESCALATION,
            (),
            "escalation:user:7:follow_up:3:level:1",
            id="reconcile_outbox",
        ),
        # The previous release's send tasks took an occurrence's or a notice's id.
        pytest.param(
            "communications.send_occurrence_reminder",
            Kind.CHECK_IN_REMINDER,
            (41,),
            scheduling.reminder_key(41),
            id="send_occurrence_reminder",
        ),
        pytest.param(
            "communications.send_follow_up_notice",
            Kind.OVERDUE_DIGEST,
            (9,),
            "overdue_digest:user:7:2026-03-10",
            id="send_follow_up_notice",
        ),
    ],
)
def test_a_legacy_task_name_still_leads_to_its_migrated_mail_being_sent_once(
    name: str,
    kind: str,
    args: tuple[int, ...],
    key: str,
    time_machine: TimeMachineFixture,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
):
    # Given a message migrated from the previous release, pending and never enqueued by the outbox
    time_machine.move_to(AS_OF, tick=False)
    message = _migrated(kind=kind, key=key, expires_at=AS_OF + dt.timedelta(hours=3))
    # And a copy of a task under the previous release's name, left on the broker
    assert name in celery_app.tasks
    task = celery_app.tasks[name]

    # When the worker runs it, and the broker hands it out again
    with django_capture_on_commit_callbacks(execute=True):
        first = task.apply(args=args).get()
    with django_capture_on_commit_callbacks(execute=True):
        again = task.apply(args=args).get()

    # Then the message was mailed exactly once, and the outbox records it
    assert (first, again) == (1, 0)
    assert [(m.to, m.subject) for m in mail.outbox] == [([message.to_address], message.subject)]
    message.refresh_from_db()
    assert (message.status, message.attempts, message.enqueued_at) == (Status.SENT, 1, AS_OF)
