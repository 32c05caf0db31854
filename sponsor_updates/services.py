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
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.urls import reverse
from django.utils import timezone

from communications.models import Delivery, SponsorSubscription
from engagements.models import Engagement, Membership
from engagements.policy import Action, engagement_check_can
from engagements.selectors import engagement_check_editable
from notifications.models import Notification, NotificationEvent, OutboxMessage
from notifications.outbox import OutboundEmail, outbox_add
from notifications.rendering import email_to
from notifications.selectors import Recipient, recipients_for
from notifications.services import NotificationDraft, notifications_record
from notifications.timing import email_allowed_from, email_is_held
from pmaas.bulk import rows_rewrite
from pmaas.errors import RuleViolation
from pmaas.locking import claim_in_batches
from pmaas.validation import LONG_TEXT_MAX_LENGTH, clean_instance
from sponsor_updates import schedule
from sponsor_updates.links import LinkTarget, Purpose, link_url
from sponsor_updates.rendering import (
    lead_draft,
    one_line,
    period_label,
    recipient_address,
    update_render,
)
from sponsor_updates.selectors import UpdateContent, update_contents
from sponsor_updates.summary import summary_draft
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
    # None leaves it as it is: the recipient's own preferences never change it.
    needs_approval: bool | None = None


def _scheduled(subscription: SponsorSubscription, *, as_of: datetime, anchor: datetime | None = None) -> None:
    subscription.next_send_at = (
        schedule.next_send_at(subscription, after=as_of, anchor=anchor) if subscription.is_active else None
    )


def last_period_ends(subscription_ids: Iterable[int]) -> dict[int, date]:
    """Where each subscription's last update sent on schedule stopped (its ``period_end``); one query."""
    return {
        row["subscription_id"]: row["end"]
        for row in Delivery.objects.filter(
            subscription_id__in=list(subscription_ids), ad_hoc_key="", outbox_message__isnull=False
        )
        .values("subscription_id")
        .annotate(end=Max("period_end"))
        .order_by()
    }


def _last_scheduled_send(subscription: SponsorSubscription) -> datetime | None:
    return (
        Delivery.objects.filter(subscription=subscription, ad_hoc_key="", outbox_message__isnull=False)
        .order_by("-scheduled_for")
        .values_list("scheduled_for", flat=True)
        .first()
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
    pause ending before today in the recipient's zone is refused. Only
    those who approve updates (``Action.APPROVE_SPONSOR_UPDATE``) may ask
    for approval; without it the updates go without.
    Not idempotent: a second subscription for the same person is refused.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    if spec.needs_approval:
        _check_may_approve(actor, engagement)
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
        needs_approval=bool(spec.needs_approval),
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
    again; turning back on clears that. Whether updates need approval is
    changed only by those who approve them (``Action.APPROVE_SPONSOR_UPDATE``):
    a team member could otherwise send past the lead. Idempotent.
    """
    if actor is not None:
        engagement_check_editable(user=actor, engagement=subscription.engagement)
        if spec.needs_approval is not None and spec.needs_approval != subscription.needs_approval:
            _check_may_approve(actor, subscription.engagement)
    subscription = (
        SponsorSubscription.objects.select_for_update()
        .select_related("engagement", "stakeholder")
        .get(pk=subscription.pk)
    )
    errors = _pause_errors(spec, as_of=as_of, unchanged=subscription.paused_until)
    before = (subscription.cadence, subscription.weekday, subscription.local_time, subscription.time_zone)
    was_active, was_due = subscription.is_active, subscription.next_send_at
    subscription.cadence = spec.cadence
    subscription.weekday = spec.weekday
    subscription.local_time = spec.local_time
    subscription.time_zone = spec.time_zone
    subscription.paused_until = spec.paused_until
    if spec.needs_approval is not None:
        subscription.needs_approval = spec.needs_approval
    if is_active and not subscription.is_active:
        subscription.stopped_by = ""
        subscription.unsubscribed_at = None
    elif not is_active and subscription.is_active:
        subscription.stopped_by = StoppedBy.TEAM if actor is not None else StoppedBy.RECIPIENT
        subscription.unsubscribed_at = as_of
    subscription.is_active = is_active
    clean_instance(subscription, errors)
    same_schedule = before == (spec.cadence, spec.weekday, spec.local_time, spec.time_zone)
    if not (same_schedule and was_active and is_active and was_due is not None and was_due > as_of):
        # Worked out afresh only when the day, time, zone or cadence changed, or it was off: a
        # fortnightly update must not skip a week because its approval setting or pause changed.
        # Its weeks count from the last update sent, so a new day neither skips a week nor
        # sends again in the week of that update.
        last = _last_scheduled_send(subscription)
        after = as_of if last is None else schedule.after_last_send(subscription, last=last, as_of=as_of)
        _scheduled(subscription, as_of=after, anchor=last)
    subscription.save()
    _drafts_follow_schedule(subscription, as_of=as_of)
    return subscription


def _drafts_follow_schedule(subscription: SponsorSubscription, *, as_of: datetime) -> None:
    """Move the draft of the next update (written ahead by the lead) to the next send time, or drop it.

    A moved draft keeps its summary but loses its approval: it now covers
    other days, so the lead approves it again, and the engagement's leads
    are told so at once (an update that needs approval would otherwise
    wait at its new time with nobody expecting it).
    """
    drafts = list(
        Delivery.objects.filter(
            subscription=subscription,
            ad_hoc_key="",
            outbox_message__isnull=True,
            held_at__isnull=True,
            scheduled_for__gt=as_of,
        ).order_by("-scheduled_for", "-pk")
    )
    send_at = subscription.next_send_at
    if not drafts or (send_at is not None and drafts[0].scheduled_for == send_at and len(drafts) == 1):
        return
    keep = drafts[0] if send_at is not None else None
    Delivery.objects.filter(pk__in=[d.pk for d in drafts if d is not keep]).delete()
    if keep is None or send_at is None or keep.scheduled_for == send_at:
        return
    period = schedule.period_for(
        subscription, send_at=send_at, since=last_period_ends([subscription.pk]).get(subscription.pk)
    )
    taken = Delivery.objects.filter(subscription=subscription, ad_hoc_key="", period_end=period.end)
    if taken.exclude(pk=keep.pk).exists():
        # That local day's update was written already (moved to later the same day): it stays the one.
        Delivery.objects.filter(pk=keep.pk).delete()
        return
    Delivery.objects.filter(pk=keep.pk).update(
        period_start=period.start,
        period_end=period.end,
        scheduled_for=send_at,
        approved_at=None,
        approved_by=None,
    )
    if keep.approved_at is not None and subscription.needs_approval:
        local = timezone.localtime(send_at, ZoneInfo(subscription.time_zone))
        _tell_leads(
            engagement_id=subscription.engagement_id,
            event=NotificationEvent.UPDATE_APPROVAL_NEEDED,
            key=f"delivery:{keep.pk}:moved:{send_at.isoformat()}",
            message=(
                f"The status update to {one_line(subscription.stakeholder.name)} on "
                f"{subscription.engagement.code} moved to {local:%a} {local.day} {local:%b %Y %H:%M} "
                f"({subscription.time_zone}) and now covers {period_label(period)}: "
                "approve its summary again, or it waits"
            ),
            url=reverse("delivery_review", args=[subscription.engagement_id, keep.pk]),
            as_of=as_of,
        )


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
        content=content,
        target=LinkTarget(subscription_id=subscription.pk, delivery_id=delivery.pk),
        summary=delivery.summary,
        late=delivery.held_at is not None,
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
    """Insert the deliveries (skipping periods already written), then hand the new ones to the outbox.

    Five statements whatever the number: the deliveries' insert (ON CONFLICT
    DO NOTHING), reading back the rows still without a message, and
    ``_hand_over``'s three.
    """
    Delivery.objects.bulk_create([d for _, d, _, _ in items], ignore_conflicts=True, batch_size=500)
    written = {
        (d.subscription_id, d.period_end, d.ad_hoc_key): d
        for d in Delivery.objects.filter(
            subscription_id__in=[s.pk for s, _, _, _ in items], outbox_message__isnull=True
        )
    }
    fresh = []
    for subscription, delivery, content, key in items:
        row = written.get((subscription.pk, delivery.period_end, delivery.ad_hoc_key))
        if row is not None:
            fresh.append((subscription, row, content, key))
    return _hand_over(fresh, as_of=as_of)


def _hand_over(
    items: list[tuple[SponsorSubscription, Delivery, UpdateContent, str]], *, as_of: datetime
) -> list[Delivery]:
    """Render each delivery's update, write the messages in the outbox, and link them to the rows.

    Three statements whatever the number: the outbox's insert (ON CONFLICT DO
    NOTHING on the key naming the period, so a sweep and an approval racing
    for the same update write one message), reading the messages' ids by
    key, and one UPDATE linking them (with the summary and health sent).
    """
    outbox_add(emails=[_email(s, row, content, key) for s, row, content, key in items], as_of=as_of)
    messages = dict(
        OutboxMessage.objects.filter(idempotency_key__in=[key for _, _, _, key in items]).values_list(
            "idempotency_key", "pk"
        )
    )
    for _, row, _, key in items:
        row.outbox_message_id = messages[key]
    rows = [row for _, row, _, _ in items]
    rows_rewrite(rows, fields=["outbox_message", "summary", "health"])
    return rows


def _summary_to_send(row: Delivery, content: UpdateContent) -> str:
    """The lead's text when they wrote or approved one, else a draft of the period as it ended."""
    if row.summary_by_id is not None or row.approved_at is not None:
        return row.summary
    return summary_draft(content)


def _period_rows(
    items: list[tuple[SponsorSubscription, Delivery, Any, str]],
) -> dict[tuple[int, Any], Delivery]:
    """The scheduled rows of these periods still without a message, locked until the batch commits.

    Locked (FOR UPDATE, waiting rather than skipping), so an approval of the
    same row either finished before (the sweep sees it approved and sends)
    or waits for the sweep (and then finds the row held, and sends).
    """
    rows = Delivery.objects.select_for_update().filter(
        subscription_id__in=[s.pk for s, _, _, _ in items],
        period_end__in={d.period_end for _, d, _, _ in items},
        ad_hoc_key="",
        outbox_message__isnull=True,
    )
    return {(row.subscription_id, row.period_end): row for row in rows}


def updates_sweep(*, as_of: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Periodic: write and hand to the outbox each update whose local send time has passed.

    First subscribes sponsors who have no subscription yet and tells the
    leads of updates the outbox gave up on (``delivery_failures_report``). Then claims due
    subscriptions in batches (SKIP LOCKED on PostgreSQL; on SQLite the
    transaction holds the database): each batch, in one transaction, writes
    one Delivery per (subscription, period), unique in the database, the
    rendered message in the outbox, and moves each subscription to its next
    local send time. A paused period is passed over, not sent late. Each
    update opens with the lead's summary when they wrote one, else a draft
    (``summary.summary_draft``). An update of a subscription that needs
    approval and has none is held instead: its row is kept without a
    message, marked held, and the engagement's leads are told at once
    (``_hold``); it goes when approved (``delivery_approve``), never before.
    A fixed number of queries per batch. Idempotent: a second sweep on the
    same ``as_of`` finds nothing due. Returns the number of updates written.
    """
    subscriptions_ensure_for_sponsors(as_of=as_of)
    delivery_failures_report(as_of=as_of)
    due = SponsorSubscription.objects.due(as_of=as_of).filter(engagement__status__in=SENDING_STATUSES)

    def claim(batch: list[SponsorSubscription]) -> int:
        items: list[tuple[SponsorSubscription, Delivery, schedule.Period, str]] = []
        ends = last_period_ends(s.pk for s in batch)
        for subscription in batch:
            send_at = subscription.next_send_at
            if send_at is None:  # Not due after all: the queryset only names rows with a send time.
                continue
            following = schedule.next_send_at(subscription, after=max(send_at, as_of), anchor=send_at)
            if not schedule.is_paused(subscription, send_at=send_at):
                period = schedule.period_for(subscription, send_at=send_at, since=ends.get(subscription.pk))
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
            delivery.summary = summary_draft(contents[subscription.pk])
        Delivery.objects.bulk_create([d for _, d, _, _ in items], ignore_conflicts=True, batch_size=500)
        rows = _period_rows(items) if items else {}
        to_send, to_hold = [], []
        for subscription, delivery, _, key in items:
            row = rows.get((subscription.pk, delivery.period_end))
            if row is None:  # Its message was written before: by an earlier sweep or an approval.
                continue
            content = contents[subscription.pk]
            row.health = content.health
            row.summary = _summary_to_send(row, content)
            if subscription.needs_approval and row.approved_at is None:
                to_hold.append((subscription, row))
            else:
                to_send.append((subscription, row, content, key))
        written = _hand_over(to_send, as_of=as_of) if to_send else []
        _hold(to_hold, as_of=as_of)
        rows_rewrite(batch, fields=["next_send_at"])
        return len(written)

    return claim_in_batches(
        due.select_related("engagement__client", "stakeholder"), batch_size=batch_size, claim=claim
    )


def update_send_now(
    *, actor: Any, subscription: SponsorSubscription, request_key: str, as_of: datetime
) -> Delivery:
    """Send the update to this one recipient now, outside its schedule; the team only.

    Covers one cadence up to and including today in the recipient's zone
    (``schedule.period_up_to``), exactly what the team's preview shows, and
    opens with the lead's summary of the next update when they wrote one
    (``rendering.lead_draft``); that draft is then used up, so the scheduled
    update drafts its own rather than saying the same again (one already
    waiting for approval stays). ``request_key`` names the
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
        used = lead_draft(subscription)
        delivery = Delivery(
            subscription=subscription,
            period_start=period.start,
            period_end=period.end,
            ad_hoc_key=request_key,
            health=content.health,
            summary=used.summary if used is not None else summary_draft(content),
            scheduled_for=as_of,
        )
        written = _write(
            [(subscription, delivery, content, delivery_key(subscription.pk, f"now-{request_key}"))],
            as_of=as_of,
        )
        if written and used is not None:
            Delivery.objects.filter(pk=used.pk, outbox_message__isnull=True, held_at__isnull=True).delete()
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


# --- The summary and the approval ---------------------------------------------------------------------


def approval_needed_key(*, delivery_id: int, user_id: int) -> str:
    """One mail per held update and lead."""
    return f"update_approval:delivery:{delivery_id}:user:{user_id}"


def _not_before(recipient: Recipient, as_of: datetime) -> datetime | None:
    if email_is_held(preference=recipient.preference, zone=recipient.zone, at=as_of):
        return email_allowed_from(preference=recipient.preference, zone=recipient.zone, at=as_of)
    return None


def _hold(held: list[tuple[SponsorSubscription, Delivery]], *, as_of: datetime) -> None:
    """Keep these updates without a message, mark them held, and tell the engagements' leads at once.

    Only a row held for the first time tells anyone (its ``held_at`` was
    NULL under the sweep's lock); the notice and its mail are keyed by the
    delivery, so nobody is told twice. Each lead gets an in-app notification
    and a mail of its own, not a digest line, as their preferences allow;
    the mail waits for the end of their quiet hours. A fixed number of
    queries whatever the number of rows.
    """
    if not held:
        return
    fresh = [(subscription, row) for subscription, row in held if row.held_at is None]
    for _, row in fresh:
        row.held_at = as_of
    rows_rewrite([row for _, row in held], fields=["held_at", "summary", "health"])
    if not fresh:
        return
    leads: dict[int, list[int]] = {}
    for engagement_id, user_id in (
        Membership.objects.leads()
        .filter(engagement_id__in={s.engagement_id for s, _ in fresh}, user__is_active=True)
        .order_by("pk")
        .values_list("engagement_id", "user_id")
    ):
        leads.setdefault(engagement_id, []).append(user_id)
    recipients = recipients_for(user_ids={u for users in leads.values() for u in users})
    drafts, emails = [], []
    for subscription, row in fresh:
        url = reverse("delivery_review", args=[subscription.engagement_id, row.pk])
        name = one_line(subscription.stakeholder.name)
        period = period_label(schedule.Period(start=row.period_start, end=row.period_end or row.period_start))
        message = (
            f"The status update to {name} for {period} on {subscription.engagement.code} "
            "waits for your approval: it goes as soon as you approve it"
        )
        for user_id in leads.get(subscription.engagement_id, []):
            recipient = recipients.get(user_id)
            if recipient is None:
                continue
            drafts.append(
                NotificationDraft(
                    recipient_id=user_id,
                    event=NotificationEvent.UPDATE_APPROVAL_NEEDED,
                    key=f"delivery:{row.pk}",
                    message=message,
                    url=url,
                    engagement_id=subscription.engagement_id,
                )
            )
            if recipient.email and recipient.preference.wants(
                NotificationEvent.UPDATE_APPROVAL_NEEDED, "email"
            ):
                due = timezone.localtime(row.scheduled_for, recipient.zone)
                emails.append(
                    email_to(
                        recipient,
                        template="sponsor_updates/email/approval_needed",
                        context={
                            "recipient": recipient.user,
                            "stakeholder_name": name,
                            "engagement": subscription.engagement,
                            "period": period,
                            "due": due,
                            "review_url": settings.SITE_URL + url,
                            "preferences_url": settings.SITE_URL + reverse("notification_preferences"),
                        },
                        kind=OutboxMessage.Kind.AT_ONCE,
                        key=approval_needed_key(delivery_id=row.pk, user_id=user_id),
                        engagement_id=subscription.engagement_id,
                        not_before=_not_before(recipient, as_of),
                        about={"delivery": row.pk},
                    )
                )
    notifications_record(drafts=drafts, as_of=as_of, recipients=recipients)
    outbox_add(emails=emails, as_of=as_of)
    # Mailed on its own just now: no digest reports it again.
    Notification.objects.filter(
        event=NotificationEvent.UPDATE_APPROVAL_NEEDED,
        key__in=[f"delivery:{row.pk}" for _, row in fresh],
        email=True,
        mailed_at__isnull=True,
    ).update(mailed_at=as_of)


def _check_may_approve(actor: Any, engagement: Engagement) -> None:
    engagement_check_can(user=actor, engagement=engagement, action=Action.APPROVE_SPONSOR_UPDATE)


def update_next_draft(*, actor: Any, subscription: SponsorSubscription, as_of: datetime) -> Delivery:
    """The row of the subscription's next scheduled update, written ahead as a draft if it is not yet.

    Keyed like the sweep's row (subscription, local due date), so the sweep
    finds it at the send time and sends or holds it. Starts with a draft
    summary of the period so far. Leads, practice leads and administrators
    only. Idempotent: a second call returns the same row.
    """
    _check_may_approve(actor, subscription.engagement)
    send_at = subscription.next_send_at
    if not subscription.is_active or send_at is None:
        raise RuleViolation("These updates are off: no update is scheduled.")
    if schedule.is_paused(subscription, send_at=send_at):
        raise RuleViolation("The next update falls in the pause: nothing will be sent then.")
    period = schedule.period_for(
        subscription, send_at=send_at, since=last_period_ends([subscription.pk]).get(subscription.pk)
    )
    with transaction.atomic():
        existing = Delivery.objects.filter(
            subscription=subscription, ad_hoc_key="", period_end=period.end
        ).first()
        if existing is not None:
            return existing
        content = update_contents(
            subscriptions=[subscription], periods={subscription.pk: period}, as_of=as_of
        )[subscription.pk]
        Delivery.objects.bulk_create(
            [
                Delivery(
                    subscription=subscription,
                    period_start=period.start,
                    period_end=period.end,
                    scheduled_for=send_at,
                    health=content.health,
                    summary=summary_draft(content),
                )
            ],
            ignore_conflicts=True,
        )
        return Delivery.objects.get(subscription=subscription, ad_hoc_key="", period_end=period.end)


@transaction.atomic
def update_next_summary_save(
    *, actor: Any, subscription: SponsorSubscription, summary: str, approve: bool, as_of: datetime
) -> Delivery:
    """The lead writes, and with ``approve`` approves, the summary of the next update ahead of its time.

    The draft row (``update_next_draft``) and the summary are written
    together or not at all. Idempotent like ``delivery_summary_save``.
    """
    draft = update_next_draft(actor=actor, subscription=subscription, as_of=as_of)
    return delivery_summary_save(actor=actor, delivery=draft, summary=summary, approve=approve, as_of=as_of)


SUMMARY_REQUIRED = "Write a summary, or keep the drafted one."


@transaction.atomic
def delivery_summary_save(
    *, actor: Any, delivery: Delivery, summary: str, approve: bool, as_of: datetime
) -> Delivery:
    """The lead writes the update's summary, and approves it with ``approve``.

    A changed text is the lead's from now on (``summary_by``) and takes back
    an approval given to the old text, unless approved again in the same
    call. An update already sent cannot change (the same text again is
    accepted and changes nothing). Leads, practice leads and administrators
    only. Idempotent: the same text saved again changes nothing.
    """
    _check_may_approve(actor, delivery.subscription.engagement)
    text = summary.strip().replace("\r\n", "\n")
    if not text:
        raise ValidationError({"summary": SUMMARY_REQUIRED})
    if len(text) > LONG_TEXT_MAX_LENGTH:
        raise ValidationError({"summary": f"Keep it under {LONG_TEXT_MAX_LENGTH} characters."})
    row = Delivery.objects.select_for_update().get(pk=delivery.pk)
    if row.outbox_message_id is not None:
        if text == row.summary:  # The same words again (a double click): nothing to do.
            return row
        raise RuleViolation("This update has gone already; its summary can no longer change.")
    if text != row.summary:
        Delivery.objects.filter(pk=row.pk).update(
            summary=text, summary_by=actor, approved_at=None, approved_by=None
        )
    if approve:
        return delivery_approve(actor=actor, delivery=row, as_of=as_of)
    return Delivery.objects.get(pk=row.pk)


@transaction.atomic
def delivery_approve(*, actor: Any, delivery: Delivery, as_of: datetime) -> Delivery:
    """Approve an update's summary; an update held at its send time goes at once, marked late.

    Approved before its send time, the update goes with the sweep at that
    time; held already (it came due without approval), it is rendered now
    and handed to the outbox in this transaction, under the key naming its
    period, so it is written once however often it is approved or swept.
    Leads, practice leads and administrators only. Idempotent: a second
    approval changes nothing and sends nothing.
    """
    _check_may_approve(actor, delivery.subscription.engagement)
    row = (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("subscription__engagement__client", "subscription__stakeholder")
        .get(pk=delivery.pk)
    )
    if row.outbox_message_id is not None:
        return row
    if row.approved_at is None:
        Delivery.objects.filter(pk=row.pk, approved_at__isnull=True).update(
            approved_at=as_of, approved_by=actor
        )
        row.approved_at, row.approved_by = as_of, actor
    if row.held_at is not None:
        subscription = row.subscription
        period = schedule.Period(start=row.period_start, end=row.period_end or row.period_start)
        content = update_contents(
            subscriptions=[subscription], periods={subscription.pk: period}, as_of=as_of
        )[subscription.pk]
        row.health = content.health
        key = delivery_key(subscription.pk, period.end.isoformat())
        _hand_over([(subscription, row, content, key)], as_of=as_of)
    return row
