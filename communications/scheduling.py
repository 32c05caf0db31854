"""Occurrences of planned check-ins: created ahead, reminded, held or missed, and measured.

Every function here is safe to run twice or from two processes at once: the
database decides (a unique constraint per channel and due time, conditional
UPDATEs that act only on rows still in the expected state), never a task's
memory. Times are passed in as ``as_of`` so the sweeps are testable at any
moment, including across DST changes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
)
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone

from communications import recurrence
from communications.briefs import MeetingBrief, meeting_briefs
from communications.models import Channel, CheckIn, Occurrence
from communications.rollups import ZONE_REACH, week_start_of, weekly_rollups_refresh
from engagements.working_days import engagement_calendar, engagement_skip_rule
from notifications.models import Notification, NotificationEvent, OutboxMessage
from notifications.outbox import OutboundEmail, outbox_add, outbox_cancel
from notifications.rendering import email_to
from notifications.selectors import Recipient, recipients_for
from notifications.services import NotificationDraft, notifications_record
from notifications.timing import LONGEST_REMINDER_LEAD, reminder_time
from pmaas.durations import duration_in_words
from pmaas.locking import claim_in_batches
from pmaas.scoping import get_or_404

logger = logging.getLogger(__name__)

# Reminders go out up to the longest lead a user can choose before the due
# time, and hang on the occurrence row: the row must exist at least that early.
DISPATCH_HORIZON = LONGEST_REMINDER_LEAD
SWEEP_BATCH_SIZE = 500
# Each dispatch batch costs four round trips (BEGIN, SELECT, INSERT, COMMIT):
# batches of 1,000 keep that at four per 1,000 due channels while holding the
# row locks for well under a second (docs/benchmarks.md).
DISPATCH_BATCH_SIZE = 1000


def channel_compute_next_due(*, channel: Channel, after: datetime) -> datetime | None:
    """The channel's first occurrence after ``after``; skips non-working days if the engagement does."""
    return recurrence.next_occurrence(
        rule=channel.recurrence,
        starts_on=channel.starts_on,
        local_time=channel.local_time,
        time_zone=channel.stakeholder.time_zone,
        after=after,
        skip=engagement_skip_rule(channel.engagement),
    )


def channel_due_times(*, channel: Channel, after: datetime, until: datetime) -> Iterator[datetime]:
    """The channel's due times after ``after`` up to ``until``, in UTC: the dispatcher's, one by one.

    Each is ``channel_compute_next_due`` of the one before, so anything that
    shows a channel's future (the calendar feeds) passes over the same
    non-working days and resolves the same skipped or repeated local times as
    the dispatcher that creates the occurrences. Needs ``channel.stakeholder``
    and ``channel.engagement`` loaded.
    """
    cursor = after
    while (due := channel_compute_next_due(channel=channel, after=cursor)) is not None and due <= until:
        yield due
        cursor = due


def occurrences_sweep(*, as_of: datetime) -> dict[str, int]:
    """The dispatcher: follow plan changes, create coming occurrences, mark due, remind, mark the missed.

    Each step is its own idempotent statement or batch on one ``as_of``; a
    run cut short is finished by the next. Returns each step's count.
    """
    return {
        "cancelled": occurrences_follow_the_plan(),
        "created": occurrences_dispatch(as_of=as_of),
        "due": occurrences_mark_due(as_of=as_of),
        "reminded": occurrences_send_reminders(as_of=as_of),
        "missed": occurrences_mark_missed(as_of=as_of),
    }


def occurrences_dispatch(
    *, as_of: datetime, horizon: timedelta = DISPATCH_HORIZON, batch_size: int = DISPATCH_BATCH_SIZE
) -> int:
    """Create the occurrence row of every active channel due within ``horizon`` of ``as_of``.

    Channels are claimed in batches (FOR UPDATE SKIP LOCKED on PostgreSQL, one
    transaction per batch), each batch one SELECT of the channels whose next
    due time has no row yet and one INSERT that ignores conflicts: two
    dispatchers, or a re-run, create nothing twice. Two statements per batch
    of 1,000 (four round trips with BEGIN and COMMIT), never one per row. A row already past
    due is created as due. Idempotent. Returns the number of rows this run
    set out to insert (one a check-in created in the same instant counts too).
    """
    cutoff = as_of + horizon
    candidates = (
        Channel.objects.active()
        .filter(next_due_at__lte=cutoff)
        .exclude(Exists(Occurrence.objects.filter(channel=OuterRef("pk"), due_at=OuterRef("next_due_at"))))
    )

    def create(batch: list[tuple[int, datetime, int]]) -> int:
        rows = [
            Occurrence(
                channel_id=pk,
                engagement_id=engagement_id,
                due_at=due_at,
                status=Occurrence.Status.DUE if due_at <= as_of else Occurrence.Status.UPCOMING,
            )
            for pk, due_at, engagement_id in batch
        ]
        Occurrence.objects.bulk_create(rows, ignore_conflicts=True, batch_size=batch_size)
        return len(rows)

    # next_due_at__lte leaves no channel without a due time.
    return claim_in_batches(
        candidates.values_list("pk", "next_due_at", "engagement_id"), batch_size=batch_size, claim=create
    )


def occurrences_follow_the_plan() -> int:
    """Cancel open occurrences their channel no longer plans, and reinstate planned cancelled ones.

    The dispatcher only writes a row at its channel's next due time, and a
    check-in or the missed sweep closes it before that time moves on; an open
    row anywhere else was left behind by a pause, a changed cadence or a
    channel that ran out of occurrences, and is not owed. A channel resumed
    onto the due time of a row cancelled by its pause gets that row back as
    upcoming (the due sweep then moves it on). The reminders of cancelled
    rows still waiting in the outbox are withdrawn. A read and three
    set-based UPDATEs. Idempotent. Returns the number cancelled.
    """
    unplanned = (
        Q(channel__status=Channel.Status.PAUSED)
        | Q(channel__next_due_at__isnull=True)
        | ~Q(due_at=F("channel__next_due_at"))
    )
    cancellable = Occurrence.objects.filter(
        status__in=Occurrence.TRANSITIONS.sources(Occurrence.Status.CANCELLED)
    )
    dropped = list(cancellable.filter(unplanned).values_list("pk", flat=True))
    cancelled = (
        cancellable.filter(pk__in=dropped).update(status=Occurrence.Status.CANCELLED) if dropped else 0
    )
    outbox_cancel(keys=[reminder_key(pk) for pk in dropped])
    Occurrence.objects.filter(
        status__in=Occurrence.TRANSITIONS.sources(Occurrence.Status.UPCOMING),
        channel__status=Channel.Status.ACTIVE,
        due_at=F("channel__next_due_at"),
    ).update(status=Occurrence.Status.UPCOMING)
    return cancelled


def occurrences_mark_due(*, as_of: datetime) -> int:
    """Move every upcoming occurrence whose time has come to due, in one UPDATE.

    Idempotent: a second run finds nothing upcoming in the past. Returns the count moved.
    """
    return Occurrence.objects.filter(
        status__in=Occurrence.TRANSITIONS.sources(Occurrence.Status.DUE), due_at__lte=as_of
    ).update(status=Occurrence.Status.DUE)


def occurrences_mark_missed(*, as_of: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Mark due occurrences whose grace period ran out as missed, then move their channels on.

    One UPDATE marks them (a held occurrence is no longer due, so a check-in
    that covered it keeps it out). Then each active channel still pointing at
    a missed due time moves to its first later occurrence whose grace period
    has not run out at ``as_of`` (possibly already due), computed from its
    rule in Python and written in batches with bulk_update; occurrences whose
    grace ran out while the sweep was not running are not owed. Each channel
    owner is told of the newly missed ones (CHECK_IN_MISSED, in-app and in
    their daily digest as they choose): one read, one insert. Idempotent.
    Returns the number of occurrences newly missed.
    """
    deadline = ExpressionWrapper(F("due_at") + F("channel__grace_period"), output_field=DateTimeField())
    missed = (
        Occurrence.objects.filter(
            status__in=Occurrence.TRANSITIONS.sources(Occurrence.Status.MISSED), due_at__lt=as_of
        )
        .alias(deadline=deadline)
        .filter(deadline__lt=as_of)
        .update(status=Occurrence.Status.MISSED, missed_at=as_of)
    )
    if missed:
        _notify_missed(as_of=as_of)
        _refresh_missed_weeks(as_of=as_of)
    stuck = (
        Channel.objects.active()
        .filter(next_due_at__lt=as_of)
        .filter(
            Exists(
                Occurrence.objects.filter(
                    channel=OuterRef("pk"), due_at=OuterRef("next_due_at"), status=Occurrence.Status.MISSED
                )
            )
        )
        .select_related("stakeholder", "engagement__client")
    )

    def move_on(channels: list[Channel]) -> int:
        now = timezone.now()
        for channel in channels:
            # The first occurrence after the missed one whose grace has not yet run out: a sweep
            # that runs late, or a clock change that brings the next meeting an hour closer,
            # passes over nothing still owed; only those whose grace ended unobserved (an outage).
            missed_due_at = channel.next_due_at or as_of
            channel.next_due_at = channel_compute_next_due(
                channel=channel, after=max(missed_due_at, as_of - channel.grace_period)
            )
            channel.updated_at = now
        Channel.objects.bulk_update(channels, ["next_due_at", "updated_at"], batch_size=batch_size)
        return len(channels)

    claim_in_batches(stuck, batch_size=batch_size, claim=move_on)
    return missed


def _refresh_missed_weeks(*, as_of: datetime) -> None:
    """Rewrite the roll-ups of the weeks whose occurrences the missed sweep stamped at ``as_of``.

    Every zone lies within 14 hours of UTC, so the UTC weeks of each due time
    14 hours either side hold its local week in any zone: a handful of weeks,
    however many rows were stamped. Two queries and the refresh.
    """
    stamped = (
        Occurrence.objects.filter(status=Occurrence.Status.MISSED, missed_at=as_of)
        .order_by()
        .values_list("engagement_id", "due_at")
    )
    engagement_ids: set[int] = set()
    weeks: set[date] = set()
    for engagement_id, due_at in stamped:
        engagement_ids.add(engagement_id)
        weeks.update(week_start_of(due_at + shift, UTC) for shift in (-ZONE_REACH, ZONE_REACH))
    weekly_rollups_refresh(engagement_ids=engagement_ids, weeks=weeks, as_of=as_of)


def occurrence_mark_held(*, channel: Channel, due_at: datetime, check_in: CheckIn) -> bool:
    """Record that ``check_in`` held the channel's occurrence at ``due_at``.

    Creates the row if the dispatcher has not yet. The occurrence is on time
    when the check-in happened no later than its due time plus the channel's
    grace period. Only an upcoming or due occurrence changes (a missed,
    cancelled or already held one stays as it is), so a second call is a
    no-op; a reminder of it still waiting in the outbox is withdrawn. Runs
    inside the caller's transaction. Returns whether a row changed.
    """
    Occurrence.objects.bulk_create(
        [
            Occurrence(
                channel=channel,
                engagement_id=channel.engagement_id,
                due_at=due_at,
                status=Occurrence.Status.UPCOMING,
            )
        ],
        ignore_conflicts=True,
    )
    on_time = check_in.occurred_at <= due_at + channel.grace_period
    changed = (
        Occurrence.objects.filter(status__in=Occurrence.TRANSITIONS.sources(Occurrence.Status.HELD))
        .filter(channel=channel, due_at=due_at)
        .update(
            status=Occurrence.Status.HELD,
            held_at=check_in.occurred_at,
            held_on_time=on_time,
            check_in=check_in,
        )
    )
    if changed:
        occurrence_ids = Occurrence.objects.filter(channel=channel, due_at=due_at).values_list(
            "pk", flat=True
        )
        outbox_cancel(keys=[reminder_key(pk) for pk in occurrence_ids])
    return changed > 0


def _local_due_text(occurrence: Occurrence, recipient: Recipient) -> str:
    local = occurrence.due_at.astimezone(recipient.zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({recipient.zone.key})"


def _check_in_url(occurrence: Occurrence) -> str:
    return f"{reverse('check_in_create')}?channel={occurrence.channel_id}"


def _occurrence_draft(
    occurrence: Occurrence,
    recipient: Recipient,
    *,
    event: NotificationEvent,
    outcome: str,
    url: str | None = None,
) -> NotificationDraft:
    """ "Meeting with Anna Weber (Weekly one-to-one) is due Mon 30 Mar 2026, 09:00 (Europe/Berlin)."

    and its missed twin; a title that says the kind ("Steering committee") stands for both.
    """
    channel = occurrence.channel
    named = (
        f"{channel.title} with {channel.stakeholder}"
        if channel.title_names_kind
        else f"{channel.get_kind_display()} with {channel.stakeholder} ({channel.title})"
    )
    return NotificationDraft(
        recipient_id=recipient.user_id,
        event=event,
        key=f"occurrence:{occurrence.pk}",
        message=f"{named} " + outcome.format(due=_local_due_text(occurrence, recipient)),
        url=url or _check_in_url(occurrence),
        engagement_id=channel.engagement_id,
    )


def _reminder_draft(occurrence: Occurrence, recipient: Recipient) -> NotificationDraft:
    # Before the meeting, the brief: it holds the "log this check-in" link as well.
    return _occurrence_draft(
        occurrence,
        recipient,
        event=NotificationEvent.CHECK_IN_REMINDER,
        outcome="is due {due}.",
        url=reverse("channel_brief", kwargs={"pk": occurrence.channel_id}),
    )


def _notify_missed(*, as_of: datetime) -> int:
    """Tell each channel owner of the occurrences the missed sweep stamped at ``as_of``; three queries."""
    newly_missed = list(
        Occurrence.objects.filter(status=Occurrence.Status.MISSED, missed_at=as_of).select_related(
            "channel__stakeholder"
        )
    )
    recipients = recipients_for(user_ids={o.channel.owner_id for o in newly_missed})
    drafts = []
    for occurrence in newly_missed:
        recipient = recipients.get(occurrence.channel.owner_id)
        if recipient is None:
            continue
        missed = _occurrence_draft(
            occurrence, recipient, event=NotificationEvent.CHECK_IN_MISSED, outcome="due {due} was missed."
        )
        drafts.append(missed)
    return notifications_record(drafts=drafts, as_of=as_of, recipients=recipients)


def reminder_key(occurrence_id: int) -> str:
    """The outbox key of an occurrence's reminder: one reminder per occurrence, ever."""
    return f"check_in_reminder:occurrence:{occurrence_id}"


def _reminder_email(occurrence: Occurrence, recipient: Recipient, brief: MeetingBrief) -> OutboundEmail:
    channel = occurrence.channel
    owner = channel.owner
    context = {
        "brief": brief,
        "link_base": settings.SITE_URL,
        "brief_url": settings.SITE_URL + reverse("channel_brief", kwargs={"pk": channel.pk}),
        "occurrence": occurrence,
        "channel": channel,
        "owner": owner,
        "engagement": channel.engagement,
        "stakeholder": channel.stakeholder,
        "owner_time_zone": owner.time_zone,
        "grace_text": duration_in_words(channel.grace_period),
        "plan_url": settings.SITE_URL + reverse("engagement_plan", kwargs={"pk": channel.engagement_id}),
    }
    return email_to(
        recipient,
        template="communications/email/occurrence_reminder",
        context=context,
        kind=OutboxMessage.Kind.CHECK_IN_REMINDER,
        key=reminder_key(occurrence.pk),
        engagement_id=channel.engagement_id,
        # A reminder that has not left by the check-in's time has nothing left to remind of.
        expires_at=occurrence.due_at,
    )


def _reminded() -> Exists:
    """Whether the owner was already told of this occurrence coming up (the sweep's claim)."""
    return Exists(
        Notification.objects.filter(
            recipient_id=OuterRef("channel__owner_id"),
            event=NotificationEvent.CHECK_IN_REMINDER,
            key=Concat(Value("occurrence:"), Cast(OuterRef("pk"), output_field=CharField())),
        )
    )


def occurrences_send_reminders(*, as_of: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Tell each channel owner of an open occurrence once their reminder time has come, and mail them.

    The reminder time is the owner's own (``reminder_time``: their lead, in
    working days of the engagement's calendar, moved earlier out of their
    quiet hours and free weekends). Occurrences the owner was not yet told of
    are read in locked batches (SKIP LOCKED on PostgreSQL; SQLite's
    IMMEDIATE transactions serialise the sweeps); in one transaction per
    batch the owner gets an in-app CHECK_IN_REMINDER notification and, if
    they want reminder email, the rendered reminder goes to the outbox (one
    per occurrence, expiring at its due time). The notification is the
    claim: two sweeps at once, or a re-run, tell and mail each owner once.
    An occurrence already past its due time, a paused channel and an
    inactive owner are passed over. A fixed number of queries per batch.
    Returns the number of owners told.
    """
    candidates = (
        Occurrence.objects.open()
        .filter(
            due_at__gte=as_of,
            due_at__lte=as_of + LONGEST_REMINDER_LEAD,
            channel__status=Channel.Status.ACTIVE,
        )
        .exclude(_reminded())
        .select_related("channel__stakeholder", "channel__engagement__client", "channel__owner")
    )

    def remind(batch: list[Occurrence]) -> int:
        recipients = recipients_for(user_ids={o.channel.owner_id for o in batch})
        due_now: list[tuple[Occurrence, Recipient]] = []
        for occurrence in batch:
            recipient = recipients.get(occurrence.channel.owner_id)
            if recipient is None:
                continue
            remind_at = reminder_time(
                preference=recipient.preference,
                zone=recipient.zone,
                due_at=occurrence.due_at,
                calendar=engagement_calendar(occurrence.channel.engagement).working_days,
            )
            if remind_at <= as_of:
                due_now.append((occurrence, recipient))
        if not due_now:
            return 0
        notifications_record(
            drafts=[_reminder_draft(o, r) for o, r in due_now], as_of=as_of, recipients=recipients
        )
        mailed = [(o, r) for o, r in due_now if r.preference.check_in_reminder_email]
        briefs = meeting_briefs(
            channels=[o.channel for o, _ in mailed],
            viewers={o.channel_id: r.user for o, r in mailed},
            as_of=as_of,
        )
        outbox_add(
            emails=[_reminder_email(o, r, briefs[o.channel_id]) for o, r in mailed],
            as_of=as_of,
        )
        return len(due_now)

    return claim_in_batches(candidates, batch_size=batch_size, claim=remind)


@dataclass(frozen=True)
class Compliance:
    """Held on time out of due; ``ratio`` is None when nothing was due."""

    due: int
    held_on_time: int
    ratio: float | None

    @classmethod
    def of(cls, *, due: int, held_on_time: int) -> Compliance:
        return cls(due=due, held_on_time=held_on_time, ratio=held_on_time / due if due else None)


# An occurrence counts as due once its time has come: due, held or missed. Upcoming and cancelled do not.
COUNTED = Q(status__in=[Occurrence.Status.DUE, Occurrence.Status.HELD, Occurrence.Status.MISSED])
# Held on time. held_on_time is set on held rows only (the occurrence_held_fields_iff_held
# constraint), so it alone says held and counted: one test per row, not four, in a count over a
# whole firm's window.
ON_TIME = Q(held_on_time=True)
# What the counts count: the status, never empty, so that every column the count reads is in the
# covering indexes of models.Occurrence (counting the id would visit each row).
COUNTED_COLUMN = "status"


def _in_window(
    occurrences_queryset: QuerySet[Occurrence], window_start: datetime, window_end: datetime
) -> QuerySet[Occurrence]:
    return occurrences_queryset.filter(due_at__gte=window_start, due_at__lt=window_end)


def cadence_compliance(
    *, occurrences_queryset: QuerySet[Occurrence], window_start: datetime, window_end: datetime
) -> Compliance:
    """Held on time / due over occurrences due in [window_start, window_end), in one query.

    Pass a queryset already scoped to the user (``occurrence_list``).
    """
    totals = _in_window(occurrences_queryset, window_start, window_end).aggregate(
        due=Count(COUNTED_COLUMN, filter=COUNTED), held_on_time=Count(COUNTED_COLUMN, filter=ON_TIME)
    )
    return Compliance.of(due=totals["due"], held_on_time=totals["held_on_time"])


def compliance_counts_by(
    key: str, occurrences_queryset: QuerySet[Occurrence], window_start: datetime, window_end: datetime
) -> list[tuple[int, int, int]]:
    """(group id, due, held on time) per value of ``key``, as the one grouped query returns them.

    No objects: a caller that sorts a firm's thousands of groups to show one
    page of them makes figures for that page only.
    """
    rows = (
        _in_window(occurrences_queryset, window_start, window_end)
        .order_by()
        .values(key)
        .annotate(
            due=Count(COUNTED_COLUMN, filter=COUNTED), held_on_time=Count(COUNTED_COLUMN, filter=ON_TIME)
        )
        .values_list(key, "due", "held_on_time")
    )
    return list(rows)


# What each grouping of compliance groups occurrences by: the functions below, and the API's ranking.
COMPLIANCE_GROUP_KEYS = {
    "engagement": "engagement_id",
    "stakeholder": "channel__stakeholder_id",
    "channel": "channel_id",
    "owner": "channel__owner_id",
}


def _compliance_by(
    key: str, occurrences_queryset: QuerySet[Occurrence], window_start: datetime, window_end: datetime
) -> dict[int, Compliance]:
    counts = compliance_counts_by(key, occurrences_queryset, window_start, window_end)
    return {pk: Compliance.of(due=due, held_on_time=held_on_time) for pk, due, held_on_time in counts}


def cadence_compliance_by_channel(
    *, occurrences_queryset: QuerySet[Occurrence], window_start: datetime, window_end: datetime
) -> dict[int, Compliance]:
    """Compliance per channel id, one grouped query."""
    return _compliance_by(COMPLIANCE_GROUP_KEYS["channel"], occurrences_queryset, window_start, window_end)


def cadence_compliance_by_stakeholder(
    *, occurrences_queryset: QuerySet[Occurrence], window_start: datetime, window_end: datetime
) -> dict[int, Compliance]:
    """Compliance per stakeholder id, over all their channels, one grouped query."""
    return _compliance_by(
        COMPLIANCE_GROUP_KEYS["stakeholder"], occurrences_queryset, window_start, window_end
    )


def cadence_compliance_by_engagement(
    *, occurrences_queryset: QuerySet[Occurrence], window_start: datetime, window_end: datetime
) -> dict[int, Compliance]:
    """Compliance per engagement id, one grouped query."""
    return _compliance_by(COMPLIANCE_GROUP_KEYS["engagement"], occurrences_queryset, window_start, window_end)


def cadence_compliance_by_owner(
    *, occurrences_queryset: QuerySet[Occurrence], window_start: datetime, window_end: datetime
) -> dict[int, Compliance]:
    """Compliance per channel owner (the consultant) id, one grouped query."""
    return _compliance_by(COMPLIANCE_GROUP_KEYS["owner"], occurrences_queryset, window_start, window_end)


def occurrence_list(*, user: Any) -> QuerySet[Occurrence]:
    """The occurrences of the channels ``user`` may see, with what a row shows."""
    return Occurrence.objects.visible_to(user).select_related(
        "channel__stakeholder", "channel__engagement", "channel__owner"
    )


def occurrence_get_for_user(*, user: Any, id: int) -> Occurrence:
    return get_or_404(occurrence_list(user=user), id=id)
