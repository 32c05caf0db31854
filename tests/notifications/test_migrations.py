"""Moving delivery into the one outbox loses nothing that was recorded before."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("communications", "0006_overdue_stamps")]
AFTER = [("communications", "0009_drop_delivery_bookkeeping_outside_the_outbox")]
# Before the clock of any test moved: the claims are long past, the pending reminder's check-in far ahead.
CLAIMED_AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FAR_AHEAD = dt.datetime(2099, 3, 2, 9, 0, tzinfo=UTC)


def _migrate(targets: list[tuple[str, str]]) -> Any:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_reminders_notices_deliveries_and_notifications_survive_the_move_to_the_outbox() -> None:
    # Given the schema before the outbox, with a reminder sent and one still to send, a digest
    # sent and an escalation waiting for quiet hours to end, a delivered sponsor update, and
    # a user's notification and preferences
    old = _migrate(BEFORE)
    user_model = old.get_model("accounts", "User")
    owner = user_model.objects.create(username="owner-before-outbox", email="owner@example.com")
    client = old.get_model("engagements", "Client").objects.create(name="Outbox Client")
    engagement = old.get_model("engagements", "Engagement").objects.create(
        client=client,
        name="Before the outbox",
        code="OUT-1",
        start_date=dt.date(2026, 1, 5),
        end_date=dt.date(2099, 12, 31),
    )
    stakeholder = old.get_model("stakeholders", "Stakeholder").objects.create(
        client=client, name="Ana Silva", email="ana@example.com"
    )
    channel_model = old.get_model("communications", "Channel")
    channel = channel_model.objects.create(
        engagement=engagement,
        stakeholder=stakeholder,
        owner=owner,
        title="Weekly sync",
        recurrence="FREQ=WEEKLY",
        starts_on=dt.date(2026, 1, 5),
        local_time=dt.time(9, 0),
    )
    occurrence = old.get_model("communications", "Occurrence")
    sent_reminder = occurrence.objects.create(
        channel=channel,
        due_at=CLAIMED_AT + dt.timedelta(hours=3),
        status="due",
        reminder_sent_at=CLAIMED_AT,
        reminder_delivered_at=CLAIMED_AT,
        reminder_attempts=1,
    )
    waiting_reminder = occurrence.objects.create(
        channel=channel,
        due_at=FAR_AHEAD,
        status="upcoming",
        reminder_sent_at=CLAIMED_AT,
        reminder_attempts=2,
        reminder_error="SMTPServerDisconnected()",
    )
    notice = old.get_model("communications", "FollowUpNotice")
    notice.objects.create(
        recipient=owner,
        kind="overdue_digest",
        window_key="2026-03-02",
        follow_up_ids=[7, 8],
        notification_ids=[3],
        delivered_at=CLAIMED_AT,
        attempts=1,
    )
    notice.objects.create(
        recipient=owner,
        kind="escalation",
        window_key="7:1",
        follow_up_ids=[7],
        level=1,
        send_after=CLAIMED_AT + dt.timedelta(hours=10),
    )
    subscription = old.get_model("communications", "SponsorSubscription").objects.create(
        engagement=engagement, stakeholder=stakeholder, local_time=dt.time(8, 0), time_zone="UTC"
    )
    delivery = old.get_model("communications", "Delivery").objects.create(
        subscription=subscription,
        period_start=dt.date(2026, 3, 2),
        scheduled_for=CLAIMED_AT,
        status="sent",
        attempts=1,
        sent_at=CLAIMED_AT,
        message_id="<update-1@example.com>",
    )
    old.get_model("communications", "Notification").objects.create(
        recipient=owner,
        event="follow_up_overdue",
        key="follow_up:7",
        message="Went overdue",
        created_at=CLAIMED_AT,
    )
    old.get_model("communications", "NotificationPreference").objects.create(
        user=owner, email_on_weekends=True
    )

    # When migrating to the outbox
    new = _migrate(AFTER)

    # Then each mail is one outbox message with its outcome, keyed as the sweeps key them now
    outbox = new.get_model("notifications", "OutboxMessage")
    messages = {
        m.idempotency_key: m
        for m in outbox.objects.filter(to_address__in=["owner@example.com", "ana@example.com"])
    }
    assert set(messages) == {
        f"check_in_reminder:occurrence:{sent_reminder.pk}",
        f"check_in_reminder:occurrence:{waiting_reminder.pk}",
        f"overdue_digest:user:{owner.pk}:2026-03-02",
        f"escalation:user:{owner.pk}:follow_up:7:level:1",
        f"sponsor_update:subscription:{subscription.pk}:2026-03-02",
    }
    sent = messages[f"check_in_reminder:occurrence:{sent_reminder.pk}"]
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, CLAIMED_AT)
    waiting = messages[f"check_in_reminder:occurrence:{waiting_reminder.pk}"]
    assert (waiting.status, waiting.attempts, waiting.last_error) == (
        "pending",
        2,
        "SMTPServerDisconnected()",
    )
    assert (waiting.to_address, waiting.expires_at, waiting.enqueued_at) == (
        "owner@example.com",
        FAR_AHEAD,
        None,
    )
    assert "Weekly sync with Ana Silva" in waiting.subject
    digest = messages[f"overdue_digest:user:{owner.pk}:2026-03-02"]
    assert (digest.status, digest.about["follow_up_ids"], digest.about["window"]) == (
        "sent",
        [7, 8],
        "2026-03-02",
    )
    escalation = messages[f"escalation:user:{owner.pk}:follow_up:7:level:1"]
    assert (escalation.status, escalation.not_before) == ("pending", CLAIMED_AT + dt.timedelta(hours=10))
    update = messages[f"sponsor_update:subscription:{subscription.pk}:2026-03-02"]
    assert (update.status, update.headers) == ("sent", {"Message-ID": "<update-1@example.com>"})
    moved_delivery = new.get_model("communications", "Delivery").objects.get(pk=delivery.pk)
    assert moved_delivery.outbox_message_id == update.pk
    # And the notification and the preferences are the same rows, now in the notifications app
    [notification] = new.get_model("notifications", "Notification").objects.filter(recipient_id=owner.pk)
    assert (notification.recipient_id, notification.key) == (owner.pk, "follow_up:7")
    [preference] = new.get_model("notifications", "NotificationPreference").objects.filter(user_id=owner.pk)
    assert (preference.user_id, preference.email_on_weekends) == (owner.pk, True)

    # And the latest schema is back for the tests after this one
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
