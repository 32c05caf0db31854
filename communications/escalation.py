"""Overdue follow-ups: one digest per recipient and window, and the escalation ladder.

Both write a FollowUpNotice (the sent-marker, unique per recipient, kind and
window) in the transaction that decides to send, and enqueue its mail only
after that transaction commits; the send task mails each notice at most once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communications.emails import email_render
from communications.models import FollowUp, FollowUpNotice
from communications.working_days import working_day_calendar
from engagements.models import Membership
from stakeholders.models import StakeholderRole

logger = logging.getLogger(__name__)

# Windows closed this many days ago or less are still digested, so a sweep that
# was down for a few days catches up with one mail per missed window.
DIGEST_CATCH_UP_DAYS = 7
# A digest lists this many items and summarises the rest with a link to My week.
DIGEST_ITEM_LIMIT = 20
ESCALATION_BATCH_SIZE = 500
_ERROR_LIMIT = 2000

NoticeKey = tuple[int, str, str]


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


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


def _insert_notices(notices: list[FollowUpNotice]) -> list[int]:
    """Insert the notices not yet written and return the ids of those this call wrote.

    The unique constraint drops a notice another sweep wrote first (INSERT …
    ON CONFLICT DO NOTHING); the keys present before the insert are left out
    of the answer, so a re-run enqueues nothing.
    """
    if not notices:
        return []
    recipients = {n.recipient_id for n in notices}
    windows = {n.window_key for n in notices}
    kinds = {n.kind for n in notices}
    existing: set[NoticeKey] = set(
        FollowUpNotice.objects.filter(
            recipient_id__in=recipients, kind__in=kinds, window_key__in=windows
        ).values_list("recipient_id", "kind", "window_key")
    )
    fresh = [n for n in notices if (n.recipient_id, n.kind, n.window_key) not in existing]
    if not fresh:
        return []
    FollowUpNotice.objects.bulk_create(fresh, ignore_conflicts=True)
    wanted = {(n.recipient_id, n.kind, n.window_key) for n in fresh}
    written = FollowUpNotice.objects.filter(
        recipient_id__in={key[0] for key in wanted},
        kind__in={key[1] for key in wanted},
        window_key__in={key[2] for key in wanted},
        delivered_at__isnull=True,
    ).values_list("pk", "recipient_id", "kind", "window_key")
    return [pk for pk, *key in written if tuple(key) in wanted]


def _enqueue(notice_ids: list[int]) -> None:
    from communications.tasks import send_follow_up_notice

    for notice_id in notice_ids:
        transaction.on_commit(partial(send_follow_up_notice.delay, notice_id))


@transaction.atomic
def follow_ups_send_overdue_digests(*, as_of: datetime) -> int:
    """Write one digest notice per recipient and closed UTC day of newly overdue follow-ups, and mail it.

    A window is one UTC date on which the overdue scan stamped items; it is
    digested once the day is over (the last DIGEST_CATCH_UP_DAYS days, so an
    outage is caught up), listing the items of that day still open. Recipients
    follow follow_up_digest_recipient_id. The notice is inserted with ON
    CONFLICT DO NOTHING on (recipient, kind, window), and its send task is
    enqueued after commit: a second run, or two at once, mails nothing twice.
    A fixed number of queries whatever the number of items. Returns the
    number of digests written.
    """
    today = as_of.astimezone(UTC).date()
    follow_ups = list(
        FollowUp.objects.open()
        .filter(
            overdue_at__gte=_day_start(today - timedelta(days=DIGEST_CATCH_UP_DAYS)),
            overdue_at__lt=_day_start(today),
        )
        .only("pk", "engagement_id", "owner_user_id", "owner_stakeholder_id", "overdue_at")
        .order_by("due_at", "pk")
    )
    owners = _relationship_owners(follow_ups)
    grouped: dict[tuple[int, str], list[int]] = defaultdict(list)
    for follow_up in follow_ups:
        recipient_id = follow_up_digest_recipient_id(follow_up, owners)
        if recipient_id is None or follow_up.overdue_at is None:
            continue
        window = follow_up.overdue_at.astimezone(UTC).date().isoformat()
        grouped[(recipient_id, window)].append(follow_up.pk)
    notices = [
        FollowUpNotice(
            recipient_id=recipient_id,
            kind=FollowUpNotice.Kind.OVERDUE_DIGEST,
            window_key=window,
            follow_up_ids=ids,
        )
        for (recipient_id, window), ids in grouped.items()
    ]
    written = _insert_notices(notices)
    _enqueue(written)
    return len(written)


def follow_up_escalation_level(*, follow_up: FollowUp, as_of: datetime) -> int:
    """The ladder level a follow-up has reached: 0, 1 (engagement lead) or 2 (practice leads).

    Working days overdue count in [due date, as_of date), both UTC, in the
    engagement's country (weekends and public holidays do not count); the
    thresholds are settings.FOLLOW_UP_ESCALATION_DAYS.
    """
    lead_days, practice_days = settings.FOLLOW_UP_ESCALATION_DAYS
    calendar = working_day_calendar(country=follow_up.engagement.country)
    overdue_days = calendar.working_days_between(
        follow_up.due_at.astimezone(UTC).date(), as_of.astimezone(UTC).date()
    )
    if overdue_days >= practice_days:
        return 2
    if overdue_days >= lead_days:
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


def follow_ups_escalate(*, as_of: datetime, batch_size: int = ESCALATION_BATCH_SIZE) -> int:
    """Escalate open overdue follow-ups up the ladder and mail each new rung once.

    Level 1 tells the engagement lead(s), level 2 the practice leads; a sweep
    that finds an item past both writes both rungs. Each batch is locked
    (SKIP LOCKED where the database has it), its notices (one per recipient,
    follow-up and level) inserted with ON CONFLICT DO NOTHING, escalation_level
    and escalated_at written with bulk_update, and the mails enqueued on
    commit. Only open items escalate; an item never goes down or repeats a
    level. Idempotent. Returns the number of follow-ups escalated.
    """
    candidates = (
        FollowUp.objects.open()
        .filter(overdue_at__isnull=False, escalation_level__lt=2, due_at__lt=as_of)
        .select_related("engagement")
        .order_by("pk")
    )
    escalated = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            locked = candidates.filter(pk__gt=last_pk)
            if connection.features.has_select_for_update_skip_locked:
                locked = locked.select_for_update(skip_locked=True, of=("self",))
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
                notices: list[FollowUpNotice] = []
                for follow_up, level in rising:
                    for rung in range(follow_up.escalation_level + 1, level + 1):
                        recipients = leads[follow_up.engagement_id] if rung == 1 else practice_leads
                        notices.extend(
                            FollowUpNotice(
                                recipient_id=recipient_id,
                                kind=FollowUpNotice.Kind.ESCALATION,
                                window_key=f"{follow_up.pk}:{rung}",
                                follow_up_ids=[follow_up.pk],
                                level=rung,
                            )
                            for recipient_id in recipients
                        )
                    follow_up.escalation_level = level
                    follow_up.escalated_at = as_of
                FollowUp.objects.bulk_update(
                    [f for f, _ in rising], ["escalation_level", "escalated_at"], batch_size=batch_size
                )
                _enqueue(_insert_notices(notices))
                escalated += len(rising)
        last_pk = batch[-1].pk
        if len(batch) < batch_size:
            return escalated


def _notice_message(notice: FollowUpNotice) -> EmailMultiAlternatives:
    recipient = notice.recipient
    items = FollowUp.objects.filter(pk__in=notice.follow_up_ids).select_related(
        "engagement", "owner_user", "owner_stakeholder"
    )
    total = len(notice.follow_up_ids)
    shown = list(items.order_by("due_at", "pk")[:DIGEST_ITEM_LIMIT])
    context = {
        "notice": notice,
        "recipient": recipient,
        "items": shown,
        "item": shown[0] if shown else None,
        "more": max(total - len(shown), 0),
        "level_text": "engagement lead" if notice.level == 1 else "practice lead",
        "recipient_time_zone": recipient.time_zone,
        "week_url": settings.SITE_URL + reverse("home"),
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
