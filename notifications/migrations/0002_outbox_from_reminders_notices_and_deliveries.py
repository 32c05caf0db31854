"""Every mail recorded before the outbox becomes an outbox message, sent or still to send.

Before the outbox, delivery was kept in three places: the reminder columns of
an occurrence, the follow-up notices (daily digests and escalations) and the
sponsor-update deliveries. Each becomes one OutboxMessage with its outcome
(sent, attempts, last error), so the record of what was sent survives, and
what was still waiting is sent by the outbox. A message still to send is
rendered here in plain words, from the historical rows: the templates of the
day may expect fields these rows do not have.
"""

from datetime import UTC, datetime

from django.db import migrations

REMINDER = "check_in_reminder"
DIGEST = "overdue_digest"
ESCALATION = "escalation"
SPONSOR_UPDATE = "sponsor_update"


def _now():
    return datetime.now(UTC)


def _reminder(occurrence, owner, now):
    channel = occurrence.channel
    due = occurrence.due_at.strftime("%a %d %b %Y, %H:%M UTC")
    delivered = occurrence.reminder_delivered_at is not None
    still_open = occurrence.status in ("upcoming", "due") and occurrence.due_at > now
    status = "sent" if delivered else ("pending" if still_open else "expired")
    return {
        "kind": REMINDER,
        "idempotency_key": f"check_in_reminder:occurrence:{occurrence.pk}",
        "recipient_id": owner.pk,
        "to_address": owner.email,
        "engagement_id": channel.engagement_id,
        "subject": f"Reminder: {channel.title} with {channel.stakeholder.name}, {due}",
        "body_text": (
            f"{channel.title} with {channel.stakeholder.name} is due on {due}.\n\n"
            "You receive this because you own this channel in the PMaaS Engagement Tracker.\n"
        ),
        "expires_at": occurrence.due_at,
        "status": status,
        "attempts": occurrence.reminder_attempts,
        "last_error": occurrence.reminder_error,
        "sent_at": occurrence.reminder_delivered_at,
        "last_attempt_at": occurrence.reminder_delivered_at,
        "created_at": occurrence.reminder_sent_at,
    }


def _notice(notice):
    recipient = notice.recipient
    count = len(notice.follow_up_ids)
    if notice.kind == DIGEST:
        key = f"overdue_digest:user:{recipient.pk}:{notice.window_key}"
        subject = f"Daily digest: {count} follow-up{'s' * (count != 1)} overdue"
        about = {
            "window": notice.window_key,
            "follow_up_ids": notice.follow_up_ids,
            "notification_ids": notice.notification_ids,
        }
    else:
        follow_up_id = notice.follow_up_ids[0] if notice.follow_up_ids else 0
        key = f"escalation:user:{recipient.pk}:follow_up:{follow_up_id}:level:{notice.level}"
        subject = "Escalated: a follow-up is overdue"
        about = {"follow_up_ids": notice.follow_up_ids, "level": notice.level}
    delivered = notice.delivered_at is not None
    return {
        "kind": notice.kind,
        "idempotency_key": key,
        "recipient_id": recipient.pk,
        "to_address": recipient.email,
        "subject": subject,
        "body_text": f"{subject}.\n\nSee your week in the PMaaS Engagement Tracker.\n",
        "about": about,
        "not_before": notice.send_after,
        "status": "sent" if delivered else "pending",
        "attempts": notice.attempts,
        "last_error": notice.last_error,
        "sent_at": notice.delivered_at,
        "last_attempt_at": notice.delivered_at,
        "created_at": notice.created_at,
    }


def _delivery(delivery):
    subscription = delivery.subscription
    stakeholder = subscription.stakeholder
    status = {"sent": "sent", "failed": "pending"}.get(delivery.status, "pending")
    subject = f"Status update: {subscription.engagement.code}, period from {delivery.period_start:%d %b %Y}"
    return {
        "kind": SPONSOR_UPDATE,
        "idempotency_key": f"sponsor_update:subscription:{subscription.pk}:{delivery.period_start.isoformat()}",
        "to_address": stakeholder.email,
        "engagement_id": subscription.engagement_id,
        "subject": subject,
        "body_text": f"{subject}.\n",
        "headers": {"Message-ID": delivery.message_id} if delivery.message_id else {},
        "status": status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "sent_at": delivery.sent_at,
        "last_attempt_at": delivery.last_attempt_at,
        "created_at": delivery.created_at,
    }


def forwards(apps, schema_editor):
    OutboxMessage = apps.get_model("notifications", "OutboxMessage")
    Occurrence = apps.get_model("communications", "Occurrence")
    FollowUpNotice = apps.get_model("communications", "FollowUpNotice")
    Delivery = apps.get_model("communications", "Delivery")
    now = _now()
    claimed = Occurrence.objects.filter(reminder_sent_at__isnull=False).select_related(
        "channel__stakeholder", "channel__owner"
    )
    for occurrence in claimed.iterator(chunk_size=500):
        OutboxMessage.objects.get_or_create(**_split(_reminder(occurrence, occurrence.channel.owner, now)))
    for notice in FollowUpNotice.objects.select_related("recipient").iterator(chunk_size=500):
        OutboxMessage.objects.get_or_create(**_split(_notice(notice)))
    for delivery in Delivery.objects.select_related(
        "subscription__stakeholder", "subscription__engagement"
    ).iterator(chunk_size=500):
        message, _ = OutboxMessage.objects.get_or_create(**_split(_delivery(delivery)))
        Delivery.objects.filter(pk=delivery.pk).update(outbox_message=message)


def _split(values):
    key = values.pop("idempotency_key")
    return {"idempotency_key": key, "defaults": values}


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("communications", "0008_delivery_message"),
    ]

    # Backwards would have to split the outbox again; the columns it came from are gone by then.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
