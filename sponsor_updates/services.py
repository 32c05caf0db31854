"""Writes of sponsor updates: subscriptions, the sweep that sends each period's update once, "send now".

Every update goes out through the one outbox (``notifications.outbox``):
the Delivery row (the decision that this period's update exists) and the
rendered message are written in one transaction, under keys the database
keeps unique, so a second sweep or a second beat writes nothing twice.
Sending, retrying, quiet hours and reconciling are the outbox's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse

from communications.models import Delivery, SponsorSubscription
from engagements.models import Engagement, Membership
from engagements.selectors import engagement_check_editable
from notifications.models import NotificationEvent, OutboxMessage
from notifications.outbox import OutboundEmail, outbox_add
from notifications.services import NotificationDraft, notifications_record
from pmaas.errors import RuleViolation
from pmaas.locking import claim_in_batches
from pmaas.validation import clean_instance
from sponsor_updates import schedule
from sponsor_updates.links import LinkTarget, Purpose, link_url
from sponsor_updates.rendering import one_line, period_label, recipient_address, update_render
from sponsor_updates.selectors import UpdateContent, update_contents
from stakeholders.models import Stakeholder, StakeholderRole

Weekday = SponsorSubscription.Weekday
StoppedBy = SponsorSubscription.StoppedBy

DEFAULT_WEEKDAY = Weekday.MONDAY
DEFAULT_LOCAL_TIME = time(8, 0)
# Each batch renders and writes its updates in one transaction; small enough to keep it short.
SWEEP_BATCH_SIZE = 100
# Engagements whose sponsors still hear from the team.
SENDING_STATUSES = (Engagement.Status.PLANNED, Engagement.Status.ACTIVE, Engagement.Status.ON_HOLD)


@dataclass(frozen=True)
class SubscriptionSchedule:
    cadence: str
    weekday: int
    local_time: time
    time_zone: str
    paused_until: Any = None


def _scheduled(subscription: SponsorSubscription, *, as_of: datetime) -> None:
    subscription.next_send_at = (
        schedule.next_send_at(subscription, after=as_of) if subscription.is_active else None
    )


PAUSE_IN_THE_PAST = "Choose today or a later day: a pause that has ended would do nothing."


def _pause_errors(spec: SubscriptionSchedule, *, as_of: datetime, unchanged: Any = None) -> dict[str, str]:
    """A pause must not end before today in the recipient's zone; an unchanged old pause may stay."""
    paused_until = spec.paused_until
    if paused_until is None or paused_until == unchanged:
        return {}
    if paused_until < schedule.local_date(as_of, spec.time_zone):
        return {"paused_until": PAUSE_IN_THE_PAST}
    return {}


def subscription_add(
    *,
    actor: Any,
    engagement: Engagement,
    stakeholder: Stakeholder,
    spec: SubscriptionSchedule,
    as_of: datetime,
) -> SponsorSubscription:
    """Subscribe one of the engagement's stakeholders at the team's request; the team only.

    The first update goes at the first local send time after ``as_of``; a
    pause ending before today in the recipient's zone is refused.
    Not idempotent: a second subscription for the same person is refused.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    if not StakeholderRole.objects.filter(engagement=engagement, stakeholder=stakeholder).exists():
        raise RuleViolation("Only a stakeholder of this engagement can receive its updates.")
    subscription = SponsorSubscription(
        engagement=engagement,
        stakeholder=stakeholder,
        cadence=spec.cadence,
        weekday=spec.weekday,
        local_time=spec.local_time,
        time_zone=spec.time_zone,
        paused_until=spec.paused_until,
    )
    errors = {} if stakeholder.email else {"stakeholder": "This stakeholder has no email address."}
    errors.update(_pause_errors(spec, as_of=as_of))
    clean_instance(subscription, errors)
    _scheduled(subscription, as_of=as_of)
    subscription.save()
    return subscription


@transaction.atomic
def subscription_update(
    *,
    actor: Any | None,
    subscription: SponsorSubscription,
    spec: SubscriptionSchedule,
    is_active: bool,
    as_of: datetime,
) -> SponsorSubscription:
    """Change a subscription's schedule, pause or on/off; by the team (``actor``) or the recipient (None).

    The next send time is worked out again from ``as_of``. A new pause
    ending before today in the recipient's zone is refused (a field error);
    one already stored may stay, so an old pause does not block other
    changes. Turning it off
    records who did, so the default subscription of a sponsor is not written
    again; turning back on clears that. Idempotent.
    """
    if actor is not None:
        engagement_check_editable(user=actor, engagement=subscription.engagement)
    subscription = (
        SponsorSubscription.objects.select_for_update()
        .select_related("engagement", "stakeholder")
        .get(pk=subscription.pk)
    )
    errors = _pause_errors(spec, as_of=as_of, unchanged=subscription.paused_until)
    subscription.cadence = spec.cadence
    subscription.weekday = spec.weekday
    subscription.local_time = spec.local_time
    subscription.time_zone = spec.time_zone
    subscription.paused_until = spec.paused_until
    if is_active and not subscription.is_active:
        subscription.stopped_by = ""
        subscription.unsubscribed_at = None
    elif not is_active and subscription.is_active:
        subscription.stopped_by = StoppedBy.TEAM if actor is not None else StoppedBy.RECIPIENT
        subscription.unsubscribed_at = as_of
    subscription.is_active = is_active
    clean_instance(subscription, errors)
    _scheduled(subscription, as_of=as_of)
    subscription.save()
    return subscription


def subscription_unsubscribe(*, subscription_id: int, as_of: datetime) -> bool:
    """The recipient stops their updates (one-click or the preferences page): one conditional UPDATE.

    Only unsubscribes; idempotent. Returns whether it was on until now.
    """
    return bool(
        SponsorSubscription.objects.filter(pk=subscription_id, is_active=True).update(
            is_active=False, stopped_by=StoppedBy.RECIPIENT, unsubscribed_at=as_of, next_send_at=None
        )
    )


def subscription_resume(*, subscription: SponsorSubscription, as_of: datetime) -> SponsorSubscription:
    """The recipient starts their updates again; refused when it was the team that stopped them."""
    if subscription.is_active:
        return subscription
    if subscription.stopped_by != StoppedBy.RECIPIENT:
        raise RuleViolation("The team stopped these updates; ask them to start them again.")
    spec = SubscriptionSchedule(
        subscription.cadence,
        subscription.weekday,
        subscription.local_time,
        subscription.time_zone,
        subscription.paused_until,
    )
    return subscription_update(actor=None, subscription=subscription, spec=spec, is_active=True, as_of=as_of)


def subscriptions_ensure_for_sponsors(*, as_of: datetime, engagement_ids: Iterable[int] | None = None) -> int:
    """Subscribe every sponsor of a sending engagement who has no subscription row yet, with the defaults.

    Monday 08:00 in the sponsor's own zone, weekly. A subscription the team
    or the recipient turned off is a row, so it is never written again.
    Two queries whatever the number; ``INSERT … ON CONFLICT DO NOTHING``, so
    two runs at once write each once. Idempotent. Returns how many it wrote.
    """
    missing = (
        StakeholderRole.objects.sponsors()
        .filter(engagement__status__in=SENDING_STATUSES)
        .exclude(stakeholder__email="")
        .filter(
            ~Exists(
                SponsorSubscription.objects.filter(
                    engagement=OuterRef("engagement"), stakeholder=OuterRef("stakeholder")
                )
            )
        )
    )
    if engagement_ids is not None:
        missing = missing.filter(engagement_id__in=list(engagement_ids))
    rows = []
    for engagement_id, stakeholder_id, time_zone in missing.values_list(
        "engagement_id", "stakeholder_id", "stakeholder__time_zone"
    ):
        subscription = SponsorSubscription(
            engagement_id=engagement_id,
            stakeholder_id=stakeholder_id,
            weekday=DEFAULT_WEEKDAY,
            local_time=DEFAULT_LOCAL_TIME,
            time_zone=time_zone,
        )
        _scheduled(subscription, as_of=as_of)
        rows.append(subscription)
    SponsorSubscription.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    return len(rows)


def delivery_key(subscription_id: int, period_key: str) -> str:
    return f"sponsor_update:subscription:{subscription_id}:period:{period_key}"


def _email(
    subscription: SponsorSubscription, delivery: Delivery, content: UpdateContent, key: str
) -> OutboundEmail:
    rendered = update_render(
        content=content, target=LinkTarget(subscription_id=subscription.pk, delivery_id=delivery.pk)
    )
    stakeholder = subscription.stakeholder
    return OutboundEmail(
        kind=OutboxMessage.Kind.SPONSOR_UPDATE,
        key=key,
        to=recipient_address(stakeholder.name, stakeholder.email),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        engagement_id=subscription.engagement_id,
        headers=rendered.headers,
        about={"subscription": subscription.pk, "delivery": delivery.pk},
    )


def _write(
    items: list[tuple[SponsorSubscription, Delivery, UpdateContent, str]], *, as_of: datetime
) -> list[Delivery]:
    """Insert the deliveries (skipping periods already written), then their messages, then link them.

    Five statements whatever the number: the deliveries' insert (ON CONFLICT
    DO NOTHING), reading back the rows still without a message, the outbox's
    insert, reading the messages' ids by key, and one UPDATE linking them.
    """
    Delivery.objects.bulk_create([d for _, d, _, _ in items], ignore_conflicts=True, batch_size=500)
    written = {
        (d.subscription_id, d.period_end, d.ad_hoc_key): d
        for d in Delivery.objects.filter(
            subscription_id__in=[s.pk for s, _, _, _ in items], outbox_message__isnull=True
        )
    }
    emails, fresh = [], []
    for subscription, delivery, content, key in items:
        row = written.get((subscription.pk, delivery.period_end, delivery.ad_hoc_key))
        if row is None:
            continue
        emails.append(_email(subscription, row, content, key))
        fresh.append((row, key))
    outbox_add(emails=emails, as_of=as_of)
    messages = dict(
        OutboxMessage.objects.filter(idempotency_key__in=[key for _, key in fresh]).values_list(
            "idempotency_key", "pk"
        )
    )
    for row, key in fresh:
        row.outbox_message_id = messages[key]
    Delivery.objects.bulk_update([row for row, _ in fresh], ["outbox_message"], batch_size=500)
    return [row for row, _ in fresh]


def updates_sweep(*, as_of: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Periodic: write and hand to the outbox each update whose local send time has passed.

    First subscribes sponsors who have no subscription yet and tells the
    leads of updates the outbox gave up on (``delivery_failures_report``). Then claims due
    subscriptions in batches (SKIP LOCKED on PostgreSQL; on SQLite the
    transaction holds the database): each batch, in one transaction, writes
    one Delivery per (subscription, period), unique in the database, the
    rendered message in the outbox, and moves each subscription to its next
    local send time. A paused period is passed over, not sent late. A fixed
    number of queries per batch. Idempotent: a second sweep on the same
    ``as_of`` finds nothing due. Returns the number of updates written.
    """
    subscriptions_ensure_for_sponsors(as_of=as_of)
    delivery_failures_report(as_of=as_of)
    due = SponsorSubscription.objects.due(as_of=as_of).filter(engagement__status__in=SENDING_STATUSES)

    def claim(batch: list[SponsorSubscription]) -> int:
        items: list[tuple[SponsorSubscription, Delivery, schedule.Period, str]] = []
        for subscription in batch:
            send_at = subscription.next_send_at
            if send_at is None:  # Not due after all: the queryset only names rows with a send time.
                continue
            following = schedule.next_send_at(subscription, after=max(send_at, as_of), anchor=send_at)
            if not schedule.is_paused(subscription, send_at=send_at):
                period = schedule.period_for(subscription, send_at=send_at)
                delivery = Delivery(
                    subscription=subscription,
                    period_start=period.start,
                    period_end=period.end,
                    scheduled_for=send_at,
                )
                items.append(
                    (subscription, delivery, period, delivery_key(subscription.pk, period.end.isoformat()))
                )
            subscription.next_send_at = following
        contents = update_contents(
            subscriptions=[s for s, _, _, _ in items], periods={s.pk: p for s, _, p, _ in items}, as_of=as_of
        )
        for subscription, delivery, _, _ in items:
            delivery.health = contents[subscription.pk].health
        written = _write([(s, d, contents[s.pk], key) for s, d, _, key in items], as_of=as_of)
        SponsorSubscription.objects.bulk_update(batch, ["next_send_at"], batch_size=500)
        return len(written)

    return claim_in_batches(
        due.select_related("engagement__client", "stakeholder"), batch_size=batch_size, claim=claim
    )


def update_send_now(
    *, actor: Any, subscription: SponsorSubscription, request_key: str, as_of: datetime
) -> Delivery:
    """Send the update to this one recipient now, outside its schedule; the team only.

    Covers one cadence up to and including today in the recipient's zone
    (``schedule.period_up_to``), exactly what the team's preview shows. ``request_key`` names the
    request (the form carries it), so submitting it twice writes one update.
    The schedule is left as it is. Idempotent per ``request_key``.
    """
    engagement_check_editable(user=actor, engagement=subscription.engagement)
    if not subscription.stakeholder.email:
        raise RuleViolation("This stakeholder has no email address.")
    request_key = one_line(request_key)[:64]
    if not request_key:
        raise RuleViolation("The request carries no key; open the preview again.")
    period = schedule.period_up_to(subscription, as_of=as_of)
    with transaction.atomic():
        content = update_contents(
            subscriptions=[subscription], periods={subscription.pk: period}, as_of=as_of
        )[subscription.pk]
        delivery = Delivery(
            subscription=subscription,
            period_start=period.start,
            period_end=period.end,
            ad_hoc_key=request_key,
            health=content.health,
            scheduled_for=as_of,
        )
        _write(
            [(subscription, delivery, content, delivery_key(subscription.pk, f"now-{request_key}"))],
            as_of=as_of,
        )
    return Delivery.objects.get(subscription=subscription, ad_hoc_key=request_key)


def link_request(*, email: str = "", target: LinkTarget | None = None, as_of: datetime) -> int:
    """Mail a fresh preferences link to each subscription of an address (or the one an old link named).

    Answers nothing about whether the address is known: the caller shows the
    same page either way. At most one such mail per subscription per hour
    (its key names the hour), so the form cannot flood a mailbox. Returns
    how many were handed to the outbox.
    """
    if target is not None:
        subscriptions = list(
            SponsorSubscription.objects.filter(pk=target.subscription_id).select_related(
                "engagement", "stakeholder"
            )
        )
    elif email.strip():
        subscriptions = list(
            SponsorSubscription.objects.for_stakeholder_email(email.strip()).select_related(
                "engagement", "stakeholder"
            )
        )
    else:
        return 0
    hour = as_of.strftime("%Y-%m-%dT%H")
    emails = []
    for subscription in subscriptions:
        stakeholder = subscription.stakeholder
        if not stakeholder.email:
            continue
        url = link_url(Purpose.PREFERENCES, LinkTarget(subscription_id=subscription.pk))
        name = one_line(subscription.engagement.name)
        emails.append(
            OutboundEmail(
                kind=OutboxMessage.Kind.SPONSOR_UPDATE,
                key=f"sponsor_update_link:subscription:{subscription.pk}:hour:{hour}",
                to=recipient_address(stakeholder.name, stakeholder.email),
                subject=f"Your link to the status updates of {name}",
                text=(
                    f"You asked for a new link to your status updates of {name}.\n\n"
                    f"Preferences (day, time, how often, pause, unsubscribe): {url}\n\n"
                    "If you did not ask for it, you can ignore this mail.\n"
                ),
                engagement_id=subscription.engagement_id,
                about={"subscription": subscription.pk, "link": "preferences"},
            )
        )
    with transaction.atomic():
        return outbox_add(emails=emails, as_of=as_of)


# Long enough for a paragraph; the page's form says so.
ACKNOWLEDGEMENT_COMMENT_MAX = 2000


def _tell_leads(
    *, engagement_id: int, event: NotificationEvent, key: str, message: str, url: str, as_of: datetime
) -> int:
    """Tell each active lead of the engagement in the app (their preferences permitting), once per key."""
    leads = Membership.objects.leads().filter(engagement_id=engagement_id, user__is_active=True)
    return notifications_record(
        drafts=[
            NotificationDraft(
                recipient_id=user_id,
                event=event,
                key=key,
                message=message,
                url=url,
                engagement_id=engagement_id,
            )
            for user_id in leads.values_list("user_id", flat=True)
        ],
        as_of=as_of,
    )


@transaction.atomic
def delivery_acknowledge(*, delivery: Delivery, comment: str, wants_call: bool, as_of: datetime) -> bool:
    """The recipient says they read this update, perhaps with a comment or a request for a call.

    The first acknowledgement is recorded (one conditional UPDATE, where it is
    still NULL) and tells each lead of the engagement in the app, under a key
    naming the delivery. Later, through the same link, the recipient may
    change the comment or the wish for a call: the acknowledgement time stays,
    and each change tells the leads once, under a key naming the delivery and
    the change's time. A post equal to what is recorded changes nothing and
    tells nobody, so a double click or a reloaded form is harmless.
    Idempotent. Returns whether this call recorded or changed anything.
    """
    comment = comment.strip()
    if len(comment) > ACKNOWLEDGEMENT_COMMENT_MAX:
        raise ValidationError({"comment": f"Keep it under {ACKNOWLEDGEMENT_COMMENT_MAX} characters."})
    rows = Delivery.objects.filter(pk=delivery.pk)
    first = rows.filter(acknowledged_at__isnull=True).update(
        acknowledged_at=as_of, comment=comment, wants_call=wants_call
    )
    # Only a different answer is a change, so an identical resubmission writes and tells nothing.
    changed = not first and rows.filter(acknowledged_at__isnull=False).exclude(
        comment=comment, wants_call=wants_call
    ).update(comment=comment, wants_call=wants_call)
    if not (first or changed):
        return False
    subscription = delivery.subscription
    period = schedule.Period(start=delivery.period_start, end=delivery.period_end or delivery.period_start)
    name, label = subscription.stakeholder.name, period_label(period)
    if first:
        message = f"{name} read the status update for {label}"
        if wants_call:
            message += " and would like a call"
    else:
        message = f"{name} changed their answer to the status update for {label}: "
        message += "would like a call" if wants_call else "no call needed"
    if comment:
        message += f": \u201c{one_line(comment)}\u201d"
    _tell_leads(
        engagement_id=subscription.engagement_id,
        event=NotificationEvent.UPDATE_ACKNOWLEDGED,
        key=f"delivery:{delivery.pk}" if first else f"delivery:{delivery.pk}:changed:{as_of.isoformat()}",
        message=message,
        url=reverse("engagement_update_history", args=[subscription.engagement_id]),
        as_of=as_of,
    )
    return True


# Each batch locks its deliveries and tells their leads in one transaction.
FAILURE_REPORT_BATCH_SIZE = 200


def delivery_failures_report(*, as_of: datetime, batch_size: int = FAILURE_REPORT_BATCH_SIZE) -> int:
    """Periodic (with the sweep): tell the leads in the app of each update the outbox gave up on.

    The outbox knows nothing of sponsor updates, so it tells nobody: this
    finds deliveries whose message failed and that were not reported yet,
    tells each active lead of the engagement once (key naming the delivery),
    with the recipient, the period and the outbox's reason in words, and sets
    ``failure_reported_at`` where it is NULL. Claimed in batches (SKIP LOCKED
    on PostgreSQL), so two sweeps at once report each failure once; five
    queries per batch whatever its size. Idempotent. Returns how many failures it reported.
    """
    unreported = Delivery.objects.failed_unreported().select_related(
        "subscription__stakeholder", "outbox_message"
    )

    def claim(batch: list[Delivery]) -> int:
        engagement_ids = {delivery.subscription.engagement_id for delivery in batch}
        leads: dict[int, list[int]] = {}
        for engagement_id, user_id in (
            Membership.objects.leads()
            .filter(engagement_id__in=engagement_ids, user__is_active=True)
            .values_list("engagement_id", "user_id")
        ):
            leads.setdefault(engagement_id, []).append(user_id)
        drafts = []
        for delivery in batch:
            subscription = delivery.subscription
            period = schedule.Period(
                start=delivery.period_start, end=delivery.period_end or delivery.period_start
            )
            reason = delivery.outbox_message.last_error if delivery.outbox_message else ""
            message = (
                f"The status update for {period_label(period)} to {subscription.stakeholder.name} "
                "could not be delivered"
            )
            message += f": {one_line(reason)}" if reason else "."
            url = reverse("engagement_updates", args=[subscription.engagement_id])
            drafts += [
                NotificationDraft(
                    recipient_id=user_id,
                    event=NotificationEvent.UPDATE_FAILED,
                    key=f"delivery:{delivery.pk}",
                    message=message,
                    url=url,
                    engagement_id=subscription.engagement_id,
                )
                for user_id in leads.get(subscription.engagement_id, [])
            ]
        notifications_record(drafts=drafts, as_of=as_of)
        return Delivery.objects.filter(
            pk__in=[delivery.pk for delivery in batch], failure_reported_at__isnull=True
        ).update(failure_reported_at=as_of)

    return claim_in_batches(unreported, batch_size=batch_size, claim=claim)
