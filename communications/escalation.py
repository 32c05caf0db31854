"""Overdue follow-ups, the daily digest and the escalation ladder.

Each event is first an in-app notification (``notifications.services``, as
the recipient's preferences say). Mail is decided here and rendered at once:
a digest or an escalation becomes an outbox message (``notifications.outbox``)
in the transaction that decides to send it, its idempotency key naming the
recipient and window (or follow-up and rung), so it is written once; the
outbox sends it, after the recipient's quiet hours if they hold it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from accounts.models import User
from communications.models import FollowUp
from communications.services import follow_ups_flag_overdue
from engagements.models import Membership
from engagements.working_days import end_of_working_day, engagement_calendar
from notifications.models import Notification, NotificationEvent, OutboxMessage
from notifications.outbox import OutboundEmail, outbox_add
from notifications.rendering import email_to
from notifications.selectors import Recipient, recipients_for
from notifications.services import NotificationDraft, notifications_record
from notifications.timing import digest_slot, digest_window_key, email_allowed_from, email_is_held
from pmaas.locking import claim_in_batches
from stakeholders.models import StakeholderRole

logger = logging.getLogger(__name__)

# What happened this many days ago or less is still digested, so a sweep that
# was down for a few days catches up with one mail per missed digest slot.
DIGEST_CATCH_UP_DAYS = 7
# A digest lists this many items of each sort and summarises the rest with a link.
DIGEST_ITEM_LIMIT = 20
# Besides overdue follow-ups, the digest reports these in-app events the recipient wants by email.
DIGEST_EVENTS = (NotificationEvent.CHECK_IN_MISSED, NotificationEvent.SPONSOR_SILENT)
ESCALATION_BATCH_SIZE = 500
# An event exactly at a digest slot belongs to the next window, not the one being sent.
_JUST_AFTER = timedelta(microseconds=1)


def follow_up_digest_recipient_id(
    follow_up: FollowUp, relationship_owners: dict[tuple[int, int], int]
) -> int | None:
    """Who is told a follow-up went overdue: its owner, or for a client's item the relationship owner.

    A stakeholder-owned item goes to the relationship owner of that
    stakeholder's role on the engagement, else to the engagement lead (passed
    in ``relationship_owners`` under the stakeholder id 0).
    """
    if follow_up.owner_user_id is not None:
        return follow_up.owner_user_id
    key = (follow_up.engagement_id, follow_up.owner_stakeholder_id or 0)
    return relationship_owners.get(key) or relationship_owners.get((follow_up.engagement_id, 0))


def _relationship_owners(follow_ups: Iterable[FollowUp]) -> dict[tuple[int, int], int]:
    """(engagement id, stakeholder id) → relationship owner id, and (engagement id, 0) → a lead's id."""
    client_items = [f for f in follow_ups if f.owner_stakeholder_id is not None]
    if not client_items:
        return {}
    engagement_ids = {f.engagement_id for f in client_items}
    owners: dict[tuple[int, int], int] = {}
    roles = StakeholderRole.objects.filter(
        engagement_id__in=engagement_ids,
        stakeholder_id__in={f.owner_stakeholder_id for f in client_items},
        relationship_owner__isnull=False,
        relationship_owner__is_active=True,
    ).values_list("engagement_id", "stakeholder_id", "relationship_owner_id")
    for engagement_id, stakeholder_id, owner_id in roles:
        owners[(engagement_id, stakeholder_id)] = owner_id
    leads = (
        Membership.objects.leads()
        .filter(engagement_id__in=engagement_ids, user__is_active=True)
        .order_by("engagement_id", "pk")
        .values_list("engagement_id", "user_id")
    )
    for engagement_id, user_id in leads:
        owners.setdefault((engagement_id, 0), user_id)
    return owners


def _not_before(recipient: Recipient, as_of: datetime) -> datetime | None:
    """When mail decided at ``as_of`` may go: at once, or at the end of the recipient's quiet hours."""
    if email_is_held(preference=recipient.preference, zone=recipient.zone, at=as_of):
        return email_allowed_from(preference=recipient.preference, zone=recipient.zone, at=as_of)
    return None


def digest_key(*, recipient_id: int, window: str) -> str:
    return f"overdue_digest:user:{recipient_id}:{window}"


def escalation_key(*, recipient_id: int, follow_up_id: int, rung: int) -> str:
    return f"escalation:user:{recipient_id}:follow_up:{follow_up_id}:level:{rung}"


def _follow_up_url(follow_up: FollowUp) -> str:
    return reverse("engagement_follow_ups", kwargs={"pk": follow_up.engagement_id})


def follow_ups_sweep_overdue(*, as_of: datetime) -> int:
    """The overdue sweep: flag newly overdue follow-ups, tell whom each concerns, escalate the late.

    Idempotent steps on one ``as_of``; a run cut short is finished by the
    next. Flagging and telling share one transaction, since the owners are
    told of the items stamped with this very ``as_of``. Returns the number
    newly flagged; the other counts are logged.
    """
    with transaction.atomic():
        flagged = follow_ups_flag_overdue(as_of=as_of)
        told = follow_ups_notify_overdue(as_of=as_of)
    escalated = follow_ups_escalate(as_of=as_of)
    logger.info("overdue follow-ups: %s flagged, %s told, %s escalated", flagged, told, escalated)
    return flagged


def follow_ups_notify_overdue(*, as_of: datetime) -> int:
    """Tell the digest recipient of each follow-up the overdue scan flagged at ``as_of`` (FOLLOW_UP_OVERDUE).

    Runs right after ``services.follow_ups_flag_overdue`` on the same
    ``as_of``; the in-app notification arrives at once, the mail comes with
    the daily digest. At most five queries whatever the number of items;
    idempotent (one notification per recipient and follow-up). Returns the
    number of notifications set out to insert.
    """
    follow_ups = list(
        FollowUp.objects.open()
        .filter(overdue_stamp__overdue_at=as_of)
        .select_related("engagement")
        .only("pk", "title", "due_at", "engagement__code", "owner_user_id", "owner_stakeholder_id")
    )
    owners = _relationship_owners(follow_ups)
    pairs = [(f, follow_up_digest_recipient_id(f, owners)) for f in follow_ups]
    recipients = recipients_for(user_ids={r for _, r in pairs if r is not None})
    drafts = []
    for follow_up, recipient_id in pairs:
        recipient = recipients.get(recipient_id) if recipient_id is not None else None
        if recipient is None:
            continue
        due = follow_up.due_at.astimezone(recipient.zone)
        drafts.append(
            NotificationDraft(
                recipient_id=recipient.user_id,
                event=NotificationEvent.FOLLOW_UP_OVERDUE,
                key=f"follow_up:{follow_up.pk}",
                message=(
                    f'"{follow_up.title}" on {follow_up.engagement.code} went overdue '
                    f"(due {due:%a %d %b, %H:%M})."
                ),
                url=_follow_up_url(follow_up),
                engagement_id=follow_up.engagement_id,
            )
        )
    return notifications_record(drafts=drafts, as_of=as_of, recipients=recipients)


@dataclass
class _Digest:
    follow_up_ids: list[int] = field(default_factory=list)
    notification_ids: list[int] = field(default_factory=list)


@transaction.atomic
def follow_ups_send_overdue_digests(*, as_of: datetime) -> int:
    """Write each recipient's daily digest once its slot has passed, and mail it.

    A recipient's slots are their digest time in their time zone, on the days
    they take mail (``digest_slot``); a digest covers what happened since the
    slot before: follow-ups that went overdue and are still open (to
    follow_up_digest_recipient_id, and only those the recipient may still see,
    so someone who left the team is not told about a client's item), plus
    their in-app notifications of DIGEST_EVENTS marked for email. Only the
    events the recipient wants by email are listed; a digest with nothing in
    it is not written. Its window key is the slot's local date
    (``digest_window_key``), unique per recipient, written with ON CONFLICT
    DO NOTHING and enqueued after commit: a re-run, or two beats at once,
    mails nothing twice; an item listed in a recent digest is not listed
    again (a changed digest time moves the windows). Catch-up: after an outage every slot of the last
    DIGEST_CATCH_UP_DAYS days that was missed gets its own digest of its own
    window, so each mail still says what happened on its day. A digest that
    falls in the recipient's quiet hours waits for the reconciler. A fixed
    number of queries plus one per recipient with follow-ups (the visibility
    check). Returns the number of digests written.
    """
    start = as_of - timedelta(days=DIGEST_CATCH_UP_DAYS)
    follow_ups = list(
        FollowUp.objects.open()
        .with_overdue_at()
        .filter(overdue_stamp__overdue_at__gte=start, overdue_stamp__overdue_at__lt=as_of)
        .only("pk", "engagement_id", "owner_user_id", "owner_stakeholder_id")
        .order_by("due_at", "pk")
    )
    owners = _relationship_owners(follow_ups)
    happened: list[tuple[int, datetime, str, int]] = []
    for follow_up in follow_ups:
        recipient_id = follow_up_digest_recipient_id(follow_up, owners)
        overdue_at = getattr(follow_up, "overdue_at", None)
        if recipient_id is not None and overdue_at is not None:
            happened.append((recipient_id, overdue_at, NotificationEvent.FOLLOW_UP_OVERDUE, follow_up.pk))
    events = Notification.objects.filter(
        email=True, event__in=DIGEST_EVENTS, created_at__gte=start, created_at__lt=as_of
    ).order_by("created_at", "pk")
    happened.extend(
        (recipient_id, at, event, pk)
        for pk, recipient_id, event, at in events.values_list("pk", "recipient_id", "event", "created_at")
    )
    if not happened:
        return 0
    recipients = recipients_for(user_ids={h[0] for h in happened})
    digests: dict[tuple[int, str], _Digest] = defaultdict(_Digest)
    for recipient_id, at, event, pk in happened:
        recipient = recipients.get(recipient_id)
        if recipient is None or not recipient.preference.wants(event, "email"):
            continue
        slot = digest_slot(preference=recipient.preference, zone=recipient.zone, at=at + _JUST_AFTER)
        if slot > as_of:
            continue
        digest = digests[(recipient_id, digest_window_key(slot=slot, zone=recipient.zone))]
        if event == NotificationEvent.FOLLOW_UP_OVERDUE:
            digest.follow_up_ids.append(pk)
        else:
            digest.notification_ids.append(pk)
    if not digests:
        return 0
    # The recipients' recent digests: the windows already written, and what they listed, so
    # a digest time changed since then does not report the same item in a second window.
    existing: set[tuple[int, str]] = set()
    listed: dict[int, set[int]] = defaultdict(set)
    told: dict[int, set[int]] = defaultdict(set)
    for recipient_id, about in OutboxMessage.objects.filter(
        kind=OutboxMessage.Kind.OVERDUE_DIGEST,
        recipient_id__in={key[0] for key in digests},
        created_at__gte=start - timedelta(days=2),
    ).values_list("recipient_id", "about"):
        existing.add((recipient_id, about.get("window", "")))
        listed[recipient_id].update(about.get("follow_up_ids", []))
        told[recipient_id].update(about.get("notification_ids", []))
    new = {key: d for key, d in digests.items() if key not in existing}
    for (recipient_id, _), digest in new.items():
        digest.follow_up_ids = [pk for pk in digest.follow_up_ids if pk not in listed[recipient_id]]
        digest.notification_ids = [pk for pk in digest.notification_ids if pk not in told[recipient_id]]
    _keep_visible(new, recipients)
    new = {key: d for key, d in new.items() if d.follow_up_ids or d.notification_ids}
    if not new:
        return 0
    return outbox_add(emails=_digest_emails(new, recipients, as_of=as_of), as_of=as_of)


def _keep_visible(digests: dict[tuple[int, str], _Digest], recipients: dict[int, Recipient]) -> None:
    """Drop from each digest the follow-ups its recipient may no longer see; one query per recipient."""
    by_recipient: dict[int, set[int]] = defaultdict(set)
    for (recipient_id, _), digest in digests.items():
        by_recipient[recipient_id].update(digest.follow_up_ids)
    readers = {rid for rid, ids in by_recipient.items() if ids}
    if not readers:
        return
    visible: dict[int, set[int]] = {
        rid: set(
            FollowUp.objects.visible_to(recipients[rid].user)
            .filter(pk__in=by_recipient[rid])
            .values_list("pk", flat=True)
        )
        for rid in readers
    }
    for (recipient_id, _), digest in digests.items():
        if digest.follow_up_ids:
            seen = visible.get(recipient_id, set())
            digest.follow_up_ids = [pk for pk in digest.follow_up_ids if pk in seen]


def follow_up_escalation_level(*, follow_up: FollowUp, as_of: datetime) -> int:
    """The ladder level a follow-up has reached: 0, 1 (engagement lead) or 2 (practice leads).

    Level N is reached once its number of working days
    (settings.FOLLOW_UP_ESCALATION_DAYS) have ended after the due day: at the
    end of the Nth working day after the due time's local date, under the
    time-zone rule of ``engagements.working_days`` (``end_of_working_day``).
    """
    lead_days, practice_days = settings.FOLLOW_UP_ESCALATION_DAYS
    calendar = engagement_calendar(follow_up.engagement)
    if as_of >= end_of_working_day(follow_up.due_at, practice_days, calendar=calendar):
        return 2
    if as_of >= end_of_working_day(follow_up.due_at, lead_days, calendar=calendar):
        return 1
    return 0


def _escalation_recipients(follow_ups: list[FollowUp]) -> tuple[dict[int, list[int]], list[int]]:
    leads: dict[int, list[int]] = defaultdict(list)
    for engagement_id, user_id in (
        Membership.objects.leads()
        .filter(engagement_id__in={f.engagement_id for f in follow_ups}, user__is_active=True)
        .values_list("engagement_id", "user_id")
    ):
        leads[engagement_id].append(user_id)
    practice_leads = list(
        User.objects.filter(role=User.Role.PRACTICE_LEAD, is_active=True).values_list("pk", flat=True)
    )
    return leads, practice_leads


def _escalation_draft(follow_up: FollowUp, rung: int, recipient: Recipient) -> NotificationDraft:
    due = follow_up.due_at.astimezone(recipient.zone)
    as_whom = "engagement lead" if rung == 1 else "practice lead"
    return NotificationDraft(
        recipient_id=recipient.user_id,
        event=NotificationEvent.FOLLOW_UP_ESCALATED,
        key=f"{follow_up.pk}:{rung}",
        message=(
            f'"{follow_up.title}" on {follow_up.engagement.code}, due {due:%a %d %b, %H:%M}, '
            f"is still open and escalated to you as {as_whom}."
        ),
        url=_follow_up_url(follow_up),
        engagement_id=follow_up.engagement_id,
    )


def follow_ups_escalate(*, as_of: datetime, batch_size: int = ESCALATION_BATCH_SIZE) -> int:
    """Escalate open overdue follow-ups up the ladder and tell each new rung once.

    Level 1 tells the engagement lead(s), level 2 the practice leads; a sweep
    that finds an item past both writes both rungs. Each batch is locked
    (SKIP LOCKED where the database has it); every rung recipient gets an
    in-app FOLLOW_UP_ESCALATED notification (key "<follow-up>:<rung>") and,
    if they want escalations by email, a notice (one per recipient,
    follow-up and level) inserted with ON CONFLICT DO NOTHING. A notice in
    the recipient's quiet hours or free weekend gets ``send_after`` (their
    end) and waits for the reconciler; the others are enqueued on commit with
    ``enqueued_at``. escalation_level and escalated_at are written with
    bulk_update. Only open items escalate; an item never goes down or repeats
    a level. Idempotent. Returns the number of follow-ups escalated.
    """
    candidates = (
        FollowUp.objects.open()
        .flagged()
        .filter(escalation_level__lt=2, due_at__lt=as_of)
        .select_related("engagement__client", "owner_user", "owner_stakeholder")
    )

    def escalate(batch: list[FollowUp]) -> int:
        rising = [
            (f, level)
            for f in batch
            if (level := follow_up_escalation_level(follow_up=f, as_of=as_of)) > f.escalation_level
        ]
        if not rising:
            return 0
        leads, practice_leads = _escalation_recipients([f for f, _ in rising])
        rungs: list[tuple[FollowUp, int, int]] = []
        for follow_up, level in rising:
            for rung in range(follow_up.escalation_level + 1, level + 1):
                told = leads[follow_up.engagement_id] if rung == 1 else practice_leads
                rungs.extend((follow_up, rung, recipient_id) for recipient_id in told)
            follow_up.escalation_level = level
            follow_up.escalated_at = as_of
        recipients = recipients_for(user_ids={r for _, _, r in rungs})
        drafts: list[NotificationDraft] = []
        emails: list[OutboundEmail] = []
        for follow_up, rung, recipient_id in rungs:
            recipient = recipients.get(recipient_id)
            if recipient is None:
                continue
            drafts.append(_escalation_draft(follow_up, rung, recipient))
            if recipient.preference.wants(NotificationEvent.FOLLOW_UP_ESCALATED, "email"):
                emails.append(_escalation_email(follow_up, rung, recipient, as_of=as_of))
        FollowUp.objects.bulk_update(
            [f for f, _ in rising], ["escalation_level", "escalated_at"], batch_size=batch_size
        )
        notifications_record(drafts=drafts, as_of=as_of, recipients=recipients)
        outbox_add(emails=emails, as_of=as_of)
        return len(rising)

    return claim_in_batches(candidates, batch_size=batch_size, claim=escalate)


def _digest_summary(follow_ups: int, counts: dict[str, int]) -> str:
    """ "3 follow-ups overdue, 1 check-in missed": what a digest holds, for its subject."""
    parts = []
    if follow_ups:
        parts.append(f"{follow_ups} follow-up{'s' * (follow_ups != 1)} overdue")
    missed = counts.get(NotificationEvent.CHECK_IN_MISSED, 0)
    if missed:
        parts.append(f"{missed} check-in{'s' * (missed != 1)} missed")
    silent = counts.get(NotificationEvent.SPONSOR_SILENT, 0)
    if silent:
        parts.append(f"{silent} stakeholder{'s' * (silent != 1)} gone quiet")
    return ", ".join(parts) or "nothing new"


def _links() -> dict[str, str]:
    return {
        "site_url": settings.SITE_URL,
        "week_url": settings.SITE_URL + reverse("home"),
        "notifications_url": settings.SITE_URL + reverse("notification_list"),
    }


def _email(
    *,
    template: str,
    kind: str,
    key: str,
    recipient: Recipient,
    context: dict[str, Any],
    as_of: datetime,
    **extra: Any,
) -> OutboundEmail:
    user = recipient.user
    return email_to(
        recipient,
        template=f"communications/email/{template}",
        context={**context, **_links(), "recipient": user, "recipient_time_zone": user.time_zone},
        kind=kind,
        key=key,
        not_before=_not_before(recipient, as_of),
        **extra,
    )


def _digest_emails(
    digests: dict[tuple[int, str], _Digest], recipients: dict[int, Recipient], *, as_of: datetime
) -> list[OutboundEmail]:
    """Each digest rendered with what it lists; two queries for all of them."""
    follow_up_ids = {pk for d in digests.values() for pk in d.follow_up_ids}
    notification_ids = {pk for d in digests.values() for pk in d.notification_ids}
    items = FollowUp.objects.filter(pk__in=follow_up_ids).select_related(
        "engagement", "owner_user", "owner_stakeholder"
    )
    follow_ups = {f.pk: f for f in items.order_by("due_at", "pk")} if follow_up_ids else {}
    notifications = (
        {n.pk: n for n in Notification.objects.filter(pk__in=notification_ids).order_by("created_at", "pk")}
        if notification_ids
        else {}
    )
    emails = []
    for (recipient_id, window), digest in digests.items():
        listed, told = set(digest.follow_up_ids), set(digest.notification_ids)
        shown = [follow_up for pk, follow_up in follow_ups.items() if pk in listed]
        events = [event for pk, event in notifications.items() if pk in told]
        counts: dict[str, int] = defaultdict(int)
        for event in events:
            counts[event.event] += 1
        context = {
            "items": shown[:DIGEST_ITEM_LIMIT],
            "more": max(len(shown) - DIGEST_ITEM_LIMIT, 0),
            "events": events[:DIGEST_ITEM_LIMIT],
            "more_events": max(len(events) - DIGEST_ITEM_LIMIT, 0),
            "summary": _digest_summary(len(shown), counts),
            # After an outage several digests go at once: each names the day it covers.
            "window_day": date.fromisoformat(window),
        }
        emails.append(
            _email(
                template="overdue_digest",
                kind=OutboxMessage.Kind.OVERDUE_DIGEST,
                key=digest_key(recipient_id=recipient_id, window=window),
                recipient=recipients[recipient_id],
                context=context,
                as_of=as_of,
                about={
                    "window": window,
                    "follow_up_ids": [f.pk for f in shown],
                    "notification_ids": [n.pk for n in events],
                },
            )
        )
    return emails


def _escalation_email(
    follow_up: FollowUp, rung: int, recipient: Recipient, *, as_of: datetime
) -> OutboundEmail:
    return _email(
        template="escalation",
        kind=OutboxMessage.Kind.ESCALATION,
        key=escalation_key(recipient_id=recipient.user_id, follow_up_id=follow_up.pk, rung=rung),
        recipient=recipient,
        context={"item": follow_up, "level_text": "engagement lead" if rung == 1 else "practice lead"},
        as_of=as_of,
        engagement_id=follow_up.engagement_id,
        about={"follow_up_ids": [follow_up.pk], "level": rung},
    )
