"""Overdue follow-ups, the daily digest and the escalation ladder.

Each event is first an in-app notification (``notifications.services``, as
the recipient's preferences say). Mail is decided here and rendered at once:
by default an event is mailed in the recipient's daily digest; the events a
user chose to get at once come in one at-once mail per recipient and sweep,
at most settings.EMAIL_HOURLY_CAP immediate mails an hour. Either becomes an
outbox message (``notifications.outbox``) in the transaction that decides to
send it, its idempotency key naming the recipient and the digest's window
(or the sweep's moment), so it is written once; the notifications it reports
are stamped ``mailed_at`` in the same transaction, so no second mail reports
them. The outbox sends it, after the recipient's quiet hours if they hold it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse

from accounts.models import User
from communications.models import FollowUp, SilenceFlag
from communications.raid import raid_reviews_late
from communications.services import follow_ups_flag_overdue
from engagements.models import Membership
from engagements.working_days import end_of_working_day, engagement_calendar
from notifications.models import (
    DAILY_DIGEST_EVENTS,
    DIGESTIBLE_EVENTS,
    Notification,
    NotificationEvent,
    OutboxMessage,
)
from notifications.outbox import OutboundEmail, outbox_add
from notifications.rendering import email_to
from notifications.selectors import Recipient, immediate_mail_counts, recipients_for
from notifications.services import NotificationDraft, notifications_record
from notifications.timing import (
    digest_last_slot,
    digest_window_key,
    email_allowed_from,
    email_is_held,
)
from pmaas.deadlines import deadline_in_words
from pmaas.durations import count_in_words
from pmaas.locking import claim_in_batches, skip_locked
from stakeholders.models import StakeholderRole

logger = logging.getLogger(__name__)

# What happened this many days ago or less is still digested, so a sweep that
# was down for a few days catches up, in one digest at the latest slot.
DIGEST_CATCH_UP_DAYS = 7
# A digest lists this many items of each sort and summarises the rest with a link.
DIGEST_ITEM_LIMIT = 20
# An at-once event not mailed within a day (held by the hourly cap or quiet hours, or the
# sweep was down) is no longer news to mail on its own: the digest reports it.
AT_ONCE_LOOKBACK = timedelta(days=1)
_OVERDUE_KEY = "follow_up:"
# The key of a silence's notification (communications.silence) names its flag.
_SILENCE_KEY = "silence:"
ESCALATION_BATCH_SIZE = 500
# The events a digest lists under a heading of their own, not among "check-ins and stakeholders".
_OWN_SECTIONS = (NotificationEvent.FOLLOW_UP_ESCALATED, NotificationEvent.RAID_REVIEW_DUE)
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


def at_once_key(*, recipient_id: int, as_of: datetime) -> str:
    """One at-once mail per recipient and sweep: the sweep's moment names it."""
    return f"at_once:user:{recipient_id}:{as_of.isoformat()}"


def _follow_up_url(follow_up: FollowUp) -> str:
    return reverse("engagement_follow_ups", kwargs={"pk": follow_up.engagement_id})


def follow_ups_sweep_overdue(*, as_of: datetime) -> int:
    """The overdue sweep: flag newly overdue follow-ups, tell whom each concerns, escalate the late,
    and mail the events recipients want at once (``events_mail_at_once``).

    Idempotent steps on one ``as_of``; a run cut short is finished by the
    next. Flagging and telling share one transaction, since the owners are
    told of the items stamped with this very ``as_of``. Returns the number
    newly flagged; the other counts are logged.
    """
    with transaction.atomic():
        flagged = follow_ups_flag_overdue(as_of=as_of)
        told = follow_ups_notify_overdue(as_of=as_of)
    escalated = follow_ups_escalate(as_of=as_of)
    mailed = events_mail_at_once(as_of=as_of)
    logger.info(
        "overdue follow-ups: %s flagged, %s told, %s escalated; %s at-once mails",
        flagged,
        told,
        escalated,
        mailed,
    )
    return flagged


def follow_ups_notify_overdue(*, as_of: datetime) -> int:
    """Tell the digest recipient of each follow-up the overdue scan flagged at ``as_of`` (FOLLOW_UP_OVERDUE).

    Runs right after ``services.follow_ups_flag_overdue`` on the same
    ``as_of``; the in-app notification arrives at once, the mail comes with
    the daily digest, or in the sweep's at-once mail for a recipient who chose
    that (``events_mail_at_once``). At most five queries whatever the number of items;
    idempotent (one notification per recipient and follow-up). Returns the
    number of notifications set out to insert.
    """
    follow_ups = list(
        FollowUp.objects.open()
        .filter(overdue_stamp__overdue_at=as_of)
        .select_related("engagement")
        .only(
            "pk", "title", "due_at", "due_zone", "engagement__code", "owner_user_id", "owner_stakeholder_id"
        )
    )
    owners = _relationship_owners(follow_ups)
    pairs = [(f, follow_up_digest_recipient_id(f, owners)) for f in follow_ups]
    recipients = recipients_for(user_ids={r for _, r in pairs if r is not None})
    drafts = []
    for follow_up, recipient_id in pairs:
        recipient = recipients.get(recipient_id) if recipient_id is not None else None
        if recipient is None:
            continue
        due = deadline_in_words(follow_up.due_at, agreed_in=follow_up.due_zone, zone=recipient.zone)
        drafts.append(
            NotificationDraft(
                recipient_id=recipient.user_id,
                event=NotificationEvent.FOLLOW_UP_OVERDUE,
                key=f"follow_up:{follow_up.pk}",
                message=(f'"{follow_up.title}" on {follow_up.engagement.code} went overdue (due {due}).'),
                url=_follow_up_url(follow_up),
                engagement_id=follow_up.engagement_id,
            )
        )
    return notifications_record(drafts=drafts, as_of=as_of, recipients=recipients)


@dataclass
class _Digest:
    follow_up_ids: list[int] = field(default_factory=list)
    notification_ids: list[int] = field(default_factory=list)
    # The period it covers: from the slot before (or its earliest item, after an outage) to its slot.
    since: datetime | None = None
    slot: datetime | None = None


@transaction.atomic
def follow_ups_send_overdue_digests(*, as_of: datetime) -> int:
    """Write each recipient's daily digest once its slot has passed, and mail it.

    A recipient's slots are their digest time in their time zone, on the days
    they take mail; the digest of the latest slot that has passed
    (``digest_last_slot``) covers everything not yet mailed that happened
    before it since DIGEST_CATCH_UP_DAYS ago: follow-ups that went overdue and
    are still open (to follow_up_digest_recipient_id, and only those the
    recipient may still see, so someone who left the team is not told about a
    client's item), plus their in-app notifications of the other
    DAILY_DIGEST_EVENTS (escalations to them, missed check-ins, stakeholders
    gone quiet, RAID items past review) marked for email. Of a recipient's
    RAID review notices (one a day) only the newest is listed, and only while
    they still have an item past review or validation
    (``raid.raid_reviews_late``); the older ones are stamped with it.
    An event the recipient got in an at-once mail (its notification stamped
    ``mailed_at``) is not listed again, nor one a concurrent at-once mail
    holds locked, nor one a recent digest listed (its outbox ``about``). Only
    the events the recipient wants by email are listed; a digest with nothing
    in it is not written. Its window key is the slot's local date
    (``digest_window_key``), unique per recipient, written with ON CONFLICT
    DO NOTHING and enqueued after commit, and the notifications it lists are
    stamped ``mailed_at`` in the same transaction: a re-run, or two beats at
    once, mails nothing twice. After an outage or on a fresh install a
    recipient still gets one digest, of the latest slot, saying which period
    it covers; the slots missed before it get none. A digest that falls in
    the recipient's quiet hours waits for the reconciler. A fixed number of
    queries plus one per recipient with follow-ups (the visibility check),
    and three more when RAID review notices wait. Returns the number of
    digests written.
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
    # Locked (SKIP LOCKED on PostgreSQL): an event an at-once mail is deciding on right now is its.
    events = skip_locked(
        Notification.objects.filter(
            email=True, event__in=DAILY_DIGEST_EVENTS, created_at__gte=start, created_at__lt=as_of
        ).order_by("created_at", "pk")
    ).values_list("pk", "recipient_id", "event", "created_at", "key", "mailed_at")
    # The overdue notification of each (recipient, follow-up) read here: stamped when the digest lists it.
    overdue_told: dict[tuple[int, int], int] = {}
    mailed_overdue: set[tuple[int, int]] = set()
    rows = list(events)
    still_open = _matter_still_open((row[2], row[4]) for row in rows)
    raid_notices = {row[0] for row in rows if row[2] == NotificationEvent.RAID_REVIEW_DUE}
    # Whoever put every late item right since their notice has nothing left to be told.
    still_late = (
        set(raid_reviews_late(as_of=as_of, recipient_ids={row[1] for row in rows if row[0] in raid_notices}))
        if raid_notices
        else set()
    )
    for pk, recipient_id, event, at, key, mailed_at in rows:
        if not still_open(event, key):
            continue
        if event == NotificationEvent.FOLLOW_UP_OVERDUE:
            follow_up_id = int(key.removeprefix(_OVERDUE_KEY)) if key.startswith(_OVERDUE_KEY) else 0
            if mailed_at is None:
                overdue_told[(recipient_id, follow_up_id)] = pk
            else:
                mailed_overdue.add((recipient_id, follow_up_id))
        elif mailed_at is None and (pk not in raid_notices or recipient_id in still_late):
            happened.append((recipient_id, at, event, pk))
    if not happened:
        return 0
    recipients = recipients_for(user_ids={h[0] for h in happened})
    digests: dict[tuple[int, str], _Digest] = {}
    slots = {
        r.user_id: digest_last_slot(preference=r.preference, zone=r.zone, at=as_of)
        for r in recipients.values()
    }
    for recipient_id, at, event, pk in happened:
        recipient = recipients.get(recipient_id)
        if recipient is None or not recipient.preference.wants(event, "email"):
            continue
        if event == NotificationEvent.FOLLOW_UP_OVERDUE and (
            (recipient_id, pk) in mailed_overdue
            or (
                (recipient_id, pk) not in overdue_told
                and recipient.preference.mails_at_once(NotificationEvent.FOLLOW_UP_OVERDUE)
            )
        ):
            continue
        slot = slots[recipient_id]
        # An event exactly at a slot belongs to the next window, not the one being sent.
        if at >= slot:
            continue
        window = digest_window_key(slot=slot, zone=recipient.zone)
        digest = digests.setdefault((recipient_id, window), _Digest(slot=slot))
        digest.since = at if digest.since is None else min(digest.since, at)
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
    superseded = _newest_raid_notice_only(new, raid_notices)
    new = {key: d for key, d in new.items() if d.follow_up_ids or d.notification_ids}
    if not new:
        return 0
    stamped = [pk for digest in new.values() for pk in digest.notification_ids] + superseded
    stamped.extend(
        overdue_told[(recipient_id, f)]
        for (recipient_id, _), digest in new.items()
        for f in digest.follow_up_ids
        if (recipient_id, f) in overdue_told
    )
    Notification.objects.filter(pk__in=stamped, mailed_at__isnull=True).update(mailed_at=as_of)
    return outbox_add(emails=_digest_emails(new, recipients, as_of=as_of), as_of=as_of)


def _matter_still_open(events: Iterable[tuple[str, str]]) -> Callable[[str, str], bool]:
    """Whether an event, by ``(event, key)``, is still worth a mail: not a silence since ended
    (its flag cleared), nor an escalation of a follow-up since done or cancelled.

    Mail that waited (for the digest slot, quiet hours or the hourly cap) would otherwise
    report what the user already put right. At most two queries for all ``events``, none
    when neither kind is among them.
    """
    flags: set[int] = set()
    items: set[int] = set()
    for event, key in events:
        if event == NotificationEvent.SPONSOR_SILENT and key.removeprefix(_SILENCE_KEY).isdigit():
            flags.add(int(key.removeprefix(_SILENCE_KEY)))
        elif event == NotificationEvent.FOLLOW_UP_ESCALATED and key.split(":", 1)[0].isdigit():
            items.add(int(key.split(":", 1)[0]))
    open_flags = (
        set(SilenceFlag.objects.open().filter(pk__in=flags).values_list("pk", flat=True)) if flags else set()
    )
    open_items = (
        set(FollowUp.objects.open().filter(pk__in=items).values_list("pk", flat=True)) if items else set()
    )

    def still_open(event: str, key: str) -> bool:
        if event == NotificationEvent.SPONSOR_SILENT and key.removeprefix(_SILENCE_KEY).isdigit():
            return int(key.removeprefix(_SILENCE_KEY)) in open_flags
        if event == NotificationEvent.FOLLOW_UP_ESCALATED and key.split(":", 1)[0].isdigit():
            return int(key.split(":", 1)[0]) in open_items
        return True

    return still_open


def _newest_raid_notice_only(digests: dict[tuple[int, str], _Digest], raid_notices: set[int]) -> list[int]:
    """Keep in each digest the newest of its RAID review notices, which says what is late now;
    return the older ones, which it replaces."""
    superseded: list[int] = []
    for digest in digests.values():
        # Listed in the order they happened: the last is the newest.
        listed = [pk for pk in digest.notification_ids if pk in raid_notices]
        superseded.extend(listed[:-1])
        digest.notification_ids = [pk for pk in digest.notification_ids if pk not in listed[:-1]]
    return superseded


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
    due = deadline_in_words(follow_up.due_at, agreed_in=follow_up.due_zone, zone=recipient.zone)
    as_whom = "engagement lead" if rung == 1 else "practice lead"
    return NotificationDraft(
        recipient_id=recipient.user_id,
        event=NotificationEvent.FOLLOW_UP_ESCALATED,
        key=f"{follow_up.pk}:{rung}",
        message=(
            f'"{follow_up.title}" on {follow_up.engagement.code}, due {due}, '
            f"is still open and escalated to you as {as_whom}."
        ),
        url=_follow_up_url(follow_up),
        engagement_id=follow_up.engagement_id,
    )


def follow_ups_escalate(*, as_of: datetime, batch_size: int = ESCALATION_BATCH_SIZE) -> int:
    """Escalate open overdue follow-ups up the ladder and tell each new rung once.

    Level 1 tells the engagement lead(s), level 2 the practice leads, never
    the item's own owner among them; a sweep that finds an item past both
    writes both rungs. Each batch is locked
    (SKIP LOCKED where the database has it); every rung recipient gets an
    in-app FOLLOW_UP_ESCALATED notification (key "<follow-up>:<rung>"), also
    marked for email if they want escalations by email: its mail comes in
    their daily digest, or in the sweep's at-once mail if they chose that
    (``events_mail_at_once``), never one mail per item. escalation_level and
    escalated_at are written with bulk_update. Only open items escalate; an
    item never goes down or repeats a level. Idempotent. Returns the number
    of follow-ups escalated.
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
                # The owner has been told as its owner; a rung is for someone above them.
                rungs.extend(
                    (follow_up, rung, recipient_id)
                    for recipient_id in told
                    if recipient_id != follow_up.owner_user_id
                )
            follow_up.escalation_level = level
            follow_up.escalated_at = as_of
        recipients = recipients_for(user_ids={r for _, _, r in rungs})
        drafts = [
            _escalation_draft(follow_up, rung, recipients[recipient_id])
            for follow_up, rung, recipient_id in rungs
            if recipient_id in recipients
        ]
        FollowUp.objects.bulk_update(
            [f for f, _ in rising], ["escalation_level", "escalated_at"], batch_size=batch_size
        )
        notifications_record(drafts=drafts, as_of=as_of, recipients=recipients)
        return len(rising)

    return claim_in_batches(candidates, batch_size=batch_size, claim=escalate)


def _digest_summary(follow_ups: int, counts: dict[str, int]) -> str:
    """ "2 follow-ups escalated to you, 3 follow-ups overdue, 1 check-in missed": for a mail's subject."""
    parts = []
    escalated = counts.get(NotificationEvent.FOLLOW_UP_ESCALATED, 0)
    if escalated:
        parts.append(f"{count_in_words(escalated, 'follow-up')} escalated to you")
    follow_ups += counts.get(NotificationEvent.FOLLOW_UP_OVERDUE, 0)
    if follow_ups:
        parts.append(f"{count_in_words(follow_ups, 'follow-up')} overdue")
    missed = counts.get(NotificationEvent.CHECK_IN_MISSED, 0)
    if missed:
        parts.append(f"{count_in_words(missed, 'check-in')} missed")
    silent = counts.get(NotificationEvent.SPONSOR_SILENT, 0)
    if silent:
        parts.append(f"{count_in_words(silent, 'stakeholder')} gone quiet")
    # The notice counts the items; the subject only says there are some.
    if counts.get(NotificationEvent.RAID_REVIEW_DUE, 0):
        parts.append("RAID reviews overdue")
    return ", ".join(parts) or "nothing new"


def _links() -> dict[str, str]:
    return {
        "site_url": settings.SITE_URL,
        "week_url": settings.SITE_URL + reverse("my_week"),
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
        recipient = recipients[recipient_id]
        listed, told = set(digest.follow_up_ids), set(digest.notification_ids)
        shown = [follow_up for pk, follow_up in follow_ups.items() if pk in listed]
        events = [event for pk, event in notifications.items() if pk in told]
        escalated = [e for e in events if e.event == NotificationEvent.FOLLOW_UP_ESCALATED]
        raid_reviews = [e for e in events if e.event == NotificationEvent.RAID_REVIEW_DUE]
        others = [e for e in events if e.event not in _OWN_SECTIONS]
        counts: dict[str, int] = defaultdict(int)
        for event in events:
            counts[event.event] += 1
        slot = digest.slot or as_of
        before = digest_last_slot(preference=recipient.preference, zone=recipient.zone, at=slot - _JUST_AFTER)
        context = {
            "escalated": escalated[:DIGEST_ITEM_LIMIT],
            "more_escalated": max(len(escalated) - DIGEST_ITEM_LIMIT, 0),
            "items": shown[:DIGEST_ITEM_LIMIT],
            "more": max(len(shown) - DIGEST_ITEM_LIMIT, 0),
            "events": others[:DIGEST_ITEM_LIMIT],
            "more_events": max(len(others) - DIGEST_ITEM_LIMIT, 0),
            "raid_reviews": raid_reviews,
            "summary": _digest_summary(len(shown), counts),
            "window_day": date.fromisoformat(window),
            # What it covers: since the slot before, or since its earliest item after an outage.
            "since": min(before, digest.since or before),
            "until": slot,
        }
        emails.append(
            _email(
                template="overdue_digest",
                kind=OutboxMessage.Kind.OVERDUE_DIGEST,
                key=digest_key(recipient_id=recipient_id, window=window),
                recipient=recipient,
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


@transaction.atomic
def events_mail_at_once(*, as_of: datetime) -> int:
    """Mail each recipient, in one message, the events they chose to get at once.

    Reads the notifications of DIGESTIBLE_EVENTS marked for email and not yet
    mailed, from the last AT_ONCE_LOOKBACK, whose recipient wants that event
    at once (``NotificationPreference.<event>_at_once``), locked (SKIP LOCKED
    on PostgreSQL) so a concurrent digest or at-once mail never reports the
    same one. Each recipient gets at most one mail per call, listing all of
    them, keyed by recipient and ``as_of`` (ON CONFLICT DO NOTHING: a re-run
    of the same sweep writes nothing new), and the notifications it lists are
    stamped ``mailed_at`` in the same transaction, so neither a later at-once
    mail nor the digest reports them again. A recipient whose email is held
    (quiet hours, free weekend) or who was written settings.EMAIL_HOURLY_CAP
    immediate mails (at-once mails and check-in reminders) in the past hour
    gets nothing now: their events wait and come together in the first
    at-once mail once the hour has room, or in the daily digest if its slot
    comes first. Six queries whatever the number of events. Returns the
    number of mails written.
    """
    wanted = Q()
    for event in DIGESTIBLE_EVENTS:
        wanted |= Q(event=event, **{f"recipient__notification_preference__{event}_at_once": True})
    pending = list(
        skip_locked(
            Notification.objects.filter(
                wanted,
                email=True,
                mailed_at__isnull=True,
                created_at__gt=as_of - AT_ONCE_LOOKBACK,
                created_at__lte=as_of,
            ).order_by("created_at", "pk")
        )
    )
    still_open = _matter_still_open((n.event, n.key) for n in pending)
    pending = [n for n in pending if still_open(n.event, n.key)]
    if not pending:
        return 0
    recipients = recipients_for(user_ids={n.recipient_id for n in pending})
    sent = immediate_mail_counts(user_ids=recipients, as_of=as_of)
    by_recipient: dict[int, list[Notification]] = defaultdict(list)
    for notification in pending:
        recipient = recipients.get(notification.recipient_id)
        if (
            recipient is None
            or not recipient.preference.mails_at_once(notification.event)
            or email_is_held(preference=recipient.preference, zone=recipient.zone, at=as_of)
            or sent.get(recipient.user_id, 0) >= settings.EMAIL_HOURLY_CAP
        ):
            continue
        by_recipient[recipient.user_id].append(notification)
    if not by_recipient:
        return 0
    Notification.objects.filter(
        pk__in=[n.pk for events in by_recipient.values() for n in events], mailed_at__isnull=True
    ).update(mailed_at=as_of)
    emails = []
    for recipient_id, events in by_recipient.items():
        counts: dict[str, int] = defaultdict(int)
        for told in events:
            counts[told.event] += 1
        engagements = {n.engagement_id for n in events}
        emails.append(
            _email(
                template="at_once",
                kind=OutboxMessage.Kind.AT_ONCE,
                key=at_once_key(recipient_id=recipient_id, as_of=as_of),
                recipient=recipients[recipient_id],
                context={
                    "escalated": [e for e in events if e.event == NotificationEvent.FOLLOW_UP_ESCALATED],
                    "events": [e for e in events if e.event != NotificationEvent.FOLLOW_UP_ESCALATED],
                    "summary": _digest_summary(0, counts),
                    "cap": settings.EMAIL_HOURLY_CAP,
                    "preferences_url": settings.SITE_URL + reverse("notification_preferences"),
                },
                as_of=as_of,
                engagement_id=engagements.pop() if len(engagements) == 1 else None,
                about={"notification_ids": [n.pk for n in events]},
            )
        )
    return outbox_add(emails=emails, as_of=as_of)
