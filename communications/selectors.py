"""Reads of plans, check-ins, follow-ups and sponsor updates, always through visible_to()."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from django.db.models import (
    Avg,
    Case,
    Count,
    DateTimeField,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from accounts.models import User
from communications import recurrence
from communications.models import (
    Channel,
    CheckIn,
    CheckInDeletion,
    CheckInRevision,
    ConsultantWeeklyRollup,
    Delivery,
    FollowUp,
    FollowUpComment,
    FollowUpOverdue,
    FollowUpQuerySet,
    FollowUpRedate,
    RaidItem,
    RaidKind,
    RaidRiskReview,
    SponsorSubscription,
    WeeklyRollup,
)
from engagements.models import Engagement, Membership
from engagements.selectors import membership_list
from engagements.working_days import engagement_skip_rule
from notifications.models import OutboxMessage
from pmaas.durations import duration_in_words
from pmaas.scoping import get_or_404, parse_id
from stakeholders.models import Stakeholder, StakeholderRole
from stakeholders.selectors import stakeholder_list


def channel_list(*, user: Any) -> QuerySet[Channel]:
    return Channel.objects.visible_to(user).select_related("engagement__client", "stakeholder", "owner")


def channel_get_for_user(*, user: Any, id: int) -> Channel:
    return get_or_404(channel_list(user=user), id=id)


def check_in_cover_candidates(
    *, user: Any, engagement: Engagement, attendees: Sequence[Stakeholder], occurred_at: datetime
) -> list[Channel]:
    """The planned meetings a check-in with ``attendees`` at ``occurred_at`` could cover, soonest first.

    The matching rule: an active channel of the engagement with one of the
    attendees whose open occurrence (the channel's next due time) has a
    window holding ``occurred_at``. The window runs from the channel's grace
    period before the due time to its grace period after it, so a meeting
    moved a day earlier or held a day late still counts, and as the grace is
    shorter than the cadence's closest two meetings it never reaches the
    occurrence before. One query.
    """
    channels = (
        Channel.objects.visible_to(user)
        .active()
        .select_related("engagement", "stakeholder")
        .filter(engagement=engagement, stakeholder__in=attendees, next_due_at__isnull=False)
        .order_by("next_due_at", "pk")
    )
    return [
        channel
        for channel in channels
        if channel.next_due_at is not None and abs(occurred_at - channel.next_due_at) <= channel.grace_period
    ]


def check_in_list(*, user: Any) -> QuerySet[CheckIn]:
    return (
        CheckIn.objects.visible_to(user)
        .select_related("engagement", "channel", "logged_by")
        .prefetch_related("attendees", "team_attendees")
    )


def check_in_get_for_user(*, user: Any, id: int) -> CheckIn:
    return get_or_404(check_in_list(user=user), id=id)


def check_in_api_list(*, user: Any) -> QuerySet[CheckIn]:
    """The check-ins ``check_in_list`` gives, with the engagement's code and who logged them; who
    took part and the follow-ups' ids are read for a page by ``check_in_people_attach``."""
    return CheckIn.objects.visible_to(user).select_related("engagement", "logged_by")


def check_in_people_attach(check_ins: Sequence[CheckIn]) -> None:
    """Give each check-in what the API lists of it, read as values in three queries.

    ``attendee_summaries`` and ``team_attendee_summaries``: ``{"id", "name"}``
    of each person, in the order of their names (as the pages list them);
    ``follow_up_ids``: its follow-ups by due time. At firm scale, reading these
    as model rows through three prefetches was a third of a page of check-ins.
    """
    ids = [check_in.pk for check_in in check_ins]
    attendees: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    team: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    follow_ups: dict[int, list[int]] = {pk: [] for pk in ids}
    if ids:
        for check_in_id, pk, name in (
            CheckIn.attendees.through.objects.filter(checkin_id__in=ids)
            .order_by("stakeholder__name", "stakeholder_id")
            .values_list("checkin_id", "stakeholder_id", "stakeholder__name")
        ):
            attendees[check_in_id].append({"id": pk, "name": name})
        for check_in_id, pk, first, last, username in (
            CheckIn.team_attendees.through.objects.filter(checkin_id__in=ids)
            .order_by("user__last_name", "user__first_name", "user__username", "user_id")
            .values_list("checkin_id", "user_id", "user__first_name", "user__last_name", "user__username")
        ):
            # As User.__str__ names a person: the full name, or the username without one.
            team[check_in_id].append({"id": pk, "name": f"{first} {last}".strip() or username})
        for check_in_id, pk in (
            FollowUp.objects.filter(check_in_id__in=ids)
            .order_by("due_at", "pk")
            .values_list("check_in_id", "pk")
        ):
            follow_ups[check_in_id].append(pk)
    for check_in in check_ins:
        check_in.attendee_summaries = attendees[check_in.pk]  # type: ignore[attr-defined]
        check_in.team_attendee_summaries = team[check_in.pk]  # type: ignore[attr-defined]
        check_in.follow_up_ids = follow_ups[check_in.pk]  # type: ignore[attr-defined]


def follow_up_list(*, user: Any) -> QuerySet[FollowUp]:
    """The follow-ups the user may see, each with ``overdue_at`` (when the overdue scan stamped it)."""
    return (
        FollowUp.objects.visible_to(user)
        .with_overdue_at()
        .select_related("engagement", "owner_user", "owner_stakeholder", "check_in")
    )


def follow_up_api_list(*, user: Any) -> QuerySet[FollowUp]:
    """The follow-ups ``follow_up_list`` gives, joined only to what the API shows of them.

    The API names the engagement and the owner but gives the check-in as an id:
    joining the check-ins' table cost PostgreSQL 1.3 ms more to plan on every
    request, more than reading the page took.
    """
    return (
        follow_up_list(user=user)
        .select_related(None)
        .select_related("engagement", "owner_user", "owner_stakeholder")
    )


def follow_up_get_for_user(*, user: Any, id: int) -> FollowUp:
    return get_or_404(follow_up_list(user=user), id=id)


def weekly_rollup_list(*, user: Any) -> QuerySet[WeeklyRollup]:
    """The roll-ups of the engagements ``user`` sees; none for client users (pmaas/sharing.py)."""
    return WeeklyRollup.objects.visible_to(user).select_related("engagement")


def weekly_rollup_get_for_user(*, user: Any, id: int) -> WeeklyRollup:
    return get_or_404(weekly_rollup_list(user=user), id=id)


def consultant_weekly_rollup_list(*, user: Any) -> QuerySet[ConsultantWeeklyRollup]:
    """Per-person roll-ups of the engagements ``user`` sees; none for client users (pmaas/sharing.py).

    Whose figures a page may show is the trend subject's rule
    (workspace.selectors.trend_subject): others' only to those who see every engagement.
    """
    return ConsultantWeeklyRollup.objects.visible_to(user).select_related("engagement", "user")


def consultant_weekly_rollup_get_for_user(*, user: Any, id: int) -> ConsultantWeeklyRollup:
    return get_or_404(consultant_weekly_rollup_list(user=user), id=id)


def follow_up_overdue_get_for_user(*, user: Any, id: int) -> FollowUpOverdue:
    """The overdue stamp of a follow-up the user may see (its id is the follow-up's)."""
    return get_or_404(FollowUpOverdue.objects.visible_to(user).select_related("follow_up"), id=id)


def follow_up_can_update_status(*, user: Any, follow_up: FollowUp) -> bool:
    """Team members change follow-ups of their engagements; a client user only those they own."""
    if FollowUp.objects.editable_by(user).filter(pk=follow_up.pk).exists():
        return True
    return FollowUp.objects.visible_to(user).filter(pk=follow_up.pk, owner_stakeholder__user=user).exists()


def follow_up_changeable_by(user: Any) -> Q:
    """Follow-ups whose status ``user`` may change, as a filter (the rule of follow_up_can_update_status)."""
    editable = Engagement.objects.editable_by(user).values("pk")
    return Q(engagement__in=editable) | Q(owner_stakeholder__user=user)


def follow_up_list_with_rights(*, user: Any, as_of: datetime | None = None) -> QuerySet[FollowUp]:
    """follow_up_list annotated with ``may_change`` (and ``is_overdue`` at ``as_of``, when given).

    A list shows each row's buttons and overdue mark from these, without a query per row.
    """
    follow_ups: QuerySet[FollowUp] = follow_up_list(user=user).annotate(
        may_change=Case(When(follow_up_changeable_by(user), then=Value(True)), default=Value(False))
    )
    if as_of is not None:
        follow_ups = cast(FollowUpQuerySet, follow_ups).with_is_overdue(as_of=as_of)
    return follow_ups


def follow_up_comment_list(*, user: Any) -> QuerySet[FollowUpComment]:
    return FollowUpComment.objects.visible_to(user).select_related("follow_up", "author")


# A page shows this many of an item's history entries or comments, newest first; older ones are rare.
HISTORY_LIMIT = 50


def check_in_revision_list(*, user: Any, check_in: CheckIn) -> list[CheckInRevision]:
    """The check-in's earlier versions, newest first, capped at HISTORY_LIMIT; one query."""
    return list(
        CheckInRevision.objects.visible_to(user)
        .filter(check_in=check_in)
        .select_related("edited_by")
        .order_by("-edited_at", "-id")[:HISTORY_LIMIT]
    )


def check_in_revision_list_all(*, user: Any) -> QuerySet[CheckInRevision]:
    """Every earlier version of the check-ins the user may see (none for client users), for the API."""
    return CheckInRevision.objects.visible_to(user).select_related("edited_by")


def check_in_revision_get_for_user(*, user: Any, id: Any) -> CheckInRevision:
    return get_or_404(CheckInRevision.objects.visible_to(user).select_related("check_in", "edited_by"), id=id)


def check_in_deletion_list(*, user: Any, engagement: Engagement) -> list[CheckInDeletion]:
    """The engagement's deleted check-ins, newest deletion first, capped at HISTORY_LIMIT; one query.

    A client user reads none: pmaas/sharing.py does not share them.
    """
    return list(
        CheckInDeletion.objects.visible_to(user)
        .filter(engagement=engagement)
        .select_related("deleted_by")
        .order_by("-deleted_at", "-id")[:HISTORY_LIMIT]
    )


def check_in_deletion_get_for_user(*, user: Any, id: Any) -> CheckInDeletion:
    return get_or_404(
        CheckInDeletion.objects.visible_to(user).select_related("engagement", "deleted_by"), id=id
    )


def follow_up_redate_get_for_user(*, user: Any, id: Any) -> FollowUpRedate:
    return get_or_404(
        FollowUpRedate.objects.visible_to(user).select_related("follow_up", "redated_by"), id=id
    )


def follow_up_redate_list(*, user: Any, follow_up: FollowUp) -> list[FollowUpRedate]:
    """How the follow-up's due time moved, newest first, capped at HISTORY_LIMIT; one query."""
    return list(
        FollowUpRedate.objects.visible_to(user)
        .filter(follow_up=follow_up)
        .select_related("redated_by")
        .order_by("-redated_at", "-id")[:HISTORY_LIMIT]
    )


def follow_up_comments_for(*, user: Any, follow_up: FollowUp) -> list[FollowUpComment]:
    """The comments on the follow-up the user may read, oldest first as a conversation, the latest
    HISTORY_LIMIT; one query. A client user reads only those shared (pmaas/sharing.py)."""
    latest = (
        FollowUpComment.objects.visible_to(user)
        .filter(follow_up=follow_up)
        .select_related("author")
        .order_by("-created_at", "-id")[:HISTORY_LIMIT]
    )
    return list(reversed(list(latest)))


def follow_up_get_for_page(*, user: Any, id: Any, as_of: datetime) -> FollowUp:
    """One follow-up with what its page shows: rights, overdue, where it came from, whom it concerns."""
    return get_or_404(
        follow_up_list_with_rights(user=user, as_of=as_of).select_related(
            "stakeholder", "created_by", "completed_by"
        ),
        id=id,
    )


def follow_up_comment_get_for_user(*, user: Any, id: int) -> FollowUpComment:
    return get_or_404(follow_up_comment_list(user=user), id=id)


def sponsor_subscription_list(*, user: Any) -> QuerySet[SponsorSubscription]:
    return SponsorSubscription.objects.visible_to(user).select_related("engagement", "stakeholder")


def sponsor_subscription_get_for_user(*, user: Any, id: int) -> SponsorSubscription:
    return get_or_404(sponsor_subscription_list(user=user), id=id)


def delivery_list(*, user: Any) -> QuerySet[Delivery]:
    return Delivery.objects.visible_to(user).select_related(
        "subscription__engagement", "subscription__stakeholder", "outbox_message"
    )


def delivery_get_for_user(*, user: Any, id: int) -> Delivery:
    return get_or_404(delivery_list(user=user), id=id)


def follow_up_list_for_owner(*, user: Any) -> QuerySet[FollowUp]:
    """What a person owes: their own items, or for a client user those of their stakeholder record."""
    return follow_up_list(user=user).filter(_owes(user))


def _owes(user: Any) -> Q:
    """Items the person owes: as a team member, or through their stakeholder record (a client user).

    The record's id is a scalar subquery, read once, not a join: with the join, "what I owe"
    scanned every open item of the firm due in the window; this way each side reads its own index.
    """
    own_record = Subquery(Stakeholder.objects.filter(user=user).values("pk")[:1])
    return Q(owner_user=user) | Q(owner_stakeholder_id=own_record)


# "My week" looks this far ahead; anything earlier that is still open is overdue.
WEEK_HORIZON = timedelta(days=7)
# A relationship without a planned channel counts as quiet after a month without contact.
QUIET_WITHOUT_CHANNEL = timedelta(days=30)
RECENT_ACTIVITY_LIMIT = 10


def week_channels_due(*, user: Any, as_of: datetime, whole_team: bool = False) -> QuerySet[Channel]:
    """Active channels due within the week ahead or already overdue, soonest first.

    By default the channels the user owns; ``whole_team`` widens it to every
    channel of the engagements the user may change.
    """
    channels = (
        Channel.objects.editable_by(user)
        .active()
        .filter(next_due_at__lte=as_of + WEEK_HORIZON)
        .select_related("engagement__client", "stakeholder", "owner")
        .order_by("next_due_at", "pk")
    )
    if not whole_team:
        channels = channels.filter(owner=user)
    return channels


def _owed_by(*, user: Any, as_of: datetime) -> QuerySet[FollowUp]:
    """What a person owes, with the row rights and overdue mark the shared follow-up row shows."""
    return follow_up_list_with_rights(user=user, as_of=as_of).filter(_owes(user))


def week_follow_ups(*, user: Any, as_of: datetime) -> QuerySet[FollowUp]:
    """The user's own open follow-ups due within the week ahead or overdue, soonest first."""
    return (
        _owed_by(user=user, as_of=as_of)
        .filter(status=FollowUp.Status.OPEN)
        .filter(due_at__lte=as_of + WEEK_HORIZON)
        .select_related("engagement__client")
        .order_by("due_at", "pk")
    )


def follow_up_open_for_owner(*, user: Any, as_of: datetime) -> QuerySet[FollowUp]:
    """Every open item a person owes, soonest first: what a client PMO lead sees on their week."""
    return (
        _owed_by(user=user, as_of=as_of)
        .filter(status=FollowUp.Status.OPEN)
        .select_related("engagement__client")
        .order_by("due_at", "pk")
    )


@dataclass(frozen=True)
class QuietRelationship:
    """A stakeholder whose relationship owner has not been in touch for longer than the cadence."""

    role: StakeholderRole
    last_contact: datetime | None
    channel: Channel | None
    # The planned contact that passed without a check-in (None: judged by QUIET_WITHOUT_CHANNEL).
    missed_at: datetime | None

    @property
    def quiet_after_days(self) -> int:
        """How many days without contact make a relationship without a planned channel quiet."""
        return QUIET_WITHOUT_CHANNEL.days

    @property
    def quiet_after_in_words(self) -> str:
        """ "over 6 weeks": the days that make it quiet, said as a person would."""
        return duration_in_words(QUIET_WITHOUT_CHANNEL)


def _missed_occurrence(
    *,
    channel: Channel,
    time_zone: str,
    last_contact: datetime | None,
    as_of: datetime,
    skip: Callable[[date], bool] | None = None,
) -> datetime | None:
    """The latest occurrence past its grace period that no check-in covers, if any.

    A check-in covers an occurrence when it happened after the occurrence
    before it (held early, on time or late), the same rule logging applies.
    """
    occurrence = recurrence.previous_occurrence(
        rule=channel.recurrence,
        starts_on=channel.starts_on,
        local_time=channel.local_time,
        time_zone=time_zone,
        before=as_of - channel.grace_period,
        skip=skip,
    )
    if occurrence is None:
        return None
    if last_contact is None:
        return occurrence
    before = recurrence.previous_occurrence(
        rule=channel.recurrence,
        starts_on=channel.starts_on,
        local_time=channel.local_time,
        time_zone=time_zone,
        before=occurrence,
        skip=skip,
    )
    if before is not None and last_contact <= before:
        return occurrence
    return None


def week_quiet_stakeholders(*, user: Any, as_of: datetime) -> list[QuietRelationship]:
    """Relationships the user owns on active engagements that have gone quiet.

    Quiet means an active channel with the stakeholder passed an occurrence
    (plus its grace period) without a check-in covering it; without an active
    channel, no check-in with them on that engagement for QUIET_WITHOUT_CHANNEL. Two queries
    however many rows.
    """
    roles = (
        StakeholderRole.objects.visible_to(user)
        .filter(relationship_owner=user, engagement__status=Engagement.Status.ACTIVE)
        .select_related("engagement__client", "stakeholder")
        .annotate(
            last_contact=relationship_last_contact(engagement="engagement_id", stakeholder="stakeholder_id")
        )
        .prefetch_related(
            Prefetch(
                "stakeholder__channels",
                queryset=Channel.objects.active().order_by("pk"),
                to_attr="active_channels",
            )
        )
        .order_by("engagement__code", "stakeholder__name")
    )
    quiet: list[QuietRelationship] = []
    for role in roles:
        contact: datetime | None = role.last_contact  # type: ignore[attr-defined]
        channels = [c for c in role.stakeholder.active_channels if c.engagement_id == role.engagement_id]  # type: ignore[attr-defined]
        if not channels:
            if contact is None or contact < as_of - QUIET_WITHOUT_CHANNEL:
                quiet.append(QuietRelationship(role=role, last_contact=contact, channel=None, missed_at=None))
            continue
        for channel in channels:
            missed = _missed_occurrence(
                channel=channel,
                time_zone=role.stakeholder.time_zone,
                last_contact=contact,
                as_of=as_of,
                skip=engagement_skip_rule(role.engagement),
            )
            if missed is not None:
                quiet.append(
                    QuietRelationship(role=role, last_contact=contact, channel=channel, missed_at=missed)
                )
                break
    return quiet


def week_recent_check_ins(*, user: Any, limit: int = RECENT_ACTIVITY_LIMIT) -> list[CheckIn]:
    """The latest check-ins on the engagements the user sees, newest first."""
    return list(
        check_in_list(user=user).select_related("engagement__client").order_by("-occurred_at", "-pk")[:limit]
    )


def check_in_engagement_choices(*, user: Any) -> QuerySet[Engagement]:
    """Engagements the user may log a check-in on."""
    return Engagement.objects.editable_by(user).select_related("client").order_by("client__name", "name")


def check_in_attendee_names(*, user: Any, ids: Iterable[int], most: int = 3) -> dict[int, str]:
    """Who took part in each of these check-ins the user may see, in a few words: one query.

    Names in order ("Fiona MacLeod, Oliver Bennett"), the first ``most`` of
    them and then how many more. A check-in out of the user's scope is left
    out, as is one with nobody recorded.
    """
    people: dict[int, list[str]] = {}
    for check_in_id, name in (
        CheckIn.attendees.through.objects.filter(
            checkin_id__in=CheckIn.objects.visible_to(user).filter(pk__in=list(ids)).values("pk")
        )
        .order_by("stakeholder__name", "stakeholder_id")
        .values_list("checkin_id", "stakeholder__name")
    ):
        people.setdefault(check_in_id, []).append(name)
    return {
        check_in_id: ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")
        for check_in_id, names in people.items()
    }


def check_in_attendee_choices(*, user: Any, engagement: Engagement) -> QuerySet[Stakeholder]:
    """The engagement's stakeholders the user sees, by name."""
    return stakeholder_list(user=user).filter(roles__engagement=engagement).order_by("name", "pk")


def check_in_team_choices(*, user: Any, engagement: Engagement) -> QuerySet[User]:
    """The engagement's team, when the user sees the engagement."""
    if not Engagement.objects.visible_to(user).filter(pk=engagement.pk).exists():
        return User.objects.none()
    return User.objects.filter(memberships__engagement=engagement).order_by(
        "first_name", "last_name", "username"
    )


@dataclass(frozen=True)
class StillOpen:
    """What is left over from the last check-in with a stakeholder."""

    check_in: CheckIn | None
    follow_ups: list[FollowUp]


def check_in_still_open(
    *, user: Any, engagement: Engagement, stakeholder: Stakeholder, as_of: datetime
) -> StillOpen:
    """The most recent check-in with the stakeholder on the engagement (for its decisions), and the
    open follow-ups from check-ins with them or owed by them there, each with ``is_overdue`` at ``as_of``."""
    latest = (
        CheckIn.objects.visible_to(user)
        .filter(engagement=engagement, attendees=stakeholder)
        .order_by("-occurred_at", "-pk")
        .first()
    )
    follow_ups = list(
        cast(FollowUpQuerySet, follow_up_list(user=user))
        .with_is_overdue(as_of=as_of)
        .filter(status=FollowUp.Status.OPEN)
        .filter(engagement=engagement)
        .filter(Q(check_in__attendees=stakeholder) | Q(owner_stakeholder=stakeholder))
        .distinct()
        .order_by("due_at", "pk")
    )
    return StillOpen(check_in=latest, follow_ups=follow_ups)


# A relationship (a person on an engagement) as communication rows see it: subqueries over an outer
# query whose columns ``engagement`` and ``stakeholder`` hold the two ids, so a list of roles or of
# sweep candidates gets them in its one query however many rows it has.


def _attended_on(*, engagement: Any, stakeholder: Any) -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(engagement_id=engagement, attendees=stakeholder)


def _last_attended(*, engagement: Any, stakeholder: Any) -> Subquery:
    # The latest as an aggregate, not the first row of an order: "the first row" let the planner walk
    # the engagement's check-ins newest first, through all of them for someone never met (a register
    # of twenty took seconds at firm scale); the aggregate starts from the person's attendances.
    return Subquery(
        _attended_on(engagement=engagement, stakeholder=stakeholder)
        .order_by()
        .values("engagement_id")
        .annotate(last=Max("occurred_at"))
        .values("last"),
        output_field=DateTimeField(),
    )


def relationship_last_contact(*, engagement: str, stakeholder: str) -> Subquery:
    """When the person was last met on the engagement: the latest check-in there they attended, or None."""
    return _last_attended(engagement=OuterRef(engagement), stakeholder=OuterRef(stakeholder))


def relationship_latest_sentiment(*, engagement: str, stakeholder: str) -> Subquery:
    """The sentiment of the latest check-in on the engagement the person attended (None: never met)."""
    last = _last_attended(
        engagement=OuterRef(OuterRef(engagement)), stakeholder=OuterRef(OuterRef(stakeholder))
    )
    return Subquery(
        _attended_on(engagement=OuterRef(engagement), stakeholder=OuterRef(stakeholder))
        .filter(occurred_at=last)
        .order_by("-pk")
        .values("sentiment")[:1]
    )


def relationship_next_due(*, engagement: str, stakeholder: str) -> Subquery:
    """The earliest next due time of an active channel with the person on the engagement (None: none)."""
    return Subquery(
        Channel.objects.active()
        .filter(
            engagement_id=OuterRef(engagement),
            stakeholder_id=OuterRef(stakeholder),
            next_due_at__isnull=False,
        )
        .order_by("next_due_at")
        .values("next_due_at")[:1]
    )


def relationship_overdue_follow_ups(*, engagement: str, stakeholder: str, as_of: datetime) -> Coalesce:
    """How many follow-ups the person owes on the engagement are overdue at ``as_of``."""
    overdue = (
        FollowUp.objects.overdue(as_of=as_of)
        .filter(engagement_id=OuterRef(engagement), owner_stakeholder_id=OuterRef(stakeholder))
        .order_by()
        .values("owner_stakeholder")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(overdue), 0)


def stakeholder_role_open_work(*, role: StakeholderRole) -> tuple[int, int]:
    """Open follow-ups the person owes and active channels with them, on the role's engagement."""
    follow_ups = (
        FollowUp.objects.open()
        .filter(engagement_id=role.engagement_id, owner_stakeholder_id=role.stakeholder_id)
        .count()
    )
    channels = (
        Channel.objects.active()
        .filter(engagement_id=role.engagement_id, stakeholder_id=role.stakeholder_id)
        .count()
    )
    return follow_ups, channels


@dataclass(frozen=True)
class MemberWork:
    """What a team member owns on one engagement and must hand to someone else before leaving its team."""

    follow_ups: int
    channels: int
    relationships: int

    def __bool__(self) -> bool:
        return bool(self.follow_ups or self.channels or self.relationships)

    @property
    def in_words(self) -> str:
        parts = [
            f"{count} {noun}{'s' if count != 1 else ''}"
            for count, noun in (
                (self.follow_ups, "open follow-up"),
                (self.channels, "channel"),
                (self.relationships, "relationship"),
            )
            if count
        ]
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else "nothing"


def membership_open_work(*, membership: Membership) -> MemberWork:
    """The member's open follow-ups, channels (active or paused) and relationships on the engagement."""
    mine = {"engagement_id": membership.engagement_id}
    return MemberWork(
        follow_ups=FollowUp.objects.open().filter(owner_user_id=membership.user_id, **mine).count(),
        channels=Channel.objects.filter(owner_id=membership.user_id, **mine).count(),
        relationships=StakeholderRole.objects.filter(
            relationship_owner_id=membership.user_id, **mine
        ).count(),
    )


def check_in_list_attended_by(*, user: Any, stakeholder: Stakeholder) -> QuerySet[CheckIn]:
    """Check-ins the person attended, on engagements the user may see, newest first.

    The person's attendances are read first (one query on their index), and
    the check-ins then by primary key: asked for the newest few, a planner
    that joined the two would walk the whole firm's check-ins newest first
    looking for this person's (1.3 s at two million check-ins).
    """
    attended = list(
        CheckIn.attendees.through.objects.filter(stakeholder_id=stakeholder.pk).values_list(
            "checkin_id", flat=True
        )
    )
    return (
        CheckIn.objects.visible_to(user)
        .filter(pk__in=attended)
        .select_related("engagement")
        .order_by("-occurred_at", "-pk")
    )


def follow_up_list_owed_by_stakeholder(
    *, user: Any, stakeholder: Stakeholder, as_of: datetime
) -> QuerySet[FollowUp]:
    """Follow-ups the person owes or that concern them, on engagements the user sees; open first, soonest due.

    Each carries ``is_overdue`` at ``as_of``, by the follow-ups' own rule.
    """
    return (
        FollowUp.objects.visible_to(user)
        .filter(Q(owner_stakeholder=stakeholder) | Q(stakeholder=stakeholder))
        .with_is_overdue(as_of=as_of)
        .select_related("engagement", "owner_user", "owner_stakeholder")
        .order_by(
            Case(When(status=FollowUp.Status.OPEN, then=Value(0)), default=Value(1)),
            "due_at",
            "pk",
        )
    )


def channel_plan(*, user: Any, engagement: Engagement) -> QuerySet[Channel]:
    """The engagement's communication plan: active channels first, then by next due time."""
    return (
        channel_list(user=user)
        .filter(engagement=engagement)
        .order_by("status", F("next_due_at").asc(nulls_last=True), "title", "pk")
    )


def channel_stakeholder_choices(*, user: Any, engagement: Engagement) -> QuerySet[Stakeholder]:
    """Whom a channel of this engagement may be with: its stakeholders the user sees."""
    # A person has one role per engagement (a unique constraint), so the join repeats no one.
    return stakeholder_list(user=user).filter(roles__engagement=engagement).order_by("name", "pk")


def channel_owner_choices(*, user: Any, engagement: Engagement) -> QuerySet[Any]:
    """Who may own a channel of this engagement: its team, when the user sees the engagement."""
    team = membership_list(user=user).filter(engagement=engagement).values("user_id")
    return User.objects.filter(pk__in=team).order_by("first_name", "last_name", "username")


def check_in_timeline(
    *, user: Any, engagement: Engagement, stakeholder_id: int | None = None, kind: str | None = None
) -> QuerySet[CheckIn]:
    """The engagement's check-ins newest first, with attendees and follow-ups prefetched.

    The query count of a page of this is fixed, whatever the number of rows.
    """
    check_ins = (
        CheckIn.objects.visible_to(user)
        .filter(engagement=engagement)
        .select_related("logged_by", "channel")
        .prefetch_related(
            Prefetch("attendees", queryset=Stakeholder.objects.order_by("name", "pk")),
            # Scoped too: a shared check-in can carry team follow-ups that are not shared.
            Prefetch(
                "follow_ups",
                queryset=FollowUp.objects.visible_to(user)
                .select_related("owner_user", "owner_stakeholder")
                .order_by("due_at", "pk"),
            ),
        )
        .order_by("-occurred_at", "-pk")
    )
    if stakeholder_id is not None:
        check_ins = check_ins.filter(attendees=stakeholder_id)
    if kind:
        check_ins = check_ins.filter(kind=kind)
    return check_ins


@dataclass(frozen=True)
class UpdateContact:
    """A status update mailed to a stakeholder (outbound), or their acknowledgement of it (inbound).

    Contact on the timeline, never a meeting: no check-in, so compliance and
    silence do not count it.
    """

    at: datetime
    inbound: bool
    delivery: Delivery


def update_contacts(
    *,
    user: Any,
    engagement: Engagement,
    stakeholder_id: int | None = None,
    after: datetime | None = None,
    until: datetime | None = None,
) -> list[UpdateContact]:
    """The engagement's sent status updates and their acknowledgements, newest first, one query.

    Only moments in ``after`` < at <= ``until`` (either bound open when None),
    so a page of the timeline shows those between its check-ins and the next
    page's. Scoped like every read of a delivery: a client user sees none.
    """
    sent = Q(outbox_message__status=OutboxMessage.Status.SENT)
    acknowledged = Q(acknowledged_at__isnull=False)
    if after is not None:
        sent &= Q(outbox_message__sent_at__gt=after)
        acknowledged &= Q(acknowledged_at__gt=after)
    if until is not None:
        sent &= Q(outbox_message__sent_at__lte=until)
        acknowledged &= Q(acknowledged_at__lte=until)
    deliveries = (
        Delivery.objects.visible_to(user)
        .filter(subscription__engagement=engagement)
        .filter(sent | acknowledged)
        .select_related("subscription__stakeholder", "outbox_message")
        .defer("outbox_message__body_text", "outbox_message__body_html", "outbox_message__headers")
    )
    if stakeholder_id is not None:
        deliveries = deliveries.filter(subscription__stakeholder_id=stakeholder_id)

    def within(moment: datetime | None) -> bool:
        return moment is not None and (after is None or moment > after) and (until is None or moment <= until)

    contacts = []
    for delivery in deliveries:
        message = delivery.outbox_message
        if message is not None and message.status == OutboxMessage.Status.SENT and within(message.sent_at):
            contacts.append(
                UpdateContact(at=cast(datetime, message.sent_at), inbound=False, delivery=delivery)
            )
        if within(delivery.acknowledged_at):
            contacts.append(
                UpdateContact(at=cast(datetime, delivery.acknowledged_at), inbound=True, delivery=delivery)
            )
    contacts.sort(key=lambda contact: contact.at, reverse=True)
    return contacts


# How far back the follow-ups page lists completed items.
FOLLOW_UPS_DONE_RECENTLY = timedelta(days=30)
FOLLOW_UPS_DONE_LIMIT = 100
# Rows per page of each list on an engagement's follow-ups page.
FOLLOW_UPS_PAGE_SIZE = 50
FOLLOW_UP_BOARD_SECTIONS = ("overdue", "open", "done", "client")


@dataclass(frozen=True)
class BoardSection:
    """One page of one list of the board, and how many the whole list holds."""

    rows: list[FollowUp]
    number: int
    has_next: bool
    total: int

    @property
    def first(self) -> int:
        return (self.number - 1) * FOLLOW_UPS_PAGE_SIZE + 1


@dataclass(frozen=True)
class FollowUpBoard:
    """An engagement's follow-ups as its page lists them: the team's by state, the client's apart."""

    overdue: BoardSection
    open: BoardSection
    done: BoardSection
    client_owed: BoardSection
    # The client's overdue items, so the page accounts for every follow-up health counts as overdue.
    client_overdue: int = 0


def follow_up_board(
    *, user: Any, engagement: Engagement, as_of: datetime, pages: dict[str, int] | None = None
) -> FollowUpBoard:
    """Five queries whatever the number of follow-ups; each row carries may_change and is_overdue.

    Each list is paged on its own (``pages`` maps a section of
    FOLLOW_UP_BOARD_SECTIONS to its page number, default 1), in an order that
    ends with the primary key; one aggregate counts every list of the one
    engagement.
    """
    rows = follow_up_list_with_rights(user=user, as_of=as_of).filter(engagement=engagement)
    done_since = as_of - FOLLOW_UPS_DONE_RECENTLY
    team = Q(owner_user__isnull=False)
    conditions = {
        "overdue": team & FollowUp.overdue_condition(as_of=as_of),
        "open": team & Q(status=FollowUp.Status.OPEN, due_at__gte=as_of),
        "done": team & Q(status=FollowUp.Status.DONE, completed_at__gte=done_since),
        "client": Q(owner_stakeholder__isnull=False)
        & (Q(status=FollowUp.Status.OPEN) | Q(status=FollowUp.Status.DONE, completed_at__gte=done_since)),
    }
    orders: dict[str, tuple[Any, ...]] = {
        "overdue": ("due_at", "pk"),
        "open": ("due_at", "pk"),
        "done": ("-completed_at", "-pk"),
        "client": ("-status", "due_at", "pk"),
    }
    # Counted over the rows the user may see, so a client never learns how many internal ones there are.
    totals = (
        follow_up_list(user=user)
        .filter(engagement=engagement)
        .aggregate(
            **{key: Count("pk", filter=condition) for key, condition in conditions.items()},
            client_overdue=Count(
                "pk", filter=Q(owner_stakeholder__isnull=False) & FollowUp.overdue_condition(as_of=as_of)
            ),
        )
    )
    totals["done"] = min(totals["done"], FOLLOW_UPS_DONE_LIMIT)
    wanted = pages or {}

    def section(key: str) -> BoardSection:
        last = max(1, -(-totals[key] // FOLLOW_UPS_PAGE_SIZE))
        number = min(max(1, wanted.get(key, 1)), last)
        start = (number - 1) * FOLLOW_UPS_PAGE_SIZE
        end = min(start + FOLLOW_UPS_PAGE_SIZE, totals[key])
        found = list(rows.filter(conditions[key]).order_by(*orders[key])[start:end]) if end > start else []
        return BoardSection(rows=found, number=number, has_next=end < totals[key], total=totals[key])

    return FollowUpBoard(
        overdue=section("overdue"),
        open=section("open"),
        done=section("done"),
        client_owed=section("client"),
        client_overdue=totals["client_overdue"],
    )


# An engagement or a firm user as communication rows see them: subqueries over an outer query whose
# primary key is the engagement's (or the user's), so a dashboard of the whole portfolio gets its
# figures in its one query, and can sort and page on them.


def engagement_overdue_follow_ups(*, as_of: datetime) -> tuple[Coalesce, Subquery]:
    """How many of the engagement's follow-ups are overdue at ``as_of``, and the oldest due time."""
    overdue = (
        FollowUp.objects.overdue(as_of=as_of)
        .filter(engagement_id=OuterRef("pk"))
        .order_by()
        .values("engagement_id")
    )
    count = overdue.annotate(n=Count("pk")).values("n")
    oldest = overdue.annotate(oldest=Min("due_at")).values("oldest")
    return Coalesce(Subquery(count, output_field=IntegerField()), Value(0)), Subquery(
        oldest, output_field=DateTimeField()
    )


def engagement_mean_sentiment(*, start: datetime, end: datetime) -> Subquery:
    """The mean sentiment of the engagement's check-ins in [start, end); None when none was logged."""
    rows = (
        CheckIn.objects.filter(engagement_id=OuterRef("pk"), occurred_at__gte=start, occurred_at__lt=end)
        .order_by()
        .values("engagement_id")
        .annotate(mean=Avg("sentiment"))
        .values("mean")
    )
    return Subquery(rows, output_field=FloatField())


def owner_overdue_follow_ups(*, user: Any, as_of: datetime) -> Coalesce:
    """How many follow-ups the outer user owes that are overdue at ``as_of``, on engagements ``user`` sees."""
    overdue = (
        FollowUp.objects.visible_to(user)
        .overdue(as_of=as_of)
        .filter(owner_user_id=OuterRef("pk"))
        .order_by()
        .values("owner_user_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(overdue, output_field=IntegerField()), Value(0))


def raid_item_list(*, user: Any) -> QuerySet[RaidItem]:
    """The RAID items the user may see, with what their rows show; the one door for pages, API and CSV."""
    return (
        RaidItem.objects.visible_to(user)
        .select_related(
            "engagement__client", "owner", "raised_by", "change_request", "became_change_request", "check_in"
        )
        .prefetch_related(Prefetch("stakeholders", queryset=Stakeholder.objects.order_by("name", "pk")))
    )


def raid_item_get_for_user(*, user: Any, id: Any) -> RaidItem:
    return get_or_404(raid_item_list(user=user), id=id)


def raid_risk_review_get_for_user(*, user: Any, id: Any) -> RaidRiskReview:
    return get_or_404(RaidRiskReview.objects.visible_to(user).select_related("item", "reviewed_by"), id=id)


def raid_risk_review_list(*, user: Any, item: RaidItem) -> list[RaidRiskReview]:
    """How the risk's rating moved, newest first, capped at HISTORY_LIMIT; one query, none for a client."""
    return list(
        RaidRiskReview.objects.visible_to(user)
        .filter(item=item)
        .select_related("reviewed_by")
        .order_by("-reviewed_at", "-id")[:HISTORY_LIMIT]
    )


def raid_decisions_filed_from(*, user: Any, check_in: CheckIn, shared_only: bool = False) -> dict[int, str]:
    """The decisions filed in the RAID log from a check-in that the user may see: title by id, one query.

    ``shared_only``: those of them shared with the client.
    """
    filed = RaidItem.objects.visible_to(user).filter(check_in=check_in, kind=RaidKind.DECISION)
    if shared_only:
        filed = filed.filter(shared_with_client=True)
    return dict(filed.order_by("pk").values_list("pk", "title"))


@dataclass(frozen=True)
class RaidFilter:
    """The RAID tab's filters, each optional: kind, status, owner (a user id), stakeholder (an id)."""

    kind: str = ""
    status: str = ""
    owner: int | None = None
    stakeholder: int | None = None


def raid_log(*, user: Any, engagement: Engagement, filters: RaidFilter) -> QuerySet[RaidItem]:
    """One engagement's log as the user may see it, filtered, in the tab's order.

    Open items first; within each, risks by score, highest first, then the
    rest (no score); newest first on a tie, ending in the id: the index
    raid_item_log_order. The score as sorted is annotated (``log_score``) for
    the paging key of ``raid_log_page``.
    """
    rows = raid_item_list(user=user).filter(engagement=engagement)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.owner is not None:
        rows = rows.filter(owner_id=filters.owner)
    if filters.stakeholder is not None:
        # A subquery rather than a join, so an item concerning several people is listed once.
        concerned = RaidItem.stakeholders.through.objects.filter(stakeholder_id=filters.stakeholder)
        rows = rows.filter(Q(pk__in=concerned.values("raiditem_id")) | Q(raised_by=filters.stakeholder))
    # Scores run 1 to 25; an item of another kind sorts below every risk. The expressions are the
    # index raid_item_log_order's, so the database reads the page from it.
    return rows.annotate(log_score=Coalesce(F("score"), Value(0))).order_by(
        F("status").desc(), Coalesce(F("score"), Value(0)).desc(), F("id").desc()
    )


RAID_PAGE_SIZE = 25

_RAID_CURSOR = re.compile(r"([01])\.(\d{1,2})\.(\d{1,19})", re.ASCII)


@dataclass(frozen=True)
class RaidCursor:
    """Where a page of the log ends: its last row's sort key (open, score, id), written ``1.20.345``."""

    open: int
    score: int
    id: int

    def __str__(self) -> str:
        return f"{self.open}.{self.score}.{self.id}"

    @classmethod
    def parse(cls, text: Any) -> RaidCursor | None:
        """The cursor ``text`` writes, or None (the first page) for anything else, an old bare id included."""
        match = _RAID_CURSOR.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            return None
        open_, score, pk = (int(part) for part in match.groups())
        return cls(open=open_, score=score, id=pk) if parse_id(str(pk)) else None


@dataclass(frozen=True)
class RaidPage:
    items: list[RaidItem]
    # Where the next page starts (keyset paging), or None on the last page.
    next_after: RaidCursor | None


def raid_log_page(
    *,
    user: Any,
    engagement: Engagement,
    filters: RaidFilter,
    after: RaidCursor | None,
    size: int = RAID_PAGE_SIZE,
) -> RaidPage:
    """A page of the log after the row ``after`` ends, read one row beyond the page so no COUNT is needed."""
    rows = raid_log(user=user, engagement=engagement, filters=filters)
    if after is not None:
        status = RaidItem.Status.OPEN if after.open else RaidItem.Status.CLOSED
        rows = rows.filter(
            Q(status__lt=status)
            | Q(status=status, log_score__lt=after.score)
            | Q(status=status, log_score=after.score, id__lt=after.id)
        )
    items = list(rows[: size + 1])
    more = len(items) > size
    items = items[:size]
    if not (more and items):
        return RaidPage(items=items, next_after=None)
    last = items[-1]
    return RaidPage(
        items=items,
        next_after=RaidCursor(
            open=int(last.status == RaidItem.Status.OPEN),
            score=last.log_score,  # type: ignore[attr-defined]
            id=last.pk,
        ),
    )


RAID_SCALE = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class RiskCell:
    likelihood: int
    impact: int
    count: int

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def band(self) -> str:
        """The cell's colour band, by score: the usual green, amber, red of a risk matrix."""
        return "high" if self.score >= 15 else "medium" if self.score >= 6 else "low"


def raid_risk_matrix(*, user: Any, engagement: Engagement) -> list[list[RiskCell]]:
    """Open risks the user may see, counted per likelihood and impact: rows of impact 5 down to 1.

    One grouped query.
    """
    counts = {
        (row["likelihood"], row["impact"]): row["n"]
        for row in raid_item_list(user=user)
        .filter(engagement=engagement, kind=RaidKind.RISK, status=RaidItem.Status.OPEN)
        .order_by()
        .values("likelihood", "impact")
        .annotate(n=Count("id"))
    }
    return [
        [RiskCell(likelihood=lk, impact=im, count=counts.get((lk, im), 0)) for lk in RAID_SCALE]
        for im in reversed(RAID_SCALE)
    ]


def raid_top_risks(*, user: Any, engagement: Engagement, limit: int = 5) -> list[RaidItem]:
    """The engagement's open risks with the highest score, for its overview; one query."""
    return list(
        RaidItem.objects.visible_to(user)
        .select_related("owner")
        .filter(engagement=engagement, kind=RaidKind.RISK, status=RaidItem.Status.OPEN)
        .order_by("-score", "-id")[:limit]
    )
