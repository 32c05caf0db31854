"""The outbox through a real worker, a real broker and a real SMTP server, when things go wrong.

Reminders, digests and escalations all leave through the one outbox
(``notifications.outbox``). The worker mails an aiosmtpd server on loopback
(tests/smtp_fixtures.py) and shares the test database, so each test checks
what the recipient would see (the messages the server accepted) and what the
outbox recorded.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu import Exchange, Queue

from communications import escalation, scheduling
from communications.models import Channel, FollowUp, Occurrence
from communications.services import follow_ups_flag_overdue
from communications.tasks import dispatch_occurrences
from notifications import outbox
from notifications.models import OutboxMessage
from notifications.services import notification_preference_save
from notifications.tasks import reconcile_outbox, send_outbox_messages
from pmaas.celery import app as celery_app
from tests import factories, smtp_fixtures
from tests.celery_fixtures import RunningWorker, forget_queue, queued_messages, wait_until
from tests.smtp_fixtures import SmtpServer, start_mailing_worker

# The fixtures of tests/smtp_fixtures.py, found by pytest under these names.
smtp_server = smtp_fixtures.smtp_server
smtp = smtp_fixtures.smtp
mailing_worker = smtp_fixtures.mailing_worker

pytestmark = [
    pytest.mark.celery_worker,
    # The same xdist process as tests/test_celery_worker.py, so the broker's test queues stay in one place.
    pytest.mark.xdist_group("celery_worker"),
]

# Inside the reminder lead time, and later than the requeue delay, so a requeued reminder has not expired.
DUE_IN = dt.timedelta(hours=3)
AFTER_REQUEUE_DELAY = outbox.REQUEUE_AFTER + dt.timedelta(minutes=1)


def _channels_due_soon(count: int) -> list[Channel]:
    """``count`` active channels, each with an owner of its own, due within the reminder lead time."""
    channels = []
    for n in range(count):
        owner = factories.consultant(email=f"owner{n}-{uuid.uuid4().hex[:6]}@example.com")
        role = factories.make_role(engagement=factories.make_engagement(lead=owner))
        channels.append(factories.make_channel(role=role, owner=owner, title=f"Channel {n}"))
    due_at = (timezone.now() + DUE_IN).replace(microsecond=0)
    Channel.objects.filter(pk__in=[c.pk for c in channels]).update(next_due_at=due_at)
    return channels


def _dispatch_on(worker: RunningWorker) -> str:
    """Run the dispatcher task on ``worker`` once the enqueueing transaction commits; return its outcome."""
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        transaction.on_commit(partial(dispatch_occurrences.apply_async, queue=worker.queue, task_id=task_id))
    return worker.wait_for_task(task_id)


@pytest.fixture
def mail_to(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Send the outbox messages enqueued in this process to a given queue instead of the shared default one.

    The outbox looks its send task up by name in the current app, the very
    object ``send_outbox_messages`` stands for, so reminders, digests and
    escalations all follow.
    """

    def route(queue: str) -> None:
        monkeypatch.setattr(
            send_outbox_messages,
            "delay",
            lambda *args: send_outbox_messages.apply_async(args, queue=queue),
        )

    return route


def _delivered(kind: str = OutboxMessage.Kind.CHECK_IN_REMINDER) -> int:
    return OutboxMessage.objects.filter(kind=kind, status=OutboxMessage.Status.SENT).count()


def _recipients(smtp: SmtpServer) -> list[str]:
    return sorted(str(message["To"]) for message in smtp.messages)


def test_each_owner_gets_one_reminder_by_smtp_however_often_the_dispatcher_runs(
    mailing_worker: RunningWorker, smtp: SmtpServer, transactional_db: None
):
    # Given three channels, each with its own owner, due within the reminder lead time
    channels = _channels_due_soon(3)
    owners = sorted(c.owner.email for c in channels)

    # When the dispatcher runs on the worker, and every reminder has gone out
    first = _dispatch_on(mailing_worker)
    wait_until(lambda: _delivered() == 3, what="three reminders delivered")
    # And the dispatcher runs again
    second = _dispatch_on(mailing_worker)

    # Then the first run claimed three reminders and the second none
    assert "'reminded': 3" in first
    assert "'reminded': 0" in second
    # And the SMTP server received exactly one message per owner, plain text with an HTML alternative
    assert _recipients(smtp) == owners
    for message in smtp.messages:
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    # And each occurrence's reminder is one outbox message, sent at the first attempt
    reminders = {
        m.idempotency_key: m for m in OutboxMessage.objects.filter(kind=OutboxMessage.Kind.CHECK_IN_REMINDER)
    }
    rows = [
        (occurrence.channel_id, reminders[scheduling.reminder_key(occurrence.pk)])
        for occurrence in Occurrence.objects.order_by("channel_id")
    ]
    assert [(channel_id, m.status, m.attempts, m.last_error) for channel_id, m in rows] == [
        (c.pk, OutboxMessage.Status.SENT, 1, "") for c in channels
    ]
    assert len(reminders) == 3


def test_two_dispatchers_at_once_create_one_occurrence_and_one_reminder_per_channel(
    mailing_worker: RunningWorker, smtp: SmtpServer, transactional_db: None, tmp_path: Any
):
    # Given two channels due within the reminder lead time, and a second worker on the same queue
    channels = _channels_due_soon(2)
    second_worker = start_mailing_worker(
        queue=mailing_worker.queue, smtp_server=smtp, log_path=tmp_path / "second.log"
    )
    try:
        # When beat fires the dispatcher twice: both published in one commit, so the two workers take one each
        task_ids = [str(uuid.uuid4()), str(uuid.uuid4())]
        with transaction.atomic():
            for task_id in task_ids:
                transaction.on_commit(
                    partial(dispatch_occurrences.apply_async, queue=mailing_worker.queue, task_id=task_id)
                )
        outcomes = [_outcome_on_either(task_id, mailing_worker, second_worker) for task_id in task_ids]
        wait_until(lambda: _delivered() == 2, what="two reminders delivered")
    finally:
        second_worker.stop()

    # Then between them the two runs created one occurrence and claimed one reminder per channel
    assert sum(o["created"] for o in outcomes) == 2
    assert sum(o["reminded"] for o in outcomes) == 2
    assert sorted(Occurrence.objects.values_list("channel_id", flat=True)) == sorted(c.pk for c in channels)
    assert OutboxMessage.objects.count() == 2
    # And each owner received exactly one message
    assert _recipients(smtp) == sorted(c.owner.email for c in channels)


def _outcome_on_either(task_id: str, *workers: RunningWorker) -> dict[str, int]:
    """The dispatcher's return value, from the log of whichever worker ran ``task_id``."""
    pattern = re.compile(rf"\[{re.escape(task_id)}\] succeeded in [\d.]+s: (?P<value>.*)$", re.M)

    def found() -> re.Match[str] | None:
        for worker in workers:
            worker.check_alive()
            if match := pattern.search(worker.log()):
                return match
        return None

    match = wait_until(found, what=f"dispatcher {task_id} on either worker")
    value = ast.literal_eval(match.group("value").strip())
    assert isinstance(value, dict)
    return value


def test_a_reminder_cut_short_by_a_killed_worker_is_sent_once_by_the_next_worker(
    smtp: SmtpServer,
    mail_to: Callable[[str], None],
    transactional_db: None,
    tmp_path: Any,
):
    """SIGKILL a worker inside its SMTP send; a new worker delivers the reminder, once.

    The worker runs the solo pool, so the task runs in the worker's main
    process and killing that one process (not its process group, which is
    pytest's own) kills the task mid-send. The message was never acknowledged
    (acks_late, reject_on_worker_lost) and the SMTP server never accepted it.
    What brings it back depends on the broker:

    - Redis keeps the unacknowledged message and redelivers it once the
      visibility timeout (an hour) has passed;
    - the filesystem broker removes a message when a worker reads it, so
      nothing comes back by itself.

    Neither waits in a test: on both, the outbox reconciler, which enqueues
    again pending messages enqueued more than outbox.REQUEUE_AFTER ago, is
    what recovers within it, run here with an ``as_of`` that much later.
    Should the broker hand the old message over first, the new worker sends
    it and the reconciler finds nothing: either way, one message.
    """
    # Given a worker that mails the loopback server, and a server that holds every message
    queue = f"test-mail-{uuid.uuid4().hex[:12]}"
    mail_to(queue)
    smtp.handler.hold()
    killed = start_mailing_worker(queue=queue, smtp_server=smtp, log_path=tmp_path / "killed.log")
    replacement: RunningWorker | None = None
    try:
        [channel] = _channels_due_soon(1)

        # When the dispatcher claims the reminder and the worker is inside the SMTP send
        assert "'reminded': 1" in _dispatch_on(killed)
        wait_until(lambda: smtp.handler.held == 1, what="the worker to be inside the SMTP send")
        # And the worker is killed there
        killed.process.kill()
        killed.process.wait(timeout=15)
        smtp.handler.release()
        message = OutboxMessage.objects.get(
            idempotency_key=scheduling.reminder_key(Occurrence.objects.get().pk)
        )
        assert message.status == OutboxMessage.Status.PENDING
        assert message.enqueued_at is not None
        assert message.sent_at is None
        assert smtp.messages == []

        # And a new worker starts, and the outbox reconciler runs past the requeue delay
        replacement = start_mailing_worker(queue=queue, smtp_server=smtp, log_path=tmp_path / "new.log")
        later = message.enqueued_at + AFTER_REQUEUE_DELAY
        outbox.outbox_reconcile(as_of=later)

        # Then the new worker delivers the reminder, and only once
        wait_until(lambda: _delivered() == 1, what="the reminder delivered by the new worker")
        assert _recipients(smtp) == [channel.owner.email]
        # And a second reconciler run sends nothing more
        assert outbox.outbox_reconcile(as_of=later) == 0
        assert len(smtp.messages) == 1
    finally:
        smtp.handler.release()
        killed.stop()
        if replacement is not None:
            replacement.stop()
        forget_queue(queue)


def _lose_the_broker_contents(queue: str) -> None:
    """Flush the broker's Redis database, or, on another broker, purge the queue."""
    with celery_app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            channel.client.flushdb()
        else:
            Queue(queue, Exchange(queue), routing_key=queue)(channel).purge()


def _redeclare(queue: str) -> None:
    # A worker reconnecting to a flushed Redis declares its queue again; the running one here is told to.
    with celery_app.connection_for_write() as connection:
        Queue(queue, Exchange(queue), routing_key=queue)(connection.default_channel).declare()


def test_reminders_lost_with_the_broker_are_each_sent_once_after_the_requeue_delay(
    mailing_worker: RunningWorker,
    smtp: SmtpServer,
    idle_queue: str,
    mail_to: Callable[[str], None],
    transactional_db: None,
):
    """Redis flushed (or, on the filesystem broker, the queue purged) with reminders waiting in it.

    Every claimed reminder is a pending outbox message; the reconciler enqueues
    again those enqueued outbox.REQUEUE_AFTER ago and still pending.
    """
    # Given three reminders claimed and waiting on the broker, where no worker takes them
    channels = _channels_due_soon(3)
    now = timezone.now()
    mail_to(idle_queue)
    assert scheduling.occurrences_dispatch(as_of=now) == 3
    assert scheduling.occurrences_send_reminders(as_of=now) == 3
    # (one send task carries a sweep's messages, up to outbox.SEND_BATCH_SIZE)
    assert queued_messages(idle_queue) == 1

    # When the broker loses them
    _lose_the_broker_contents(idle_queue)
    _redeclare(mailing_worker.queue)
    assert queued_messages(idle_queue) == 0

    # And the reminder sweep and the outbox reconciler run past the requeue delay, for the worker
    mail_to(mailing_worker.queue)
    later = now + AFTER_REQUEUE_DELAY
    assert scheduling.occurrences_send_reminders(as_of=later) == 0
    assert outbox.outbox_reconcile(as_of=later) == 3

    # Then each reminder is delivered exactly once
    wait_until(lambda: _delivered() == 3, what="three requeued reminders delivered")
    assert _recipients(smtp) == sorted(c.owner.email for c in channels)
    # And a second run past the delay requeues nothing
    assert outbox.outbox_reconcile(as_of=later) == 0
    assert len(smtp.messages) == 3


def _follow_ups_long_overdue(count: int, *, as_of: dt.datetime) -> list[FollowUp]:
    """``count`` follow-ups a month overdue at ``as_of``, each on an engagement with a lead of its own.

    The leads take mail at weekends, so the day the test runs never holds their escalation back,
    and want escalations mailed at once rather than in their daily digest.
    """
    follow_ups = []
    for n in range(count):
        lead = factories.consultant(email=f"lead{n}-{uuid.uuid4().hex[:6]}@example.com")
        notification_preference_save(user=lead, email_on_weekends=True, follow_up_escalated_at_once=True)
        owner = factories.consultant()
        engagement = factories.make_engagement(lead=lead, members=(owner,))
        follow_ups.append(
            factories.make_follow_up(engagement=engagement, owner_user=owner, title=f"Item {n}")
        )
    FollowUp.objects.filter(pk__in=[f.pk for f in follow_ups]).update(due_at=as_of - dt.timedelta(days=30))
    follow_ups_flag_overdue(as_of=as_of)
    return follow_ups


def test_notices_lost_with_the_broker_are_each_sent_once_after_the_reconciler_runs(
    mailing_worker: RunningWorker,
    smtp: SmtpServer,
    idle_queue: str,
    mail_to: Callable[[str], None],
    transactional_db: None,
):
    """Redis flushed (or, on the filesystem broker, the queue purged) with escalation mail waiting in it.

    Every at-once mail of escalations is a pending outbox message, in the same outbox as
    the reminders; the reconciler, on its beat, enqueues again those enqueued
    outbox.REQUEUE_AFTER ago and still pending.
    """
    # Given three escalations written longer ago than the requeue delay, their mail waiting on the broker
    escalated_at = timezone.now() - outbox.REQUEUE_AFTER - dt.timedelta(minutes=1)
    _follow_ups_long_overdue(3, as_of=escalated_at)
    mail_to(idle_queue)
    assert escalation.follow_ups_escalate(as_of=escalated_at) == 3
    assert escalation.events_mail_at_once(as_of=escalated_at) == 3
    assert queued_messages(idle_queue) == 1
    leads = sorted(
        OutboxMessage.objects.filter(kind=OutboxMessage.Kind.AT_ONCE).values_list(
            "recipient__email", flat=True
        )
    )
    assert len(leads) == 3

    # When the broker loses them
    _lose_the_broker_contents(idle_queue)
    _redeclare(mailing_worker.queue)
    assert queued_messages(idle_queue) == 0

    # And the reconciler runs on the worker
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        transaction.on_commit(
            partial(reconcile_outbox.apply_async, queue=mailing_worker.queue, task_id=task_id)
        )
    outcome = mailing_worker.wait_for_task(task_id)

    # Then it enqueued the three, and each lead received exactly one message by SMTP
    assert outcome == "3"
    wait_until(
        lambda: _delivered(OutboxMessage.Kind.AT_ONCE) == 3, what="three reconciled escalations delivered"
    )
    assert _recipients(smtp) == leads
    # And a second reconciler run enqueues nothing more
    assert outbox.outbox_reconcile(as_of=timezone.now()) == 0
    assert len(smtp.messages) == 3
