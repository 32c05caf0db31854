"""Overdue follow-ups, the daily digest, the escalation ladder and the outbox reconciler.

Each event is first an in-app notification (``communications.notifications``,
as the recipient's preferences say). Mail is a FollowUpNotice (the
sent-marker, unique per recipient, kind and window) written in the
transaction that decides to send; its send task is enqueued only after that
transaction commits, or later by the reconciler when the recipient's quiet
hours hold it or the broker lost it. The send task mails each notice at most
once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communications.emails import email_render
from communications.models import FollowUp, FollowUpNotice, Notification, NotificationEvent
from communications.notifications import (
    NotificationDraft,
    Recipient,
    digest_slot,
    digest_window_key,
    email_allowed_from,
    email_is_held,
    notifications_record,
    recipients_for,
)
from engagements.models import Membership
from engagements.working_days import working_days_after
from pmaas.locking import skip_locked
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
# Longer than a send task's whole retry chain (about 85 minutes, communications.tasks),
# so the reconciler never enqueues beside a retry still waiting on the broker.
NOTICE_REQUEUE_AFTER = timedelta(hours=2)
RECONCILE_BATCH_SIZE = 500
_ERROR_LIMIT = 2000
# An event exactly at a digest slot belongs to the next window, not the one being sent.
_JUST_AFTER = timedelta(microseconds=1)

NoticeKey = tuple[int, str, str]


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


def _insert_notices(
    notices: list[FollowUpNotice], *, existing: set[NoticeKey] | None = None
) -> list[FollowUpNotice]:
    """Insert the notices not yet written and return those this call wrote, with their ids.

    The unique constraint drops a notice another sweep wrote first (INSERT …
    ON CONFLICT DO NOTHING); the keys present before the insert (``existing``
    when the caller read them already) are left out of the answer, so a
    re-run enqueues nothing.
    """
    if not notices:
        return []
    if existing is None:
        existing = set(
            FollowUpNotice.objects.filter(
                recipient_id__in={n.recipient_id for n in notices},
                kind__in={n.kind for n in notices},
                window_key__in={n.window_key for n in notices},
            ).values_list("recipient_id", "kind", "window_key")
        )
    fresh = {(n.recipient_id, n.kind, n.window_key): n for n in notices}
    for key in existing:
        fresh.pop(key, None)
    if not fresh:
        return []
    FollowUpNotice.objects.bulk_create(list(fresh.values()), ignore_conflicts=True)
    written = FollowUpNotice.objects.filter(
        recipient_id__in={key[0] for key in fresh},
        kind__in={key[1] for key in fresh},
        window_key__in={key[2] for key in fresh},
        delivered_at__isnull=True,
    ).values_list("pk", "recipient_id", "kind", "window_key")
    wrote = []
    for pk, recipient_id, kind, window_key in written:
        notice = fresh.get((recipient_id, kind, window_key))
        if notice is not None:
            notice.pk = pk
            wrote.append(notice)
    return wrote


def _enqueue(notice_ids: Iterable[int]) -> None:
    from communications.tasks import send_follow_up_notice

    for notice_id in notice_ids:
        transaction.on_commit(partial(send_follow_up_notice.delay, notice_id))


def _enqueue_unheld(notices: list[FollowUpNotice]) -> None:
    """Enqueue the written notices that may go now; the reconciler sends the held ones later."""
    _enqueue(n.pk for n in notices if n.enqueued_at is not None)


def _timing(recipient: Recipient, as_of: datetime) -> dict[str, datetime | None]:
    """A new notice's ``send_after`` and ``enqueued_at``: held to the end of quiet hours, or enqueued now."""
    if email_is_held(preference=recipient.preference, zone=recipient.zone, at=as_of):
        return {
            "send_after": email_allowed_from(preference=recipient.preference, zone=recipient.zone, at=as_of),
            "enqueued_at": None,
        }
    return {"send_after": None, "enqueued_at": as_of}


def _follow_up_url(follow_up: FollowUp) -> str:
    return reverse("engagement_follow_ups", kwargs={"pk": follow_up.engagement_id})


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
    kind = FollowUpNotice.Kind.OVERDUE_DIGEST
    # The recipients' recent digests: the windows already written, and what they listed, so
    # a digest time changed since then does not report the same item in a second window.
    # Window keys are ISO dates, so they compare as strings.
    earliest_key = (start - timedelta(days=2)).date().isoformat()
    existing: set[NoticeKey] = set()
    listed: dict[int, set[int]] = defaultdict(set)
    told: dict[int, set[int]] = defaultdict(set)
    for recipient_id, window, follow_up_ids, notification_ids in FollowUpNotice.objects.filter(
        kind=kind, recipient_id__in={key[0] for key in digests}, window_key__gte=earliest_key
    ).values_list("recipient_id", "window_key", "follow_up_ids", "notification_ids"):
        existing.add((recipient_id, kind, window))
        listed[recipient_id].update(follow_up_ids)
        told[recipient_id].update(notification_ids)
    new = {key: d for key, d in digests.items() if (key[0], kind, key[1]) not in existing}
    for (recipient_id, _), digest in new.items():
        digest.follow_up_ids = [pk for pk in digest.follow_up_ids if pk not in listed[recipient_id]]
        digest.notification_ids = [pk for pk in digest.notification_ids if pk not in told[recipient_id]]
    _keep_visible(new)
    notices = [
        FollowUpNotice(
            recipient_id=recipient_id,
            kind=kind,
            window_key=window,
            follow_up_ids=digest.follow_up_ids,
            notification_ids=digest.notification_ids,
            **_timing(recipients[recipient_id], as_of),
        )
        for (recipient_id, window), digest in new.items()
        if digest.follow_up_ids or digest.notification_ids
    ]
    written = _insert_notices(notices, existing=existing)
    _enqueue_unheld(written)
    return len(written)


def _keep_visible(digests: dict[tuple[int, str], _Digest]) -> None:
    """Drop from each digest the follow-ups its recipient may no longer see; one query per recipient."""
    by_recipient: dict[int, set[int]] = defaultdict(set)
    for (recipient_id, _), digest in digests.items():
        by_recipient[recipient_id].update(digest.follow_up_ids)
    readers = {rid for rid, ids in by_recipient.items() if ids}
    if not readers:
        return
    users = User.objects.in_bulk(readers)
    visible: dict[int, set[int]] = {
        rid: set(
            FollowUp.objects.visible_to(users[rid])
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

    A level is reached once its number of working days has passed since the
    due time (``working_days_after``: counted in the client's zone, weekends
    and the engagement's country's public holidays do not count); the
    thresholds are settings.FOLLOW_UP_ESCALATION_DAYS.
    """
    lead_days, practice_days = settings.FOLLOW_UP_ESCALATION_DAYS
    calendar = {"country": follow_up.engagement.country, "time_zone": follow_up.engagement.client.time_zone}
    if as_of >= working_days_after(follow_up.due_at, practice_days, **calendar):
        return 2
    if as_of >= working_days_after(follow_up.due_at, lead_days, **calendar):
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
        .select_related("engagement__client")
        .order_by("pk")
    )
    escalated = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            locked = skip_locked(candidates.filter(pk__gt=last_pk))
            batch = list(locked[:batch_size])
            if not batch:
                return escalated
            rising = [
                (f, level)
                for f in batch
                if (level := follow_up_escalation_level(follow_up=f, as_of=as_of)) > f.escalation_level
            ]
            if rising:
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
                notices: list[FollowUpNotice] = []
                for follow_up, rung, recipient_id in rungs:
                    recipient = recipients.get(recipient_id)
                    if recipient is None:
                        continue
                    drafts.append(_escalation_draft(follow_up, rung, recipient))
                    if recipient.preference.wants(NotificationEvent.FOLLOW_UP_ESCALATED, "email"):
                        notices.append(
                            FollowUpNotice(
                                recipient_id=recipient_id,
                                kind=FollowUpNotice.Kind.ESCALATION,
                                window_key=f"{follow_up.pk}:{rung}",
                                follow_up_ids=[follow_up.pk],
                                level=rung,
                                **_timing(recipient, as_of),
                            )
                        )
                FollowUp.objects.bulk_update(
                    [f for f, _ in rising], ["escalation_level", "escalated_at"], batch_size=batch_size
                )
                notifications_record(drafts=drafts, as_of=as_of, recipients=recipients)
                _enqueue_unheld(_insert_notices(notices))
                escalated += len(rising)
        last_pk = batch[-1].pk
        if len(batch) < batch_size:
            return escalated


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


def _notice_message(notice: FollowUpNotice) -> EmailMultiAlternatives:
    recipient = notice.recipient
    items = FollowUp.objects.filter(pk__in=notice.follow_up_ids).select_related(
        "engagement", "owner_user", "owner_stakeholder"
    )
    total = len(notice.follow_up_ids)
    shown = list(items.order_by("due_at", "pk")[:DIGEST_ITEM_LIMIT])
    events = list(Notification.objects.filter(pk__in=notice.notification_ids).order_by("created_at", "pk"))
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        counts[event.event] += 1
    context = {
        "notice": notice,
        "recipient": recipient,
        "items": shown,
        "item": shown[0] if shown else None,
        "more": max(total - len(shown), 0),
        "events": events[:DIGEST_ITEM_LIMIT],
        "more_events": max(len(events) - DIGEST_ITEM_LIMIT, 0),
        "summary": _digest_summary(total, counts),
        "level_text": "engagement lead" if notice.level == 1 else "practice lead",
        "recipient_time_zone": recipient.time_zone,
        "site_url": settings.SITE_URL,
        "week_url": settings.SITE_URL + reverse("home"),
        "notifications_url": settings.SITE_URL + reverse("notification_list"),
    }
    name = "overdue_digest" if notice.kind == FollowUpNotice.Kind.OVERDUE_DIGEST else "escalation"
    return email_render(template=name, context=context, recipient=recipient)


def follow_up_notice_send(*, notice_id: int) -> bool:
    """Mail one notice; called by the send task, which retries while the mail server fails.

    The row is locked while sending, so two deliveries of the same task send
    it once; a delivered notice is skipped. Each attempt is counted and a
    failure's error recorded (shown in the admin) before it is raised for the
    task to retry. At least once: a worker killed after the server accepted
    and before the commit sends it again. Skips (False) when the notice is
    gone, delivered, or its recipient has no email address.
    """
    with transaction.atomic():
        notice = (
            FollowUpNotice.objects.select_for_update(of=("self",))
            .select_related("recipient")
            .filter(pk=notice_id)
            .first()
        )
        if notice is None or notice.delivered_at is not None:
            return False
        if not notice.recipient.email:
            notice.last_error = "The recipient has no email address."
            notice.save(update_fields=["last_error"])
            logger.warning("follow-up notice %s: recipient has no email address", notice.pk)
            return False
        message = _notice_message(notice)
        try:
            message.send()
        except OSError as exc:
            failed = exc
        else:
            FollowUpNotice.objects.filter(pk=notice.pk).update(
                attempts=F("attempts") + 1, last_error="", delivered_at=timezone.now()
            )
            return True
    # Recorded after the lock is released and not rolled back by the raise, so the admin sees it.
    FollowUpNotice.objects.filter(pk=notice_id).update(
        attempts=F("attempts") + 1, last_error=repr(failed)[:_ERROR_LIMIT]
    )
    logger.warning("follow-up notice %s: mail failed: %r", notice_id, failed)
    raise failed


def follow_up_notices_reconcile(*, as_of: datetime, batch_size: int = RECONCILE_BATCH_SIZE) -> int:
    """Enqueue every undelivered notice whose time has come and whose send task is missing.

    Pending means: not delivered, ``send_after`` empty or passed (quiet hours
    over), and never enqueued or enqueued longer ago than
    NOTICE_REQUEUE_AFTER (the broker lost the task, or its retries ran out
    while the mail server was down). Nothing is given up: a notice that keeps
    failing stays in the admin with its last error and is tried again at this
    slow pace. Each batch is locked (SKIP LOCKED on PostgreSQL), claimed by
    one conditional UPDATE of ``enqueued_at`` and enqueued on commit, so two
    reconcilers at once enqueue each notice once. Two statements per batch.
    Returns the number enqueued.
    """
    pending = Q(send_after__isnull=True) | Q(send_after__lte=as_of)
    missing = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=as_of - NOTICE_REQUEUE_AFTER)
    candidates = FollowUpNotice.objects.undelivered().filter(pending, missing).order_by("pk")
    enqueued = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            locked = skip_locked(candidates.filter(pk__gt=last_pk))
            ids = list(locked.values_list("pk", flat=True)[:batch_size])
            if not ids:
                return enqueued
            # The rows are locked by this transaction (or, on SQLite, the whole
            # database is), so every id read is still pending and is claimed here.
            candidates.filter(pk__in=ids).update(enqueued_at=as_of)
            _enqueue(ids)
            enqueued += len(ids)
        last_pk = ids[-1]
        if len(ids) < batch_size:
            return enqueued
