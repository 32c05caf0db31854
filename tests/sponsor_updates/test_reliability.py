"""Sponsor updates through real workers, a real broker and a real SMTP server, when things go wrong.

The sweep (``sponsor_updates.send_sponsor_updates``) runs on a Celery
worker as beat would send it; the worker hands each update to the outbox,
sends it to an aiosmtpd server on loopback (tests/smtp_fixtures.py) and
shares the test database. Each test counts what recipients would see (the
messages the server accepted, parsed with the ``email`` package) and what the
database recorded: one message per subscription and period, whatever fails.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import parseaddr
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu import Exchange, Queue

from communications.models import Delivery, SponsorSubscription
from notifications import outbox
from notifications.models import OutboxMessage
from notifications.tasks import send_outbox_messages
from pmaas.celery import app as celery_app
from sponsor_updates import services
from sponsor_updates.tasks import send_sponsor_updates
from tests import factories, smtp_fixtures
from tests.celery_fixtures import RunningWorker, forget_queue, wait_until
from tests.smtp_fixtures import SmtpServer, start_mailing_worker

smtp_server = smtp_fixtures.smtp_server
smtp = smtp_fixtures.smtp

pytestmark = [
    pytest.mark.celery_worker,
    # The same xdist process as the other real-worker tests, so the broker's test queues stay in one place.
    pytest.mark.xdist_group("celery_worker"),
]

# A retry chain of one or two seconds per attempt (fast_retry), and the workers' start, fit well inside.
DELIVERY_DEADLINE = 60.0
AFTER_REQUEUE_DELAY = outbox.REQUEUE_AFTER + dt.timedelta(minutes=1)
ZONES = ("Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin")


def _sponsors_due(count: int) -> list[SponsorSubscription]:
    """``count`` sponsors of one engagement, each in a zone of their own, whose weekly update is due now.

    Subscribed as of eight days ago, so each one's Monday 08:00 in their own zone has passed.
    """
    engagement = factories.make_engagement(lead=factories.consultant())
    for n in range(count):
        stakeholder = factories.make_stakeholder(
            client=engagement.client,
            name=f"Sponsor {n}",
            email=f"sponsor{n}-{uuid.uuid4().hex[:6]}@client.test",
            time_zone=ZONES[n % len(ZONES)],
        )
        factories.make_role(engagement=engagement, stakeholder=stakeholder, kind="sponsor")
    services.subscriptions_ensure_for_sponsors(as_of=timezone.now() - dt.timedelta(days=8))
    subscriptions = list(
        SponsorSubscription.objects.filter(engagement=engagement).select_related("stakeholder").order_by("pk")
    )
    assert len(subscriptions) == count
    assert all(s.next_send_at is not None and s.next_send_at <= timezone.now() for s in subscriptions)
    return subscriptions


def _publish_sweeps(queue: str, count: int) -> list[str]:
    """Publish the sweep ``count`` times in one commit, as two beats firing at once would; return task ids."""
    task_ids = [str(uuid.uuid4()) for _ in range(count)]
    with transaction.atomic():
        for task_id in task_ids:
            transaction.on_commit(partial(send_sponsor_updates.apply_async, queue=queue, task_id=task_id))
    return task_ids


def _outcome_on_any(task_id: str, *workers: RunningWorker) -> int:
    """The sweep's return value, from the log of whichever worker ran ``task_id``."""
    pattern = re.compile(rf"\[{re.escape(task_id)}\] succeeded in [\d.]+s: (?P<value>\d+)$", re.M)

    def found() -> re.Match[str] | None:
        for worker in workers:
            worker.check_alive()
            if match := pattern.search(worker.log()):
                return match
        return None

    return int(wait_until(found, what=f"sweep {task_id} on a worker").group("value"))


def _sent() -> int:
    return OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.SPONSOR_UPDATE, status=OutboxMessage.Status.SENT
    ).count()


def _addresses(smtp: SmtpServer) -> list[str]:
    return sorted(parseaddr(str(message["To"]))[1] for message in smtp.messages)


def _one_delivery_each(subscriptions: list[SponsorSubscription]) -> dict[int, Delivery]:
    """Each subscription's single delivery, for the period its local send time named."""
    deliveries = {d.subscription_id: d for d in Delivery.objects.select_related("outbox_message")}
    assert Delivery.objects.count() == len(subscriptions) == len(deliveries)
    for subscription in subscriptions:
        delivery = deliveries[subscription.pk]
        assert subscription.next_send_at is not None
        local_day = subscription.next_send_at.astimezone(ZoneInfo(subscription.time_zone)).date()
        assert (delivery.period_end, delivery.scheduled_for) == (local_day, subscription.next_send_at)
        assert delivery.outbox_message is not None
        assert delivery.outbox_message.idempotency_key == services.delivery_key(
            subscription.pk, local_day.isoformat()
        )
    return deliveries


def _check_message(message: EmailMessage, delivery: Delivery) -> None:
    """Both parts, and the headers that make the copy the outbox's one message for this period."""
    assert delivery.outbox_message is not None
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert str(message["Message-ID"]) == outbox._message_id(delivery.outbox_message.idempotency_key)
    # A folded, encoded subject comes back with the space it was folded at.
    assert str(message["Subject"]).strip() == delivery.outbox_message.subject
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.fixture
def mail_to(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Send the outbox messages enqueued in this process to a given queue, not the shared default one."""

    def route(queue: str) -> None:
        monkeypatch.setattr(
            send_outbox_messages, "delay", lambda *args: send_outbox_messages.apply_async(args, queue=queue)
        )

    return route


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"test-updates-{uuid.uuid4().hex[:12]}"
    yield name
    forget_queue(name)


def test_two_beats_on_two_workers_send_each_sponsor_one_update_by_smtp(
    smtp: SmtpServer, queue: str, transactional_db: None, tmp_path: Any
):
    # Given three sponsors in Tokyo, Los Angeles and Berlin whose update is due, and two workers on one queue
    subscriptions = _sponsors_due(3)
    workers = [
        start_mailing_worker(queue=queue, smtp_server=smtp, log_path=tmp_path / f"worker{n}.log")
        for n in range(2)
    ]
    try:
        # When two beats send the sweep at the same moment, and every update has gone out
        task_ids = _publish_sweeps(queue, 2)
        outcomes = [_outcome_on_any(task_id, *workers) for task_id in task_ids]
        wait_until(lambda: _sent() == 3, deadline=DELIVERY_DEADLINE, what="three updates sent")
        # And a third sweep runs later
        [third] = _publish_sweeps(queue, 1)
        later = _outcome_on_any(third, *workers)
    finally:
        for worker in workers:
            worker.stop()

    # Then between them the two sweeps wrote three updates, and the third none
    assert (sum(outcomes), later) == (3, 0)
    # And one delivery per subscription and period, each with its own outbox message, sent at the first try
    deliveries = _one_delivery_each(subscriptions)
    sent = [d.outbox_message for d in deliveries.values() if d.outbox_message is not None]
    assert [(m.status, m.attempts) for m in sent] == [("sent", 1)] * 3
    # And the SMTP server received exactly one message per sponsor, with both parts and its outbox headers
    assert _addresses(smtp) == sorted(s.stakeholder.email for s in subscriptions)
    by_address = {parseaddr(str(m["To"]))[1]: m for m in smtp.messages}
    for subscription in subscriptions:
        _check_message(by_address[subscription.stakeholder.email], deliveries[subscription.pk])


def _lose_the_broker_contents(queue: str) -> None:
    """Flush the broker's Redis database, or, on another broker, purge the queue."""
    with celery_app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            channel.client.flushdb()
        else:
            Queue(queue, Exchange(queue), routing_key=queue)(channel).purge()


def test_a_killed_worker_a_lost_broker_and_a_refusing_server_still_send_each_update_once(
    smtp: SmtpServer, queue: str, mail_to: Callable[[str], None], transactional_db: None, tmp_path: Any
):
    """Everything at once: the worker dies after the update was rendered and before it is marked sent,
    the broker loses what it held, and the mail server refuses the next two attempts.

    The worker runs the solo pool, so killing its one process kills the send
    inside SMTP's DATA (the server holds it, then refuses it: never
    delivered). Nothing on the broker survives the flush; the outbox's
    reconciler, run past its requeue delay, enqueues the pending updates
    again, and the send task retries the refused attempts with backoff.
    """
    # Given two sponsors whose update is due, a worker, and a server that holds every message
    subscriptions = _sponsors_due(2)
    smtp.handler.hold()
    killed = start_mailing_worker(queue=queue, smtp_server=smtp, log_path=tmp_path / "killed.log")
    replacement: RunningWorker | None = None
    try:
        # When beat's sweep renders both updates on the worker and it is inside the first SMTP send
        [sweep] = _publish_sweeps(queue, 1)
        assert _outcome_on_any(sweep, killed) == 2
        wait_until(lambda: smtp.handler.held == 1, what="the worker to be inside the SMTP send")
        # And the worker is SIGKILLed there, and the broker loses everything it held
        killed.process.kill()
        killed.process.wait(timeout=15)
        smtp.handler.release()
        _lose_the_broker_contents(queue)
        messages = list(OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE))
        assert [(m.status, m.sent_at) for m in messages] == [("pending", None)] * 2
        assert smtp.messages == []

        # And the mail server refuses the next two attempts, a new worker starts,
        # and the reconciler runs past its requeue delay
        smtp.handler.refuse_next(2)
        replacement = start_mailing_worker(
            queue=queue, smtp_server=smtp, log_path=tmp_path / "new.log", fast_retry=True
        )
        mail_to(queue)
        later = max(m.enqueued_at for m in messages if m.enqueued_at is not None) + AFTER_REQUEUE_DELAY
        assert outbox.outbox_reconcile(as_of=later) == 2
        wait_until(lambda: _sent() == 2, deadline=DELIVERY_DEADLINE, what="both updates sent")

        # And beat's sweep and the reconciler run again
        assert services.updates_sweep(as_of=timezone.now()) == 0
        assert outbox.outbox_reconcile(as_of=later) == 0
    finally:
        smtp.handler.release()
        killed.stop()
        if replacement is not None:
            replacement.stop()

    # Then the server refused two attempts and accepted exactly one message per sponsor
    assert smtp.handler.refused == 2
    assert _addresses(smtp) == sorted(s.stakeholder.email for s in subscriptions)
    # And the database holds one delivery per subscription and period, sent, every refused attempt counted
    deliveries = _one_delivery_each(subscriptions)
    sent = [d.outbox_message for d in deliveries.values() if d.outbox_message is not None]
    assert {(m.status, m.last_error) for m in sent} == {("sent", "")}
    assert sum(m.attempts for m in sent) == 2 + 2
    by_address = {parseaddr(str(m["To"]))[1]: m for m in smtp.messages}
    for subscription in subscriptions:
        _check_message(by_address[subscription.stakeholder.email], deliveries[subscription.pk])
