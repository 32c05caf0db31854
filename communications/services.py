"""Writes to the communication plan, check-ins and follow-ups."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from communications import recurrence
from communications.health import engagement_health_refresh
from communications.models import (
    DEFAULT_GRACE_PERIOD,
    Channel,
    ChannelKind,
    CheckIn,
    CheckInDeletion,
    CheckInRevision,
    CommunicationObligation,
    FollowUp,
    FollowUpComment,
    FollowUpOverdue,
    FollowUpRedate,
    Occurrence,
    Sentiment,
    SilenceFlag,
    names_as_recorded,
)
from communications.obligations import obligations_meet_for_check_in
from communications.raid import (
    decision_lines,
    raid_decisions_file_from_check_in,
    raid_decisions_follow_check_in,
)
from communications.rollups import weekly_moments, weekly_rollups_refresh
from communications.scheduling import channel_compute_next_due, occurrence_mark_held
from communications.selectors import (
    check_in_cover_candidates,
    follow_up_can_update_status,
    follow_up_changeable_by,
    membership_open_work,
    stakeholder_role_open_work,
)
from communications.silence import silences_clear_for_check_in
from communications.trends import TREND_WEEKS
from engagements.models import Engagement, Membership
from engagements.policy import Action, engagement_check_can
from engagements.selectors import engagement_check_editable
from engagements.services import membership_lock_for_change
from engagements.working_days import engagement_skip_rule
from pmaas.concurrency import check_unchanged
from pmaas.deadlines import END_OF_DAY
from pmaas.durations import duration_in_words
from pmaas.errors import NotAllowed, NotFound, RuleViolation
from pmaas.sharing import is_client_user
from pmaas.timezones import available_time_zones
from pmaas.validation import EARLIEST_DATE, LATEST_DATE, clean_instance
from search.services import search_documents_refresh
from stakeholders.models import Stakeholder, StakeholderRole

logger = logging.getLogger(__name__)

# A check-in may be logged ahead of time (an agreed call later today), not days ahead.
CHECK_IN_FUTURE_LIMIT = timedelta(days=1)
# A cadence is planned for a living engagement; far-off years only make the
# rule expansion slow (it walks from the start date) or overflow the calendar.
EARLIEST_CADENCE_START = EARLIEST_DATE
LATEST_CADENCE_START = LATEST_DATE
# Beyond this a check-in "on time" could be months late, and the cadence would mean nothing.
LONGEST_GRACE_PERIOD = timedelta(days=90)
# A follow-up given only a date is due by the end of that day where it was agreed.
FOLLOW_UP_DUE_TIME = END_OF_DAY


def _team_user_ids(engagement: Engagement) -> set[int]:
    return set(Membership.objects.filter(engagement=engagement).values_list("user_id", flat=True))


def _role_stakeholder_ids(engagement: Engagement) -> set[int]:
    return set(StakeholderRole.objects.filter(engagement=engagement).values_list("stakeholder_id", flat=True))


def _channel_problems(
    *,
    engagement: Engagement,
    stakeholder: Stakeholder,
    owner: User,
    recurrence_rule: str,
    starts_on: date | None,
    local_time: time | None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if stakeholder.pk not in _role_stakeholder_ids(engagement):
        errors["stakeholder"] = "This person has no role on the engagement."
    if owner.pk not in _team_user_ids(engagement):
        errors["owner"] = "The owner must be on the engagement's team."
    if starts_on is not None and not (EARLIEST_CADENCE_START <= starts_on <= LATEST_CADENCE_START):
        errors["starts_on"] = (
            f"Start the cadence between {EARLIEST_CADENCE_START:%Y} and {LATEST_CADENCE_START:%Y}; "
            "rules expanded across centuries are slow and end outside the calendar."
        )
    else:
        try:
            recurrence.parse_rule(recurrence_rule, starts_on=starts_on, local_time=local_time)
        except ValidationError as exc:
            errors["recurrence"] = exc.messages[0]
    return errors


def channel_default_grace_period(*, rule: str, starts_on: date | None, local_time: time | None) -> timedelta:
    """A channel's grace when none is given: DEFAULT_GRACE_PERIOD, or half a closer cadence's gap."""
    gap = (
        recurrence.shortest_gap(rule=rule, starts_on=starts_on, local_time=local_time)
        if starts_on is not None and local_time is not None
        else None
    )
    return min(DEFAULT_GRACE_PERIOD, gap / 2) if gap is not None else DEFAULT_GRACE_PERIOD


def _check_grace_period(channel: Channel, errors: dict[str, str]) -> None:
    """Refuse a grace period that is negative, too long, or not shorter than the cadence's shortest gap.

    A meeting still open when the next one falls due would be passed over by
    the schedule (the missed sweep moves a channel past its grace period), so
    every planned meeting becomes an occurrence only when each one's grace
    ends before the next comes round.
    """
    grace = channel.grace_period
    if grace < timedelta(0):
        errors["grace_period"] = "The grace period cannot be negative."
        return
    if grace > LONGEST_GRACE_PERIOD:
        errors["grace_period"] = (
            f"A grace period longer than {LONGEST_GRACE_PERIOD.days} days makes a cadence meaningless."
        )
        return
    if (
        "recurrence" in errors
        or "starts_on" in errors
        or channel.starts_on is None
        or channel.local_time is None
    ):
        return
    gap = recurrence.shortest_gap(
        rule=channel.recurrence, starts_on=channel.starts_on, local_time=channel.local_time
    )
    if gap is not None and grace >= gap:
        errors["grace_period"] = (
            f"Keep the grace period shorter than {duration_in_words(gap)} "
            f"({gap // timedelta(hours=1)} hours), "
            "the closest two meetings of this cadence, so each meeting is held or missed before the next "
            "one falls due."
        )


def channel_create(
    *,
    actor: Any,
    engagement: Engagement,
    stakeholder: Stakeholder,
    title: str,
    recurrence_rule: str,
    starts_on: date,
    local_time: time,
    owner: User,
    kind: str = ChannelKind.MEETING,
    details: str = "",
    grace_period: timedelta | None = None,
    duration: timedelta | None = None,
    as_of: datetime | None = None,
) -> Channel:
    """Plan a line of communication with a stakeholder and compute its first due time.

    The stakeholder must have a role on the engagement and the owner must be on
    its team; the rule must parse; the duration (30 minutes when not given)
    lies from 5 minutes to 8 hours. Not idempotent: each call plans a new channel.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    as_of = as_of or timezone.now()
    errors = _channel_problems(
        engagement=engagement,
        stakeholder=stakeholder,
        owner=owner,
        recurrence_rule=recurrence_rule,
        starts_on=starts_on,
        local_time=local_time,
    )
    channel = Channel(
        engagement=engagement,
        stakeholder=stakeholder,
        kind=kind,
        title=title.strip(),
        details=details,
        recurrence=recurrence_rule.strip().removeprefix("RRULE:"),
        starts_on=starts_on,
        local_time=local_time,
        owner=owner,
    )
    if duration is not None:
        channel.duration = duration
    channel.grace_period = (
        grace_period
        if grace_period is not None
        else channel_default_grace_period(rule=channel.recurrence, starts_on=starts_on, local_time=local_time)
    )
    _check_grace_period(channel, errors)
    clean_instance(channel, errors)
    channel.next_due_at = channel_compute_next_due(channel=channel, after=as_of)
    channel.save()
    # The person's relationship health reads the planned interval.
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=as_of)
    return channel


# Fields that move the schedule; the stakeholder's zone is what places the local time.
_CADENCE_FIELDS = ("recurrence", "starts_on", "local_time", "stakeholder_id")


@transaction.atomic
def channel_update(
    *,
    actor: Any,
    channel: Channel,
    seen_updated_at: datetime | None,
    stakeholder: Stakeholder,
    title: str,
    recurrence_rule: str,
    starts_on: date,
    local_time: time,
    owner: User,
    kind: str = ChannelKind.MEETING,
    details: str = "",
    grace_period: timedelta | None = None,
    duration: timedelta | None = None,
    as_of: datetime | None = None,
) -> Channel:
    """Change a planned channel; the same rules as channel_create apply.

    The row is locked and refused with a "changed by someone else" error when
    it moved on since ``seen_updated_at``. A changed cadence (rule, start,
    local time or stakeholder, whose zone places it) of an active channel
    recomputes the next due time from ``as_of``; a paused channel stays without
    one. Idempotent: saving the same values again changes only updated_at.
    """
    engagement_check_editable(user=actor, engagement=channel.engagement)
    as_of = as_of or timezone.now()
    locked = Channel.objects.select_for_update().select_related("engagement__client").get(pk=channel.pk)
    check_unchanged(locked, seen_updated_at=seen_updated_at)
    errors = _channel_problems(
        engagement=locked.engagement,
        stakeholder=stakeholder,
        owner=owner,
        recurrence_rule=recurrence_rule,
        starts_on=starts_on,
        local_time=local_time,
    )
    before = tuple(getattr(locked, name) for name in _CADENCE_FIELDS)
    owner_before = locked.owner_id
    locked.stakeholder = stakeholder
    locked.title = title.strip()
    locked.kind = kind
    locked.details = details
    locked.recurrence = recurrence_rule.strip().removeprefix("RRULE:")
    locked.starts_on = starts_on
    locked.local_time = local_time
    locked.owner = owner
    if duration is not None:
        locked.duration = duration
    if grace_period is not None:
        locked.grace_period = grace_period
    _check_grace_period(locked, errors)
    clean_instance(locked, errors)
    cadence_changed = before != tuple(getattr(locked, name) for name in _CADENCE_FIELDS)
    owner_changed = owner_before != locked.owner_id
    if cadence_changed and locked.status == Channel.Status.ACTIVE:
        locked.next_due_at = channel_compute_next_due(channel=locked, after=as_of)
    locked.save()
    if cadence_changed:
        engagement_health_refresh(engagement_ids=[locked.engagement_id], as_of=as_of)
    if owner_changed:
        _refresh_owned_history(engagement_id=locked.engagement_id, as_of=as_of)
    return locked


def _refresh_owned_history(*, engagement_id: int, as_of: datetime) -> None:
    """The weeks a trend shows of one engagement: its people's own figures follow what they own now."""
    weekly_rollups_refresh(
        engagement_ids=[engagement_id],
        moments=weekly_moments(since=as_of - timedelta(weeks=TREND_WEEKS), until=as_of),
        as_of=as_of,
    )


def _channel_move(*, actor: Any, channel: Channel, to: str, as_of: datetime | None) -> Channel:
    engagement_check_editable(user=actor, engagement=channel.engagement)
    as_of = as_of or timezone.now()
    with transaction.atomic():
        locked = Channel.objects.select_for_update().select_related("stakeholder").get(pk=channel.pk)
        if not Channel.TRANSITIONS.check(locked.status, to):
            return locked
        locked.status = to
        # A paused channel is never due; resuming starts the cadence again from now, not from the backlog.
        locked.next_due_at = (
            channel_compute_next_due(channel=locked, after=as_of) if to == Channel.Status.ACTIVE else None
        )
        clean_instance(locked)
        locked.save()
        engagement_health_refresh(engagement_ids=[locked.engagement_id], as_of=as_of)
    return locked


def channel_pause(*, actor: Any, channel: Channel, as_of: datetime | None = None) -> Channel:
    """Stop a channel falling due: it keeps its cadence but has no next due time.

    Needs the right to change the engagement (NotAllowed otherwise).
    Idempotent: pausing a paused channel changes nothing.
    """
    return _channel_move(actor=actor, channel=channel, to=Channel.Status.PAUSED, as_of=as_of)


def channel_resume(*, actor: Any, channel: Channel, as_of: datetime | None = None) -> Channel:
    """Let a paused channel fall due again, from its next occurrence after ``as_of``.

    Occurrences missed while paused are not owed. Idempotent: resuming an
    active channel changes nothing.
    """
    return _channel_move(actor=actor, channel=channel, to=Channel.Status.ACTIVE, as_of=as_of)


@transaction.atomic
def stakeholder_role_remove(*, actor: Any, role: StakeholderRole) -> None:
    """Take a person off an engagement's register; the person stays on record at the client.

    Refused (RuleViolation) while they owe open follow-ups or have active
    channels on this engagement, so no commitment or plan is orphaned: those
    are completed, reassigned or paused first. It lives here rather than in
    stakeholders, which sits below the communication rows and may not read
    them. Check-ins they attended keep them as attendee. Not idempotent: the
    second call finds no role (404).
    """
    engagement_check_editable(user=actor, engagement=role.engagement)
    locked = StakeholderRole.objects.select_for_update().select_related("stakeholder").get(pk=role.pk)
    follow_ups, channels = stakeholder_role_open_work(role=locked)
    if follow_ups or channels:
        owed = []
        if follow_ups:
            owed.append(f"{follow_ups} open follow-up{'s' if follow_ups != 1 else ''}")
        if channels:
            owed.append(f"{channels} active channel{'s' if channels != 1 else ''}")
        raise RuleViolation(
            f"{locked.stakeholder.name} still has {' and '.join(owed)} on this engagement. "
            "Complete or reassign their follow-ups and pause or remove their channels "
            "in the communication plan first."
        )
    locked.delete()
    engagement_health_refresh(engagement_ids=[locked.engagement_id], as_of=timezone.now())


@transaction.atomic
def membership_remove(*, actor: Any, membership: Membership, reassign_to: User | None = None) -> None:
    """Take a member off an engagement's team, handing what they own on it to ``reassign_to``.

    Their open follow-ups, their channels in the communication plan and the
    relationships they own on this engagement all pass to ``reassign_to``, who
    must be another member of the team; when they own any of these and nobody
    is named, the removal is refused under "reassign_to", so no commitment or
    plan is left with someone who no longer sees the engagement. The lead
    cannot be removed (RuleViolation): the role is handed over first
    (engagements.services.membership_make_lead). It lives here rather than in
    engagements, which sits below the rows it reassigns. The engagement's
    lead, practice leads and administrators only (NotAllowed). All or nothing.
    Not idempotent: a second call finds no member (NotFound).
    """
    engagement = membership.engagement
    # The same lock as every other team change, so a hand-over cannot interleave.
    locked = membership_lock_for_change(actor=actor, membership=membership)
    leaving = locked.user
    if locked.role == Membership.Role.LEAD:
        raise RuleViolation(f"{leaving} leads this engagement: hand the lead role to another member first.")
    if reassign_to is not None and (
        reassign_to.pk == leaving.pk
        or not Membership.objects.filter(engagement=engagement, user=reassign_to).exists()
    ):
        raise ValidationError({"reassign_to": "Choose another member of this engagement's team."})
    work = membership_open_work(membership=locked)
    if work and reassign_to is None:
        raise ValidationError(
            {"reassign_to": f"{leaving} owns {work.in_words} here: choose who takes them over."}
        )
    if reassign_to is not None:
        mine = {"engagement": engagement}
        FollowUp.objects.open().filter(owner_user=leaving, **mine).update(
            owner_user=reassign_to, updated_at=timezone.now()
        )
        Channel.objects.filter(owner=leaving, **mine).update(owner=reassign_to, updated_at=timezone.now())
        StakeholderRole.objects.filter(relationship_owner=leaving, **mine).update(
            relationship_owner=reassign_to, updated_at=timezone.now()
        )
        _refresh_owned_history(engagement_id=engagement.pk, as_of=timezone.now())
    locked.delete()
    logger.info(
        "user %s left engagement %s, their work to user %s, removed by user %s",
        leaving.pk,
        engagement.pk,
        getattr(reassign_to, "pk", None),
        actor.pk,
    )


def _advance_channel(*, channel: Channel, occurred_at: datetime, check_in: CheckIn | None = None) -> None:
    """Close the occurrence this check-in covers and move the channel to its next due time.

    A check-in covers the due occurrence when it happened after the occurrence
    before it (held early, on time or late); one logged for an older cycle
    leaves the schedule alone. The channel moves to the occurrence after the
    covered one, even when the check-in came later still, so a late check-in
    never covers two. With ``check_in``, the covered occurrence row
    becomes held (created first if the dispatcher has not yet).
    """
    if channel.next_due_at is None:
        return
    previous = recurrence.previous_occurrence(
        rule=channel.recurrence,
        starts_on=channel.starts_on,
        local_time=channel.local_time,
        time_zone=channel.stakeholder.time_zone,
        before=channel.next_due_at,
        skip=engagement_skip_rule(channel.engagement),
    )
    if previous is not None and occurred_at <= previous:
        return
    if check_in is not None:
        occurrence_mark_held(channel=channel, due_at=channel.next_due_at, check_in=check_in)
    # One check-in covers one occurrence: a late one leaves the meetings that came due
    # since then to be held or missed, rather than passing over them.
    following = channel_compute_next_due(channel=channel, after=channel.next_due_at)
    Channel.objects.filter(pk=channel.pk, next_due_at=channel.next_due_at).update(
        next_due_at=following, updated_at=timezone.now()
    )
    channel.next_due_at = following


def follow_up_due_at(*, due_on: date, time_zone: tzinfo) -> datetime:
    """When a follow-up agreed for a date is due: the end of that day (FOLLOW_UP_DUE_TIME) in ``time_zone``.

    ``time_zone`` is where it was agreed (the zone of whoever recorded it), so
    an item "for Friday" goes overdue once Friday is over there, not at
    midnight UTC. Its spec names that zone too (``FollowUpSpec.due_zone``),
    so every page reads it as Friday (pmaas/deadlines.py).
    """
    return timezone.make_aware(datetime.combine(due_on, FOLLOW_UP_DUE_TIME), time_zone)


@dataclass(frozen=True)
class FollowUpSpec:
    """One follow-up to create alongside a check-in; exactly one owner."""

    title: str
    due_at: datetime
    owner_user: User | None = None
    # For an item agreed for a day: the zone of that day, whose end ``due_at`` is (follow_up_due_at).
    due_zone: str = ""
    owner_stakeholder: Stakeholder | None = None
    details: str = ""
    # A team-owned item shown to the client's users too (what the client owes is always shown).
    shared_with_client: bool = False
    # Whom the item is about, when that is not its owner.
    stakeholder: Stakeholder | None = None


@dataclass
class _Problems:
    fields: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)


def _check_follow_up(
    spec: FollowUpSpec,
    *,
    index: int | None,
    occurred_at: datetime | None,
    team_ids: set[int],
    stakeholder_ids: set[int],
    problems: _Problems,
) -> None:
    prefix = "follow_ups" if index is not None else ""

    def name(field_name: str) -> str:
        return f"{prefix}[{index}].{field_name}" if prefix else field_name

    title_limit = FollowUp._meta.get_field("title").max_length or 0
    if not spec.title.strip():
        problems.add(name("title"), "Say what has to be done.")
    elif len(spec.title.strip()) > title_limit:
        # check_in_log bulk-creates without full_clean(): the column would refuse it (or, in SQLite, not).
        problems.add(name("title"), f"Keep it to {title_limit} characters; put the rest in the details.")
    if spec.due_at is None:
        problems.add(name("due_at"), "Give a due date.")
    elif occurred_at is not None and spec.due_at < occurred_at:
        problems.add(name("due_at"), "A follow-up cannot be due before the check-in it came from.")
    if spec.due_zone and spec.due_zone not in available_time_zones():
        # check_in_log bulk-creates without full_clean(): the field's validator would not run.
        problems.add(name("due_at"), f"{spec.due_zone} is not a known time zone.")
    owners = [o for o in (spec.owner_user, spec.owner_stakeholder) if o is not None]
    if len(owners) != 1:
        problems.add(name("owner"), "Give exactly one owner: a team member or a stakeholder.")
    elif spec.owner_user is not None and spec.owner_user.pk not in team_ids:
        problems.add(name("owner"), "The owner must be on the engagement's team.")
    elif spec.owner_stakeholder is not None and spec.owner_stakeholder.pk not in stakeholder_ids:
        problems.add(name("owner"), "This stakeholder has no role on the engagement.")
    if spec.stakeholder is not None and spec.stakeholder.pk not in stakeholder_ids:
        problems.add(name("stakeholder"), "This stakeholder has no role on the engagement.")


def _check_check_in(
    problems: _Problems,
    *,
    occurred_at: datetime | None,
    summary: str,
    attendees: Sequence[Stakeholder],
    team_attendees: Sequence[Any],
    stakeholder_ids: set[int],
    team_ids: set[int],
    as_of: datetime,
) -> None:
    """What a check-in must say, logged or edited: when, a summary, and who took part from each side."""
    if occurred_at is None:
        problems.add("occurred_at", "Say when it happened.")
    elif occurred_at > as_of + CHECK_IN_FUTURE_LIMIT:
        problems.add("occurred_at", "A check-in cannot be logged more than a day ahead.")
    if not summary.strip():
        problems.add("summary", "Write a short summary.")
    if not attendees:
        problems.add("attendees", "Name at least one stakeholder who took part.")
    outsiders = [str(s) for s in attendees if s.pk not in stakeholder_ids]
    if outsiders:
        problems.add("attendees", f"Not stakeholders of this engagement: {', '.join(outsiders)}.")
    strangers = [str(u) for u in team_attendees if u.pk not in team_ids]
    if strangers:
        problems.add("team_attendees", f"Not on this engagement's team: {', '.join(strangers)}.")


@transaction.atomic
def check_in_log(
    *,
    actor: Any,
    engagement: Engagement,
    occurred_at: datetime,
    summary: str,
    attendees: Sequence[Stakeholder],
    team_attendees: Sequence[User] = (),
    kind: str = ChannelKind.MEETING,
    channel: Channel | None = None,
    sentiment: int = Sentiment.NEUTRAL,
    decisions: str = "",
    follow_ups: Iterable[FollowUpSpec] = (),
    shared_with_client: bool = False,
    covers: Sequence[Channel] | None = None,
    file_decisions: bool = False,
    as_of: datetime | None = None,
) -> CheckIn:
    """Log an interaction and its follow-ups in one transaction.

    Every attendee must have a role on the engagement, every team attendee and
    follow-up owner must be on its team, the channel must belong to it, the
    check-in may not lie more than a day ahead, and no follow-up may be due
    before it. Logging against a ``channel`` (the due row's button) closes
    its due occurrence and moves its next due time. Without one, the check-in
    covers the planned meetings it matches
    (``selectors.check_in_cover_candidates``): the one candidate by itself;
    when several match, ``covers`` must say which (an empty list: none, an
    extra conversation), else the error under "covers" names them. Only a
    check-in ``shared_with_client`` is shown to the client's users, and never
    its sentiment (pmaas/sharing.py). With ``file_decisions``, each line of
    ``decisions`` is filed in the RAID log as a decision from this check-in
    (``raid.raid_decisions_file_from_check_in``), in the same transaction.
    Nothing is written when anything is refused. Not idempotent: each call
    logs a new check-in.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    as_of = as_of or timezone.now()
    team_ids = _team_user_ids(engagement)
    stakeholder_ids = _role_stakeholder_ids(engagement)
    problems = _Problems()
    _check_check_in(
        problems,
        occurred_at=occurred_at,
        summary=summary,
        attendees=attendees,
        team_attendees=team_attendees,
        stakeholder_ids=stakeholder_ids,
        team_ids=team_ids,
        as_of=as_of,
    )
    if channel is not None and channel.engagement_id != engagement.pk:
        problems.add("channel", "This channel belongs to another engagement.")
    if file_decisions and not decision_lines(decisions):
        problems.add("decisions", "Write the decisions to file, one per line, or untick filing them.")
    covered = _covered_channels(
        actor=actor,
        engagement=engagement,
        channel=channel,
        covers=covers,
        # A check-in naming people of other engagements is refused above; it covers nothing.
        attendees=attendees if all(s.pk in stakeholder_ids for s in attendees) else [],
        occurred_at=occurred_at,
        problems=problems,
    )
    specs = list(follow_ups)
    for index, spec in enumerate(specs):
        _check_follow_up(
            spec,
            index=index,
            occurred_at=occurred_at,
            team_ids=team_ids,
            stakeholder_ids=stakeholder_ids,
            problems=problems,
        )

    check_in = CheckIn(
        engagement=engagement,
        channel=covered[0] if covered else None,
        kind=kind,
        occurred_at=occurred_at,
        logged_by=actor,
        summary=summary.strip(),
        sentiment=sentiment,
        decisions=decisions.strip(),
        shared_with_client=shared_with_client,
    )
    clean_instance(check_in, problems.fields)
    check_in.save()
    check_in.attendees.set(attendees)
    check_in.team_attendees.set(team_attendees)
    silences_clear_for_check_in(check_in=check_in, actor=actor, as_of=as_of)
    obligations_meet_for_check_in(check_in=check_in)
    created = FollowUp.objects.bulk_create(
        [
            FollowUp(
                engagement=engagement,
                check_in=check_in,
                title=spec.title.strip(),
                details=spec.details,
                due_at=spec.due_at,
                due_zone=spec.due_zone,
                owner_user=spec.owner_user,
                owner_stakeholder=spec.owner_stakeholder,
                shared_with_client=spec.shared_with_client,
                stakeholder=spec.stakeholder,
                created_by=actor,
            )
            for spec in specs
        ],
        batch_size=500,
    )
    search_documents_refresh(kind="check_in", ids=[check_in.pk])
    search_documents_refresh(kind="follow_up", ids=[f.pk for f in created])
    # The weeks this changes: the check-in's own, those of the occurrences it may hold, and
    # every week a back-dated follow-up has already been overdue at the end of.
    touched = [occurred_at, *(planned.next_due_at for planned in covered if planned.next_due_at)]
    for spec in specs:
        touched += weekly_moments(since=spec.due_at, until=as_of)
    for planned in covered:
        _advance_channel(channel=planned, occurred_at=occurred_at, check_in=check_in)
    if file_decisions:
        raid_decisions_file_from_check_in(actor=actor, check_in=check_in, as_of=as_of)
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=as_of)
    weekly_rollups_refresh(engagement_ids=[engagement.pk], moments=touched, as_of=as_of)
    return check_in


def due_in_words(moment: datetime) -> str:
    """ "Tue 3 Mar, 10:00" in the active time zone: how the check-in form names a planned meeting's time."""
    local = timezone.localtime(moment)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def _cover_label(channel: Channel) -> str:
    """ "Weekly PMO sync with Ana Ruiz, due Tue 3 Mar, 10:00", in the active time zone."""
    when = f", due {due_in_words(channel.next_due_at)}" if channel.next_due_at else ""
    return f"{channel.title} with {channel.stakeholder.name}{when}"


def _covered_channels(
    *,
    actor: Any,
    engagement: Engagement,
    channel: Channel | None,
    covers: Sequence[Channel] | None,
    attendees: Sequence[Stakeholder],
    occurred_at: datetime | None,
    problems: _Problems,
) -> list[Channel]:
    """The channels whose open occurrence the check-in holds: the one named, else the ones it matches."""
    if channel is not None:
        return [channel] if channel.engagement_id == engagement.pk else []
    if occurred_at is None or not attendees:
        return []
    candidates = check_in_cover_candidates(
        user=actor, engagement=engagement, attendees=attendees, occurred_at=occurred_at
    )
    if covers is None:
        if len(candidates) > 1:
            problems.add(
                "covers",
                "This check-in fits more than one planned meeting: "
                + "; ".join(_cover_label(c) for c in candidates)
                + ". Say which it covers, or none.",
            )
            return []
        return candidates
    fitting = {c.pk for c in candidates}
    strays = [c for c in covers if c.pk not in fitting]
    if strays:
        problems.add(
            "covers",
            "Not a planned meeting with these attendees around this time: "
            + "; ".join(_cover_label(c) for c in strays)
            + ".",
        )
        return []
    chosen = {c.pk for c in covers}
    return [c for c in candidates if c.pk in chosen]


@transaction.atomic
def follow_up_create(
    *, actor: Any, engagement: Engagement, spec: FollowUpSpec, as_of: datetime | None = None
) -> FollowUp:
    """Record an action item that did not come out of a check-in.

    The team of the engagement may; the owner must be on its team or one of
    its stakeholders, as must the stakeholder it concerns. Refreshes the
    engagement's health. Not idempotent: each call records a new item.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    problems = _Problems()
    _check_follow_up(
        spec,
        index=None,
        occurred_at=None,
        team_ids=_team_user_ids(engagement),
        stakeholder_ids=_role_stakeholder_ids(engagement),
        problems=problems,
    )
    follow_up = FollowUp(
        engagement=engagement,
        title=spec.title.strip(),
        details=spec.details,
        due_at=spec.due_at,
        due_zone=spec.due_zone,
        owner_user=spec.owner_user,
        owner_stakeholder=spec.owner_stakeholder,
        shared_with_client=spec.shared_with_client,
        stakeholder=spec.stakeholder,
        created_by=actor,
    )
    clean_instance(follow_up, problems.fields)
    follow_up.save()
    search_documents_refresh(kind="follow_up", ids=[follow_up.pk])
    now = as_of or timezone.now()
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=now)
    weekly_rollups_refresh(
        engagement_ids=[engagement.pk], moments=weekly_moments(since=follow_up.due_at, until=now), as_of=now
    )
    return follow_up


def _require_status_rights(actor: Any, follow_up: FollowUp) -> None:
    if not FollowUp.objects.visible_to(actor).filter(pk=follow_up.pk).exists():
        raise NotFound("No such follow-up.")
    if not follow_up_can_update_status(user=actor, follow_up=follow_up):
        raise NotAllowed("You may view this follow-up but not change it.")


@transaction.atomic
def _follow_up_move(*, follow_up: FollowUp, to: str, **fields: Any) -> FollowUp:
    """Lock the row, check the move against FollowUp.TRANSITIONS, and write ``to`` with ``fields``."""
    locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if FollowUp.TRANSITIONS.check(locked.status, to):
        FollowUp.objects.filter(pk=locked.pk).update(status=to, **fields)
        now = timezone.now()
        engagement_health_refresh(engagement_ids=[locked.engagement_id], as_of=now)
        # Only this week's count moves: past weeks already count it by when it was completed.
        weekly_rollups_refresh(engagement_ids=[locked.engagement_id], moments=[now], as_of=now)
    follow_up.refresh_from_db()
    return follow_up


def follow_up_complete(*, actor: Any, follow_up: FollowUp, as_of: datetime | None = None) -> FollowUp:
    """Mark an open follow-up done. Idempotent: completing a done item changes nothing.

    Team members complete items of their engagements; a client user completes
    the items they own. A cancelled item cannot be completed (TransitionRefused).
    """
    _require_status_rights(actor, follow_up)
    as_of = as_of or timezone.now()
    return _follow_up_move(
        follow_up=follow_up,
        to=FollowUp.Status.DONE,
        completed_at=as_of,
        completed_by=actor,
        updated_at=as_of,
    )


def follow_up_reopen(*, actor: Any, follow_up: FollowUp, as_of: datetime | None = None) -> FollowUp:
    """Open a done or cancelled follow-up again, clearing its completion. Idempotent."""
    _require_status_rights(actor, follow_up)
    as_of = as_of or timezone.now()
    return _follow_up_move(
        follow_up=follow_up, to=FollowUp.Status.OPEN, completed_at=None, completed_by=None, updated_at=as_of
    )


@transaction.atomic
def follow_up_redate(
    *,
    actor: Any,
    follow_up: FollowUp,
    due_at: datetime,
    due_zone: str = "",
    seen_updated_at: datetime | None = None,
    as_of: datetime | None = None,
) -> FollowUp:
    """Move an open follow-up's due time; whoever may change its status may re-date it.

    ``due_zone`` names the zone of the day it is now due by the end of, for a
    date agreed as a day (follow_up_due_at); empty for a time.

    The new due time must lie ahead of ``as_of``: re-dating is how an item
    gets more time, and a date already past would make it overdue the moment
    it is saved. It clears the overdue stamp, so the overdue scan flags it
    afresh if it slips again, and records the move (FollowUpRedate) for the
    follow-up's history. Done and cancelled items are refused. Idempotent:
    the same due time twice changes and records nothing more.
    """
    _require_status_rights(actor, follow_up)
    as_of = as_of or timezone.now()
    locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    check_unchanged(locked, seen_updated_at=seen_updated_at)
    if locked.status != FollowUp.Status.OPEN:
        raise ValidationError({"due_at": "Only an open follow-up can be re-dated."})
    if due_at <= as_of:
        raise ValidationError(
            {
                "due_at": ValidationError(
                    "That time has already passed: choose a later date or time "
                    "(or complete the follow-up if it is done).",
                    code="in_past",
                )
            }
        )
    previous_due_at, previous_due_zone = locked.due_at, locked.due_zone
    locked.due_at, locked.due_zone = due_at, due_zone
    clean_instance(locked)
    locked.save(update_fields=["due_at", "due_zone", "updated_at"])
    if (previous_due_at, previous_due_zone) != (due_at, due_zone):
        FollowUpRedate.objects.create(
            follow_up=locked,
            previous_due_at=previous_due_at,
            previous_due_zone=previous_due_zone,
            due_at=due_at,
            due_zone=due_zone,
            redated_by=actor,
            redated_at=as_of,
        )
    FollowUpOverdue.objects.filter(follow_up=locked).delete()
    # The due time is the moment a search result shows for the item.
    search_documents_refresh(kind="follow_up", ids=[locked.pk])
    engagement_health_refresh(engagement_ids=[locked.engagement_id], as_of=as_of)
    weekly_rollups_refresh(engagement_ids=[locked.engagement_id], moments=[as_of], as_of=as_of)
    return locked


@dataclass(frozen=True)
class BulkCompletion:
    """What follow_ups_complete_bulk did: how many it completed and which ids it left alone."""

    completed: int
    ignored_ids: tuple[int, ...]


def follow_ups_complete_bulk(
    *,
    actor: Any,
    engagement: Engagement,
    follow_up_ids: Iterable[int],
    as_of: datetime | None = None,
) -> BulkCompletion:
    """Complete many follow-ups of one engagement with one set-based UPDATE.

    Only open items of that engagement which the actor may change are
    completed (the whole team's for a team member, their own for a client
    user); other ids (another engagement's, out of scope, already done) are
    ignored and returned in ``ignored_ids``. An engagement outside the actor's
    scope is NotFound (404). Idempotent: a second call completes nothing more.
    """
    if not Engagement.objects.visible_to(actor).filter(pk=engagement.pk).exists():
        raise NotFound("No such engagement.")
    as_of = as_of or timezone.now()
    requested = {int(pk) for pk in follow_up_ids}
    done = FollowUp.Status.DONE
    changeable = FollowUp.objects.filter(
        follow_up_changeable_by(actor),
        engagement=engagement,
        status__in=FollowUp.TRANSITIONS.sources(done),
    )
    with transaction.atomic():
        # of=("self",): the ownership test joins the stakeholder, which cannot be locked from an outer join.
        locked = changeable.filter(pk__in=requested).select_for_update(of=("self",))
        claimed = set(locked.values_list("pk", flat=True))
        completed = FollowUp.objects.filter(
            pk__in=claimed, status__in=FollowUp.TRANSITIONS.sources(done)
        ).update(status=done, completed_at=as_of, completed_by=actor, updated_at=as_of)
        if completed:
            engagement_health_refresh(engagement_ids=[engagement.pk], as_of=as_of)
            weekly_rollups_refresh(engagement_ids=[engagement.pk], moments=[as_of], as_of=as_of)
    return BulkCompletion(completed=completed, ignored_ids=tuple(sorted(requested - claimed)))


def follow_up_comment_add(
    *,
    actor: Any,
    follow_up: FollowUp,
    body: str,
    shared_with_client: bool = False,
    as_of: datetime | None = None,
) -> FollowUpComment:
    """Comment on a follow-up at ``as_of`` (now unless told); allowed to whoever may change its status.

    A team member's comment is internal unless ``shared_with_client``; a client
    user's comment is always shared, since its author is the client. Not
    idempotent: each call adds a comment.
    """
    _require_status_rights(actor, follow_up)
    shared = shared_with_client or is_client_user(actor)
    comment = FollowUpComment(
        follow_up=follow_up,
        author=actor,
        body=body.strip(),
        shared_with_client=shared,
        created_at=as_of or timezone.now(),
    )
    clean_instance(comment)
    comment.save()
    return comment


def follow_ups_flag_overdue(*, as_of: datetime) -> int:
    """Stamp every open follow-up past its due time that is not yet stamped, at ``as_of``.

    One set-based statement: ``INSERT INTO <stamps> … SELECT`` of the open
    items past due (an index-only scan of follow_up_open_due) ``EXCEPT`` those
    already stamped. The set difference reads the stamps once, before the
    first insert (PostgreSQL sorts both sides, so the stamps' primary key
    then grows at its right edge). Should another sweep commit a stamp for the same
    item meanwhile, the primary key refuses it and the statement is run again
    with ``ON CONFLICT DO NOTHING``, which lets the key decide row by row (at
    the price of a speculative insertion per row, hence not the first choice).
    An anti-join (``NOT EXISTS``) is avoided: on a stamp table whose
    statistics read empty, PostgreSQL plans it as a nested loop over the
    table being filled. Both SELECTs are the ORM's; Django has no INSERT …
    SELECT, hence the thin wrapper. Idempotent: a second run inserts nothing
    and an item keeps its first stamp. Returns the number of follow-ups that
    newly went overdue.
    """
    late = FollowUp.objects.open().filter(due_at__lt=as_of).order_by().values_list("pk")
    stamped = FollowUpOverdue.objects.order_by().values_list("follow_up_id")
    try:
        with transaction.atomic():
            return _insert_stamps(late.difference(stamped), as_of=as_of, on_conflict="")
    except IntegrityError:
        return _insert_stamps(late, as_of=as_of, on_conflict=" ON CONFLICT DO NOTHING")


def _insert_stamps(ids: QuerySet[Any], *, as_of: datetime, on_conflict: str) -> int:
    select, params = ids.query.sql_with_params()
    table = connection.ops.quote_name(FollowUpOverdue._meta.db_table)
    follow_up = connection.ops.quote_name(FollowUpOverdue._meta.get_field("follow_up").column)
    overdue_at = connection.ops.quote_name(FollowUpOverdue._meta.get_field("overdue_at").column)
    stamp_at = connection.ops.adapt_datetimefield_value(as_of)
    # WHERE 1 = 1: without a WHERE, SQLite would read the upsert's ON as a join's.
    statement = (
        f"INSERT INTO {table} ({follow_up}, {overdue_at}) "  # noqa: S608
        f"SELECT late.*, %s FROM ({select}) AS late WHERE 1 = 1{on_conflict}"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [stamp_at, *params])
        return int(cursor.rowcount)


# --- correcting a check-in ---------------------------------------------------------------------------------


def _release_occurrences(*, check_in: CheckIn, as_of: datetime, attendee_ids: set[int] | None = None) -> int:
    """Undo the holds of ``check_in`` that no longer fit it; the number it still holds.

    With ``attendee_ids`` (an edit), an occurrence the check-in still fits (a
    planned meeting with one of them, within its grace period of the new time)
    stays held, its time and punctuality brought up to date. Every other one
    becomes what it would be had it never been held: missed at ``as_of`` once
    its grace has run out, else due (or upcoming) again with its channel
    pointing back at it, unless a later meeting of the channel was held since,
    so the next check-in that fits covers it. Not a move of
    Occurrence.TRANSITIONS (held stays final for the sweeps): the check-in is
    being corrected, so the hold it recorded never was.
    """
    kept = 0
    for occurrence in Occurrence.objects.filter(check_in=check_in).select_related("channel"):
        channel = occurrence.channel
        if (
            attendee_ids is not None
            and channel.stakeholder_id in attendee_ids
            and abs(check_in.occurred_at - occurrence.due_at) <= channel.grace_period
        ):
            Occurrence.objects.filter(pk=occurrence.pk).update(
                held_at=check_in.occurred_at,
                held_on_time=check_in.occurred_at <= occurrence.due_at + channel.grace_period,
            )
            kept += 1
            continue
        if occurrence.due_at + channel.grace_period < as_of:
            status, missed_at = Occurrence.Status.MISSED, as_of
        elif occurrence.due_at <= as_of:
            status, missed_at = Occurrence.Status.DUE, None
        else:
            status, missed_at = Occurrence.Status.UPCOMING, None
        Occurrence.objects.filter(pk=occurrence.pk).update(
            status=status, held_at=None, held_on_time=None, check_in=None, missed_at=missed_at
        )
        if status == Occurrence.Status.MISSED or channel.status != Channel.Status.ACTIVE:
            continue
        held_later = Occurrence.objects.filter(
            channel=channel, due_at__gt=occurrence.due_at, status=Occurrence.Status.HELD
        ).exists()
        if not held_later and (channel.next_due_at is None or channel.next_due_at > occurrence.due_at):
            Channel.objects.filter(pk=channel.pk).update(
                next_due_at=occurrence.due_at, updated_at=timezone.now()
            )
    return kept


def _reopen_obligations(*, check_in: CheckIn) -> set[int]:
    """Open again the obligations ``check_in`` met; the stakeholders concerned.

    One that a newer obligation for the same person and change has replaced
    stays met: only one may be open.
    """
    met = list(
        CommunicationObligation.objects.filter(met_by_check_in=check_in).values_list(
            "pk", "change_request_id", "stakeholder_id"
        )
    )
    reopened: set[int] = set()
    for pk, change_request_id, stakeholder_id in met:
        if (
            CommunicationObligation.objects.open()
            .filter(change_request_id=change_request_id, stakeholder_id=stakeholder_id)
            .exists()
        ):
            continue
        CommunicationObligation.objects.filter(pk=pk).update(
            status=CommunicationObligation.Status.OPEN,
            met_at=None,
            met_by_check_in=None,
            updated_at=timezone.now(),
        )
        reopened.add(stakeholder_id)
    return reopened


def _reopen_silences(*, check_in: CheckIn, attendee_ids: set[int] | None = None) -> set[int]:
    """Open again the silence flags ``check_in`` cleared, and the follow-ups that clearing completed.

    With ``attendee_ids`` (an edit), a flag of someone who still attended,
    at a time that is still news to the flag, stays cleared (at the new time).
    Returns the stakeholders whose flags were reopened.
    """
    cleared = SilenceFlag.objects.filter(cleared_by_check_in=check_in)
    reopened: set[int] = set()
    for flag in cleared:
        news = flag.last_contact_at is None or flag.last_contact_at < check_in.occurred_at
        if attendee_ids is not None and flag.stakeholder_id in attendee_ids and news:
            SilenceFlag.objects.filter(pk=flag.pk).update(cleared_at=check_in.occurred_at)
            continue
        already_open = SilenceFlag.objects.open().filter(
            engagement_id=flag.engagement_id, stakeholder_id=flag.stakeholder_id
        )
        if already_open.exists():
            continue
        SilenceFlag.objects.filter(pk=flag.pk).update(cleared_at=None, cleared_by_check_in=None)
        if flag.follow_up_id is not None:
            FollowUp.objects.filter(pk=flag.follow_up_id, status=FollowUp.Status.DONE).update(
                status=FollowUp.Status.OPEN, completed_at=None, completed_by=None, updated_at=timezone.now()
            )
        reopened.add(flag.stakeholder_id)
    return reopened


def _credit_other_check_ins(
    *, engagement: Engagement, stakeholder_ids: set[int], actor: Any, as_of: datetime
) -> None:
    """Let the engagement's remaining check-ins with these people meet and clear what was reopened.

    Each person's latest check-in clears their silence if it still can; the
    obligations are met by the earliest check-ins that qualify, in time order,
    as if the corrected check-in had never counted. One read per person.
    """
    for stakeholder_id in sorted(stakeholder_ids):
        attended = CheckIn.objects.filter(engagement=engagement, attendees=stakeholder_id)
        latest = attended.order_by("-occurred_at", "-pk").first()
        if latest is not None:
            silences_clear_for_check_in(check_in=latest, actor=actor, as_of=as_of)
        waiting = CommunicationObligation.objects.open().filter(
            engagement=engagement, stakeholder_id=stakeholder_id
        )
        earliest_opened = waiting.order_by("opened_at").values_list("opened_at", flat=True).first()
        if earliest_opened is None:
            continue
        # A day earlier: obligations count the check-in's local day, which may start before opened_at in UTC.
        for candidate in attended.filter(occurred_at__gte=earliest_opened - timedelta(days=1)).order_by(
            "occurred_at", "pk"
        ):
            obligations_meet_for_check_in(check_in=candidate)
            if not waiting.exists():
                break


@transaction.atomic
def check_in_edit(
    *,
    actor: Any,
    check_in: CheckIn,
    occurred_at: datetime,
    summary: str,
    attendees: Sequence[Stakeholder],
    decisions: str = "",
    team_attendees: Sequence[User] = (),
    kind: str | None = None,
    sentiment: int | None = None,
    shared_with_client: bool | None = None,
    seen_updated_at: datetime | None = None,
    file_decisions: bool = False,
    as_of: datetime | None = None,
) -> CheckIn:
    """Correct a check-in (when, who, how, summary, decisions, sentiment, sharing), keeping the old version.

    Allowed to whoever logged it (while on the team) and the engagement's
    owners (Action.EDIT_CHECK_IN). The same checks as logging apply. Writes a
    CheckInRevision with the previous version and marks the check-in edited.
    When the time or the attendees change, whatever the check-in counted for
    is worked out again: a planned meeting it held and still fits stays held;
    one it no longer fits is released, and it covers the one it now fits
    (its former channel first, else the only candidate); the obligations it
    met and the silences it cleared are reopened and met or cleared again by
    it or the engagement's other check-ins, and the engagement's health is refreshed. ``kind``,
    ``sentiment`` and ``shared_with_client`` left as None stay as they are; a check-in taken back
    from the client leaves the client's pages and search at once. The decisions
    already filed in the RAID log from it follow the correction
    (``raid.raid_decisions_follow_check_in``: a line reworded rewords its decision, a line removed
    leaves its decision as it was; a check-in taken back from the client takes its decisions back);
    with ``file_decisions``, its lines not filed yet are filed too,
    as when it was logged. Nothing is written when anything is refused. Not idempotent: each call
    records a revision.
    """
    as_of = as_of or timezone.now()
    engagement = check_in.engagement
    engagement_check_can(
        user=actor, engagement=engagement, action=Action.EDIT_CHECK_IN, author_id=check_in.logged_by_id
    )
    locked = CheckIn.objects.select_for_update().get(pk=check_in.pk)
    check_unchanged(locked, seen_updated_at=seen_updated_at)
    team_ids = _team_user_ids(engagement)
    stakeholder_ids = _role_stakeholder_ids(engagement)
    problems = _Problems()
    _check_check_in(
        problems,
        occurred_at=occurred_at,
        summary=summary,
        attendees=attendees,
        team_attendees=team_attendees,
        stakeholder_ids=stakeholder_ids,
        team_ids=team_ids,
        as_of=as_of,
    )
    if file_decisions and not decision_lines(decisions):
        problems.add("decisions", "Write the decisions to file, one per line, or untick filing them.")
    if problems.fields:
        raise ValidationError(problems.fields)

    before_attendees = list(locked.attendees.order_by("pk"))
    before_team = list(locked.team_attendees.order_by("pk"))
    CheckInRevision.objects.create(
        check_in=locked,
        occurred_at=locked.occurred_at,
        summary=locked.summary,
        decisions=locked.decisions,
        attendee_names=names_as_recorded(before_attendees),
        team_attendee_names=names_as_recorded(before_team),
        kind=locked.kind,
        sentiment=locked.sentiment,
        shared_with_client=locked.shared_with_client,
        edited_by=actor,
        edited_at=as_of,
    )
    moved = occurred_at != locked.occurred_at or {s.pk for s in attendees} != {s.pk for s in before_attendees}
    former_channel_id = locked.channel_id
    decisions_before, occurred_at_before = locked.decisions, locked.occurred_at
    shared_before = locked.shared_with_client
    # The weeks whose figures the edit may change: the one it was in and the one it is in now.
    touched = [locked.occurred_at, occurred_at]
    locked.occurred_at = occurred_at
    locked.summary = summary.strip()
    locked.decisions = decisions.strip()
    if kind is not None:
        locked.kind = kind
    if sentiment is not None:
        locked.sentiment = sentiment
    if shared_with_client is not None:
        locked.shared_with_client = shared_with_client
    locked.edited_at = as_of
    clean_instance(locked)
    locked.save()
    locked.attendees.set(attendees)
    locked.team_attendees.set(team_attendees)
    if moved:
        attendee_ids = {s.pk for s in attendees}
        still_held = _release_occurrences(check_in=locked, as_of=as_of, attendee_ids=attendee_ids)
        reopened = _reopen_obligations(check_in=locked) | _reopen_silences(
            check_in=locked, attendee_ids=attendee_ids
        )
        if not still_held:
            candidates = check_in_cover_candidates(
                user=actor, engagement=engagement, attendees=list(attendees), occurred_at=occurred_at
            )
            chosen = [c for c in candidates if c.pk == former_channel_id] or (
                candidates if len(candidates) == 1 else []
            )
            for planned in chosen:
                _advance_channel(channel=planned, occurred_at=occurred_at, check_in=locked)
            CheckIn.objects.filter(pk=locked.pk).update(channel=chosen[0] if chosen else None)
        silences_clear_for_check_in(check_in=locked, actor=actor, as_of=as_of)
        obligations_meet_for_check_in(check_in=locked)
        _credit_other_check_ins(engagement=engagement, stakeholder_ids=reopened, actor=actor, as_of=as_of)
    raid_decisions_follow_check_in(
        actor=actor,
        check_in=locked,
        decisions_before=decisions_before,
        occurred_at_before=occurred_at_before,
        attendees_before=before_attendees,
        shared_before=shared_before,
    )
    if file_decisions:
        raid_decisions_file_from_check_in(actor=actor, check_in=locked, as_of=as_of)
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=as_of)
    search_documents_refresh(kind="check_in", ids=[locked.pk])
    weekly_rollups_refresh(engagement_ids=[engagement.pk], moments=touched, as_of=as_of)
    locked.refresh_from_db()
    return locked


@transaction.atomic
def check_in_delete(
    *, actor: Any, check_in: CheckIn, reason: str, as_of: datetime | None = None
) -> CheckInDeletion:
    """Delete a check-in that should not have been logged; only its engagement's owners, and with a reason.

    Records a CheckInDeletion with who, when, why and the check-in's last
    version; then the check-in is removed, so it leaves timelines, counts and
    compliance. What it counted for is worked out again as if it had never
    been logged: the planned meetings it held are released (missed if their
    grace has run out), the obligations it met and the silences it cleared
    are reopened unless another check-in with those people meets or clears
    them, and the engagement's health is refreshed. Its follow-ups stay, no
    longer linked to a check-in. Not idempotent: a deleted check-in is gone.
    """
    as_of = as_of or timezone.now()
    engagement = check_in.engagement
    engagement_check_can(user=actor, engagement=engagement, action=Action.DELETE_CHECK_IN)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the check-in is deleted."})
    locked = CheckIn.objects.select_for_update().get(pk=check_in.pk)
    deletion = CheckInDeletion(
        engagement=engagement,
        check_in_number=locked.pk,
        occurred_at=locked.occurred_at,
        kind=locked.kind,
        summary=locked.summary,
        decisions=locked.decisions,
        attendee_names=names_as_recorded(locked.attendees.all()),
        logged_by_id=locked.logged_by_id,
        deleted_by=actor,
        deleted_at=as_of,
        reason=reason.strip(),
    )
    clean_instance(deletion)
    deletion.save()
    _release_occurrences(check_in=locked, as_of=as_of)
    reopened = _reopen_obligations(check_in=locked) | _reopen_silences(check_in=locked)
    deleted_pk, deleted_at = locked.pk, locked.occurred_at
    locked.delete()
    _credit_other_check_ins(engagement=engagement, stakeholder_ids=reopened, actor=actor, as_of=as_of)
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=as_of)
    # A deleted check-in is found no more, nor counted in its week.
    search_documents_refresh(kind="check_in", ids=[deleted_pk])
    weekly_rollups_refresh(engagement_ids=[engagement.pk], moments=[deleted_at], as_of=as_of)
    return deletion
