"""Reminders through a real worker, a real broker and a real SMTP server, when things go wrong.

The worker mails an aiosmtpd server on loopback (tests/smtp_fixtures.py) and
shares the test database, so each test checks what the owner would see (the
messages the server accepted) and what the database recorded.
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
from communications.models import Channel, FollowUp, FollowUpNotice, Occurrence
from communications.notifications import notification_preference_save
from communications.services import follow_ups_flag_overdue
from communications.tasks import (
    dispatch_occurrences,
    reconcile_outbox,
    send_follow_up_notice,
    send_occurrence_reminder,
)
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

# Inside the reminder lead time, and later than the requeue delay, so a requeue still applies.
DUE_IN = dt.timedelta(hours=3)
AFTER_REQUEUE_DELAY = scheduling.REMINDER_REQUEUE_AFTER + dt.timedelta(minutes=1)


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
def reminders_to(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Send the reminders enqueued in this process to a given queue instead of the shared default one."""

    def route(queue: str) -> None:
        monkeypatch.setattr(
            send_occurrence_reminder,
            "delay",
            lambda pk: send_occurrence_reminder.apply_async((pk,), queue=queue),
        )

    return route


def _delivered() -> int:
    return Occurrence.objects.filter(reminder_delivered_at__isnull=False).count()


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
    # And each occurrence records one successful attempt and its delivery
    rows = list(
        Occurrence.objects.order_by("channel_id").values("channel_id", "reminder_attempts", "reminder_error")
    )
    assert rows == [{"channel_id": c.pk, "reminder_attempts": 1, "reminder_error": ""} for c in channels]


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
    reminders_to: Callable[[str], None],
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

    Neither waits in a test: on both, the reconciler's requeue of reminders
    claimed more than REMINDER_REQUEUE_AFTER ago and still undelivered is what
    recovers within it, run here with an ``as_of`` that much later. Should the
    broker hand the old message over first, the new worker sends it and the
    requeue finds nothing: either way, one message.
    """
    # Given a worker that mails the loopback server, and a server that holds every message
    queue = f"test-mail-{uuid.uuid4().hex[:12]}"
    reminders_to(queue)
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
        occurrence = Occurrence.objects.get()
        assert occurrence.reminder_sent_at is not None
        assert occurrence.reminder_delivered_at is None
        assert smtp.messages == []

        # And a new worker starts, and the reconciler's requeue runs past the requeue delay
        replacement = start_mailing_worker(queue=queue, smtp_server=smtp, log_path=tmp_path / "new.log")
        later = occurrence.reminder_sent_at + AFTER_REQUEUE_DELAY
        scheduling.occurrences_requeue_lost_reminders(as_of=later)

        # Then the new worker delivers the reminder, and only once
        wait_until(lambda: _delivered() == 1, what="the reminder delivered by the new worker")
        assert _recipients(smtp) == [channel.owner.email]
        # And a second requeue run sends nothing more
        assert scheduling.occurrences_requeue_lost_reminders(as_of=later) == 0
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
    reminders_to: Callable[[str], None],
    transactional_db: None,
):
    """Redis flushed (or, on the filesystem broker, the queue purged) with reminders waiting in it.

    Every claimed reminder is a row; the reconciler's requeue enqueues again
    those claimed REMINDER_REQUEUE_AFTER ago and still undelivered.
    """
    # Given three reminders claimed and waiting on the broker, where no worker takes them
    channels = _channels_due_soon(3)
    now = timezone.now()
    reminders_to(idle_queue)
    assert scheduling.occurrences_dispatch(as_of=now) == 3
    assert scheduling.occurrences_send_reminders(as_of=now) == 3
    assert queued_messages(idle_queue) == 3

    # When the broker loses them
    _lose_the_broker_contents(idle_queue)
    _redeclare(mailing_worker.queue)
    assert queued_messages(idle_queue) == 0

    # And the reminder sweep and the reconciler's requeue run past the requeue delay, for the worker
    reminders_to(mailing_worker.queue)
    later = now + AFTER_REQUEUE_DELAY
    assert scheduling.occurrences_send_reminders(as_of=later) == 0
    assert scheduling.occurrences_requeue_lost_reminders(as_of=later) == 3

    # Then each reminder is delivered exactly once
    wait_until(lambda: _delivered() == 3, what="three requeued reminders delivered")
    assert _recipients(smtp) == sorted(c.owner.email for c in channels)
    # And a second run past the delay requeues nothing
    assert scheduling.occurrences_requeue_lost_reminders(as_of=later) == 0
    assert len(smtp.messages) == 3


@pytest.fixture
def notices_to(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Send the notices enqueued in this process to a given queue instead of the shared default one."""

    def route(queue: str) -> None:
        monkeypatch.setattr(
            send_follow_up_notice,
            "delay",
            lambda pk: send_follow_up_notice.apply_async((pk,), queue=queue),
        )

    return route


def _follow_ups_long_overdue(count: int, *, as_of: dt.datetime) -> list[FollowUp]:
    """``count`` follow-ups a month overdue at ``as_of``, each on an engagement with a lead of its own.

    The leads take mail at weekends, so the day the test runs never holds their escalation back.
    """
    follow_ups = []
    for n in range(count):
        lead = factories.consultant(email=f"lead{n}-{uuid.uuid4().hex[:6]}@example.com")
        notification_preference_save(user=lead, email_on_weekends=True)
        owner = factories.consultant()
        engagement = factories.make_engagement(lead=lead, members=(owner,))
        follow_ups.append(
            factories.make_follow_up(engagement=engagement, owner_user=owner, title=f"Item {n}")
        )
    FollowUp.objects.filter(pk__in=[f.pk for f in follow_ups]).update(due_at=as_of - dt.timedelta(days=30))
    follow_ups_flag_overdue(as_of=as_of)
    return follow_ups


def _notices_delivered() -> int:
    return FollowUpNotice.objects.filter(delivered_at__isnull=False).count()


def test_notices_lost_with_the_broker_are_each_sent_once_after_the_reconciler_runs(
    mailing_worker: RunningWorker,
    smtp: SmtpServer,
    idle_queue: str,
    notices_to: Callable[[str], None],
    transactional_db: None,
):
    """Redis flushed (or, on the filesystem broker, the queue purged) with escalation mail waiting in it.

    Every notice is a row; the reconciler, on its beat, enqueues again those
    enqueued NOTICE_REQUEUE_AFTER ago and still undelivered.
    """
    # Given three escalations written longer ago than the requeue delay, their mail waiting on the broker
    escalated_at = timezone.now() - escalation.NOTICE_REQUEUE_AFTER - dt.timedelta(minutes=1)
    _follow_ups_long_overdue(3, as_of=escalated_at)
    notices_to(idle_queue)
    assert escalation.follow_ups_escalate(as_of=escalated_at) == 3
    assert queued_messages(idle_queue) == 3
    leads = sorted(FollowUpNotice.objects.values_list("recipient__email", flat=True))

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
    assert "'notices': 3" in outcome
    wait_until(lambda: _notices_delivered() == 3, what="three reconciled notices delivered")
    assert _recipients(smtp) == leads
    # And a second reconciler run enqueues nothing more
    assert escalation.follow_up_notices_reconcile(as_of=timezone.now()) == 0
    assert len(smtp.messages) == 3
