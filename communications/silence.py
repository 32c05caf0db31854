"""Silent sponsors: a sponsor or PMO lead not heard from for longer than their cadence allows.

The sweep (``silences_flag``, every minute from the dispatcher) raises one
SilenceFlag per engagement and person, with a follow-up for whoever owns the
relationship and a notification to them; a check-in with the person clears
the flag and completes the follow-up (``silences_clear_for_check_in``). The
sweep also clears flags that no longer apply: the person is no longer sponsor
or PMO lead, nothing is planned with them any more, or they are no longer
silent (a longer cadence, a check-in that reached the database another way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse

from communications import recurrence
from communications.health import engagement_health_refresh
from communications.models import (
    Channel,
    CheckIn,
    FollowUp,
    SilenceFlag,
    SilenceFlagQuerySet,
)
from communications.selectors import relationship_last_contact
from engagements.models import Engagement, Membership
from engagements.working_days import EngagementCalendar, effective_holiday_subdivision, end_of_working_day
from notifications.models import NotificationEvent
from notifications.services import NotificationDraft, notifications_record
from pmaas.durations import cadence_in_words, duration_ago_in_words, duration_in_words
from pmaas.locking import skip_locked
from pmaas.scoping import get_or_404
from search.services import search_documents_refresh
from stakeholders.models import StakeholderRole

WATCHED_KINDS = (StakeholderRole.Kind.SPONSOR, StakeholderRole.Kind.PMO_LEAD)
# One transaction per this many new flags: a first run over a large portfolio
# holds its locks briefly and commits in steps.
RAISE_BATCH_SIZE = 500
# A year of the rule shows every gap it has: months of 28 to 31 days, a fifth
# Tuesday, a yearly review.
_SAMPLE = timedelta(days=366)
_SAMPLE_LIMIT = 400

Pair = tuple[int, int]


def channel_interval(*, rule: str, starts_on: date, local_time: time) -> timedelta | None:
    """The planned interval of a cadence: the longest gap between consecutive occurrences.

    Measured over the rule's first year (and a little more, so a yearly rule
    has two occurrences) in local wall-clock time, so a clock change does not
    shorten a week by an hour. The longest gap, not the average, is the
    silence the plan itself allows: a "first Tuesday of the month" plan
    leaves 35 days between some meetings, and the person must not be flagged
    for a gap the plan made. Weekly gives 7 days, every other week 14,
    Monday and Thursday 4 (Thursday to Monday). A rule with fewer than two
    occurrences, or one that does not parse, has no interval (None).
    """
    return _interval(rule, starts_on, local_time)


@lru_cache(maxsize=1024)
def _interval(rule: str, starts_on: date, local_time: time) -> timedelta | None:
    try:
        parsed = recurrence.parse_rule(rule, starts_on=starts_on, local_time=local_time)
    except ValidationError:
        return None
    start = datetime.combine(starts_on, local_time)
    occurrences: list[datetime] = []
    sample = recurrence.local_occurrences(parsed, until=start + recurrence.CADENCE_HORIZON + _SAMPLE)
    for occurrence in islice(sample, _SAMPLE_LIMIT):
        occurrences.append(occurrence)
        if occurrence - start > _SAMPLE and len(occurrences) >= 2:
            break
    gaps = [later - earlier for earlier, later in zip(occurrences, occurrences[1:], strict=False)]
    return max(gaps) if gaps else None


def planned_interval(flag: SilenceFlag) -> timedelta:
    """The cadence behind a flag: its allowance is this interval times SPONSOR_SILENCE_FACTOR."""
    return flag.allowed_silence / settings.SPONSOR_SILENCE_FACTOR


@dataclass(frozen=True)
class _Silent:
    engagement_id: int
    stakeholder_id: int
    name: str
    kind_label: str
    last_contact_at: datetime | None
    measured_from: datetime
    interval: timedelta
    allowed: timedelta
    owner_id: int | None
    calendar: EngagementCalendar


def _watched_roles() -> QuerySet[StakeholderRole]:
    """Sponsor and PMO lead roles on active engagements with an active channel to the person."""
    active_channel = Channel.objects.active().filter(
        engagement_id=OuterRef("engagement_id"), stakeholder_id=OuterRef("stakeholder_id")
    )
    return StakeholderRole.objects.filter(
        kind__in=WATCHED_KINDS, engagement__status=Engagement.Status.ACTIVE
    ).filter(Exists(active_channel))


def _silent_pairs(*, as_of: datetime, factor: float) -> list[_Silent]:
    """Who is silent now; three queries whatever the size."""
    roles = list(
        _watched_roles()
        .annotate(
            last_contact_at=relationship_last_contact(
                engagement="engagement_id", stakeholder="stakeholder_id"
            )
        )
        .values(
            "engagement_id",
            "stakeholder_id",
            "kind",
            "created_at",
            "last_contact_at",
            "stakeholder__name",
            "stakeholder__time_zone",
            "engagement__country",
            "engagement__holiday_subdivision",
            "engagement__client__time_zone",
            "engagement__client__country",
            "engagement__client__holiday_subdivision",
            "relationship_owner_id",
            "relationship_owner__is_active",
        )
    )
    watched = {(role["engagement_id"], role["stakeholder_id"]) for role in roles}
    if not roles:
        return []
    channels: dict[Pair, list[Any]] = {}
    for channel in (
        Channel.objects.active()
        .filter(
            engagement_id__in={pair[0] for pair in watched},
            stakeholder_id__in={pair[1] for pair in watched},
        )
        .order_by("created_at", "pk")
        .values(
            "engagement_id",
            "stakeholder_id",
            "recurrence",
            "starts_on",
            "local_time",
            "owner_id",
            "owner__is_active",
        )
    ):
        channels.setdefault((channel["engagement_id"], channel["stakeholder_id"]), []).append(channel)
    leads: dict[int, int] = {}
    for engagement_id, user_id in (
        Membership.objects.leads()
        .filter(engagement_id__in={pair[0] for pair in watched}, user__is_active=True)
        .order_by("engagement_id", "joined_at", "pk")
        .values_list("engagement_id", "user_id")
    ):
        leads.setdefault(engagement_id, user_id)
    kind_labels = dict(StakeholderRole.Kind.choices)

    silent: list[_Silent] = []
    for role in roles:
        pair = (role["engagement_id"], role["stakeholder_id"])
        planned = channels.get(pair, [])
        intervals = [
            interval
            for c in planned
            if (
                interval := channel_interval(
                    rule=c["recurrence"], starts_on=c["starts_on"], local_time=c["local_time"]
                )
            )
        ]
        if not intervals:
            continue
        interval = min(intervals)
        allowed = interval * factor
        zone = ZoneInfo(role["stakeholder__time_zone"])
        plan_start = min(datetime.combine(c["starts_on"], c["local_time"], tzinfo=zone) for c in planned)
        # A new sponsor, or a plan that has only just begun, gets its full allowance first.
        measured_from = max(plan_start.astimezone(UTC), role["created_at"])
        if role["last_contact_at"] is not None:
            measured_from = max(measured_from, role["last_contact_at"])
        if as_of - measured_from <= allowed:
            continue
        owner_id = role["relationship_owner_id"] if role["relationship_owner__is_active"] else None
        if owner_id is None:
            active_owners = [c["owner_id"] for c in planned if c["owner__is_active"]]
            owner_id = active_owners[0] if active_owners else leads.get(pair[0])
        silent.append(
            _Silent(
                engagement_id=pair[0],
                stakeholder_id=pair[1],
                name=role["stakeholder__name"],
                kind_label=str(kind_labels[role["kind"]]),
                last_contact_at=role["last_contact_at"],
                measured_from=measured_from,
                interval=interval,
                allowed=allowed,
                owner_id=owner_id,
                calendar=EngagementCalendar(
                    time_zone=role["engagement__client__time_zone"],
                    country=role["engagement__country"],
                    subdivision=effective_holiday_subdivision(
                        country=role["engagement__country"],
                        subdivision=role["engagement__holiday_subdivision"],
                        client_country=role["engagement__client__country"],
                        client_subdivision=role["engagement__client__holiday_subdivision"],
                    ),
                ),
            )
        )
    return silent


def silence_follow_up_title(*, name: str, kind_label: str, silent_for: timedelta, interval: timedelta) -> str:
    """ "Get back in touch with Dr Anna Weber (sponsor): no check-in for almost 8 weeks, expected monthly"."""
    return (
        f"Get back in touch with {name[:150]} ({kind_label.lower()}): "
        f"no check-in for {duration_in_words(silent_for)}, expected {cadence_in_words(interval)}"
    )


def _raise(batch: Sequence[_Silent], *, as_of: datetime) -> int:
    """Insert the batch's flags and give each newly inserted one its follow-up and notification.

    The open-flag constraint drops a flag another sweep inserted first; only
    flags still without a follow-up, locked here (SKIP LOCKED), get one, so
    two sweeps at once write one follow-up and one notification per flag.
    """
    by_pair = {(s.engagement_id, s.stakeholder_id): s for s in batch}
    SilenceFlag.objects.bulk_create(
        [
            SilenceFlag(
                engagement_id=s.engagement_id,
                stakeholder_id=s.stakeholder_id,
                raised_at=as_of,
                last_contact_at=s.last_contact_at,
                allowed_silence=s.allowed,
            )
            for s in batch
        ],
        ignore_conflicts=True,
        batch_size=RAISE_BATCH_SIZE,
    )
    waiting = skip_locked(
        SilenceFlag.objects.open().filter(
            engagement_id__in={pair[0] for pair in by_pair},
            stakeholder_id__in={pair[1] for pair in by_pair},
            follow_up__isnull=True,
            raised_at=as_of,
        )
    )
    flags = [f for f in waiting if (f.engagement_id, f.stakeholder_id) in by_pair]
    owed = [f for f in flags if by_pair[(f.engagement_id, f.stakeholder_id)].owner_id is not None]
    if not owed:
        return len(flags)
    follow_ups = []
    for flag in owed:
        silent = by_pair[(flag.engagement_id, flag.stakeholder_id)]
        follow_ups.append(
            FollowUp(
                engagement_id=flag.engagement_id,
                title=silence_follow_up_title(
                    name=silent.name,
                    kind_label=silent.kind_label,
                    silent_for=as_of - silent.measured_from,
                    interval=silent.interval,
                ),
                details="Raised because the communication plan's cadence was not kept.",
                owner_user_id=silent.owner_id,
                # Due by the end of the next working day, under the time-zone rule of working_days.
                due_at=end_of_working_day(as_of, 1, calendar=silent.calendar),
                created_by=None,
            )
        )
    # PostgreSQL returns the new primary keys, so each flag can point at its follow-up.
    FollowUp.objects.bulk_create(follow_ups, batch_size=RAISE_BATCH_SIZE)
    search_documents_refresh(kind="follow_up", ids=[f.pk for f in follow_ups])
    for flag, follow_up in zip(owed, follow_ups, strict=True):
        flag.follow_up = follow_up
    SilenceFlag.objects.bulk_update(owed, ["follow_up"], batch_size=RAISE_BATCH_SIZE)
    notifications_record(
        drafts=[
            NotificationDraft(
                recipient_id=follow_up.owner_user_id,
                event=NotificationEvent.SPONSOR_SILENT,
                key=f"silence:{flag.pk}",
                message=follow_up.title,
                url=reverse("engagement_detail", args=[flag.engagement_id]) + "#gone-quiet",
                engagement_id=flag.engagement_id,
            )
            for flag, follow_up in zip(owed, follow_ups, strict=True)
            if follow_up.owner_user_id is not None
        ],
        as_of=as_of,
    )
    return len(flags)


def _clear_lapsed(*, lapsed: Sequence[tuple[int, int | None]], as_of: datetime) -> int:
    """Clear open flags that no longer apply and cancel their open follow-ups, in one transaction."""
    if not lapsed:
        return 0
    with transaction.atomic():
        cleared = SilenceFlag.objects.open().filter(pk__in=[pk for pk, _ in lapsed]).update(cleared_at=as_of)
        cancelled = FollowUp.Status.CANCELLED
        FollowUp.objects.filter(
            pk__in=[f for _, f in lapsed if f is not None], status__in=FollowUp.TRANSITIONS.sources(cancelled)
        ).update(status=cancelled, updated_at=as_of)
    return cleared


def silences_flag(*, as_of: datetime) -> int:
    """Flag every sponsor and PMO lead silent for longer than k times their planned interval.

    Watched: sponsor and PMO lead roles on active engagements with at least
    one active channel to the person. The interval is the shortest of their
    active channels' (``channel_interval``), k is
    settings.SPONSOR_SILENCE_FACTOR. Silence is measured from the latest
    check-in of the engagement the person attended, but never from before
    the role was added or the earliest active channel began, so a new plan
    does not flag at once. A silent person gets one open SilenceFlag, a
    follow-up "Get back in touch with …" owed by the relationship owner (else
    the owner of their first channel, else an engagement lead) due by the end
    of the next working day, and a SPONSOR_SILENT notification to that owner. Flags that
    no longer apply are cleared and their open follow-ups cancelled. The
    health of every engagement with a flag raised or cleared is recomputed.

    Reads take a fixed number of queries whatever the portfolio's size; each
    batch of new flags is one transaction. Idempotent, also with two sweeps
    at once. Returns the number of flags raised.
    """
    silent = _silent_pairs(as_of=as_of, factor=settings.SPONSOR_SILENCE_FACTOR)
    still_silent = {(s.engagement_id, s.stakeholder_id) for s in silent}
    open_flags = {
        (engagement_id, stakeholder_id): (pk, follow_up_id)
        for pk, engagement_id, stakeholder_id, follow_up_id in SilenceFlag.objects.open().values_list(
            "pk", "engagement_id", "stakeholder_id", "follow_up_id"
        )
    }
    lapsed = {pair: flag for pair, flag in open_flags.items() if pair not in still_silent}
    _clear_lapsed(lapsed=list(lapsed.values()), as_of=as_of)
    new = [s for s in silent if (s.engagement_id, s.stakeholder_id) not in open_flags]
    raised = 0
    for start in range(0, len(new), RAISE_BATCH_SIZE):
        with transaction.atomic():
            raised += _raise(new[start : start + RAISE_BATCH_SIZE], as_of=as_of)
    engagement_health_refresh(
        engagement_ids={pair[0] for pair in lapsed} | {s.engagement_id for s in new}, as_of=as_of
    )
    return raised


def silences_clear_for_check_in(*, check_in: CheckIn, actor: Any, as_of: datetime | None = None) -> int:
    """Clear the engagement's open flags of the people who attended, and complete their follow-ups.

    A check-in clears a flag when it is news (later than the flag's last
    contact; any check-in is news for someone never contacted) and ends the
    silence: no longer ago at ``as_of`` than the flag allows. A check-in
    logged so late that the person is still silent since it leaves the flag
    open and only moves its last contact, so the sweep a minute later does
    not raise the same lapse again with a second follow-up. The flag records
    the clearing check-in and is cleared at its time; a follow-up still open
    is marked done by ``actor`` at ``as_of``. Runs in the caller's
    transaction. Idempotent: a cleared flag is not cleared again. Returns the
    number cleared.
    """
    as_of = as_of or check_in.created_at
    attendee_ids = list(check_in.attendees.values_list("pk", flat=True))
    news = list(
        SilenceFlag.objects.open()
        .filter(engagement_id=check_in.engagement_id, stakeholder_id__in=attendee_ids)
        .filter(Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=check_in.occurred_at))
        .select_for_update()
        .values_list("pk", "follow_up_id", "allowed_silence")
    )
    ended = [(pk, f) for pk, f, allowed in news if as_of - check_in.occurred_at <= allowed]
    still_silent = [pk for pk, _, allowed in news if as_of - check_in.occurred_at > allowed]
    if still_silent:
        SilenceFlag.objects.open().filter(pk__in=still_silent).update(last_contact_at=check_in.occurred_at)
    if not ended:
        return 0
    cleared = (
        SilenceFlag.objects.open()
        .filter(pk__in=[pk for pk, _ in ended])
        .update(cleared_at=check_in.occurred_at, cleared_by_check_in=check_in)
    )
    done = FollowUp.Status.DONE
    FollowUp.objects.filter(
        pk__in=[f for _, f in ended if f is not None], status__in=FollowUp.TRANSITIONS.sources(done)
    ).update(status=done, completed_at=as_of, completed_by=actor, updated_at=as_of)
    return cleared


def silence_flag_list(*, user: Any) -> SilenceFlagQuerySet:
    """The flags the user may see, with what a row shows: person, engagement, follow-up."""
    return SilenceFlag.objects.visible_to(user).select_related(
        "engagement", "stakeholder", "follow_up", "follow_up__owner_user"
    )


def silence_flag_get_for_user(*, user: Any, id: Any) -> SilenceFlag:
    """One flag of an engagement the user sees; anything else answers 404."""
    return get_or_404(silence_flag_list(user=user), id=id)


def _with_role_kind(flags: QuerySet[SilenceFlag]) -> QuerySet[SilenceFlag]:
    role = StakeholderRole.objects.filter(
        engagement_id=OuterRef("engagement_id"), stakeholder_id=OuterRef("stakeholder_id")
    )
    return flags.annotate(role_kind=Subquery(role.values("kind")[:1]))


def silence_flags_open_for_engagement(
    *, user: Any, engagement: Engagement, as_of: datetime
) -> list[SilenceFlag]:
    """The engagement's open flags, longest silent first, each in words (``_labelled``); one query."""
    flags = _with_role_kind(silence_flag_list(user=user).open().filter(engagement=engagement)).order_by(
        "last_contact_at", "raised_at", "pk"
    )
    return _labelled(flags, as_of=as_of)


def silence_flags_open_for_owner(*, user: Any, as_of: datetime) -> list[SilenceFlag]:
    """Open flags of relationships the user owns or whose follow-up they hold, in words; one query."""
    owned = StakeholderRole.objects.filter(
        engagement_id=OuterRef("engagement_id"),
        stakeholder_id=OuterRef("stakeholder_id"),
        relationship_owner=user,
    )
    flags = (
        silence_flag_list(user=user)
        .open()
        .filter(Q(Exists(owned)) | Q(follow_up__owner_user=user))
        .order_by("raised_at", "pk")
    )
    return _labelled(_with_role_kind(flags), as_of=as_of)


def _labelled(flags: QuerySet[SilenceFlag], *, as_of: datetime) -> list[SilenceFlag]:
    """Each flag with ``role_label``, ``cadence_in_words`` ("every 5 weeks") and ``last_heard_in_words``
    ("over 7 weeks ago"; empty when the person was never heard from)."""
    labels = dict(StakeholderRole.Kind.choices)
    rows = list(flags)
    for flag in rows:
        flag.role_label = str(labels.get(getattr(flag, "role_kind", ""), "Stakeholder"))  # type: ignore[attr-defined]
        flag.cadence_in_words = cadence_in_words(planned_interval(flag))  # type: ignore[attr-defined]
        flag.last_heard_in_words = (  # type: ignore[attr-defined]
            duration_ago_in_words(as_of - flag.last_contact_at) if flag.last_contact_at else ""
        )
    return rows


def open_silence_count() -> Coalesce:
    """An engagement annotation: how many of its flags are open, inside the engagement query itself."""
    counted = (
        SilenceFlag.objects.open()
        .filter(engagement_id=OuterRef("pk"))
        .order_by()
        .values("engagement_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
