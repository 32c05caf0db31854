"""The demo's sponsor updates: the real sweep wrote and sent its history; today's are the beat's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.db import transaction
from django.db.models import Q

from communications.models import CheckIn, Delivery, FollowUp, SponsorSubscription
from demo.portfolio import UNSUBSCRIBED_DAYS_AGO, demo_load
from notifications.models import Notification, NotificationEvent, OutboxMessage
from pmaas.sharing import client_share

# One worker loads the module's demo once: split over two, each loaded it.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo_updates")]

UTC = dt.UTC
# A Thursday morning; nothing below depends on the day the suite runs.
LOADED = dt.datetime(2026, 3, 12, 9, 40, tzinfo=UTC)
MIDNIGHT = dt.datetime(2026, 3, 12, tzinfo=UTC)
HISTORY_START = MIDNIGHT - dt.timedelta(days=120)


def _local_midnight(day: dt.date, time_zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(time_zone))


def _owed_lines(text: str) -> list[str]:
    section = text.split("FOLLOW-UPS YOUR SIDE OWES\n", 1)[1].split("\nSCOPE CHANGES", 1)[0]
    return [line for line in section.splitlines() if line.startswith("- ")]


@pytest.fixture(scope="module")
def loaded_demo(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The demo loaded once, on a Thursday morning, for the tests that read it.

    In a transaction rolled back after the module; each test runs in a
    savepoint inside it. Tests that need an empty database are in
    tests/workspace/test_demo_first_sweep.py.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        demo_load(now=LOADED)
        yield
        transaction.set_rollback(True)


def test_demo_updates_were_written_by_the_sweep_and_sent_in_their_own_weeks(loaded_demo: None) -> None:
    # Given the demo, loaded on a Thursday morning

    # Then every update has its message in the outbox, sent when it was due, before the demo's day
    deliveries = Delivery.objects.select_related("outbox_message", "subscription")
    assert deliveries.count() > 50
    for delivery in deliveries:
        message = delivery.outbox_message
        assert message is not None, delivery
        assert message.kind == OutboxMessage.Kind.SPONSOR_UPDATE
        assert message.status == OutboxMessage.Status.SENT
        assert message.sent_at is not None
        assert delivery.scheduled_for <= message.sent_at < MIDNIGHT
    # and none of that history reached a mailbox while loading
    assert mail.outbox == []
    # and each active subscription got one update per period since the history began, none skipped
    active = SponsorSubscription.objects.active()
    assert active.count() >= 10
    for subscription in active:
        periods = list(
            subscription.deliveries.order_by("period_end").values_list("period_start", "period_end")
        )
        assert len(periods) >= 3, subscription
        first_due = periods[0][1]
        assert first_due is not None and first_due <= HISTORY_START.date() + dt.timedelta(days=36)
        for (_, end), (start, _) in zip(periods, periods[1:], strict=False):
            assert start == end, subscription


def test_each_demo_update_reports_the_meetings_and_open_follow_ups_of_its_own_period(
    loaded_demo: None,
) -> None:
    # Given the demo

    shared_check_ins = CheckIn.objects.filter(client_share("communications.CheckIn").rows)
    owed = FollowUp.objects.owed_by_client().filter(client_share("communications.FollowUp").rows)
    named = 0
    for delivery in Delivery.objects.select_related("outbox_message", "subscription"):
        subscription = delivery.subscription
        assert delivery.outbox_message is not None and delivery.period_end is not None
        text = delivery.outbox_message.body_text
        sent = delivery.scheduled_for
        # Then it names every meeting shared with the client and held in its period
        held = shared_check_ins.filter(
            engagement=subscription.engagement_id,
            occurred_at__gte=_local_midnight(delivery.period_start, subscription.time_zone),
            occurred_at__lt=_local_midnight(delivery.period_end, subscription.time_zone),
        )
        for check_in in held:
            assert check_in.summary in text, (delivery, check_in)
            named += 1
        # and lists exactly the follow-ups the client's people owed then: agreed before it went,
        # and still open then, even those done since
        open_then = owed.filter(engagement=subscription.engagement_id, check_in__occurred_at__lt=sent).filter(
            Q(status=FollowUp.Status.OPEN) | Q(status=FollowUp.Status.DONE, completed_at__gt=sent)
        )
        assert len(_owed_lines(text)) == open_then.count(), delivery
    assert named > 5
    # and some updates listed items owed that were done later, so their lists differ from today's
    assert FollowUp.objects.owed_by_client().filter(status=FollowUp.Status.DONE).exists()


def test_demo_sponsors_acknowledged_updates_and_the_silent_one_stopped_them(loaded_demo: None) -> None:
    # Given the demo

    # Then some sponsors acknowledged an update after it was sent, one with a request for a call
    acknowledged = Delivery.objects.filter(acknowledged_at__isnull=False).select_related("outbox_message")
    assert acknowledged.count() >= 3
    for delivery in acknowledged:
        assert delivery.outbox_message is not None and delivery.outbox_message.sent_at is not None
        assert delivery.acknowledged_at is not None
        assert delivery.outbox_message.sent_at < delivery.acknowledged_at < MIDNIGHT
    assert acknowledged.exclude(comment="").count() >= 2
    caller = acknowledged.get(wants_call=True)
    # and the engagement's lead heard of each in the app
    told = Notification.objects.filter(
        event=NotificationEvent.UPDATE_ACKNOWLEDGED, engagement=caller.subscription.engagement_id
    )
    assert told.filter(message__contains="would like a call").exists()

    # and the silent sponsor unsubscribed through their link, and got nothing since
    stopped = SponsorSubscription.objects.get(is_active=False)
    assert stopped.stopped_by == SponsorSubscription.StoppedBy.RECIPIENT
    assert stopped.unsubscribed_at == MIDNIGHT - dt.timedelta(days=UNSUBSCRIBED_DAYS_AGO)
    assert stopped.next_send_at is None
    assert stopped.deliveries.exists()
    assert not stopped.deliveries.filter(scheduled_for__gte=stopped.unsubscribed_at).exists()
