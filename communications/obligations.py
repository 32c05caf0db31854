"""Communication obligations: who must be told about a change request, by when, and whether they were.

Recording a change request lives here rather than in engagements, because
opening its obligations needs the communication plan and dependencies point
communications → engagements.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from communications.health import engagement_health_refresh
from communications.models import (
    Channel,
    CheckIn,
    CommunicationObligation,
    CommunicationObligationQuerySet,
)
from engagements import services as engagement_services
from engagements.models import ChangeRequest, Engagement, Membership
from engagements.selectors import engagement_check_editable
from engagements.working_days import end_of_working_day, engagement_calendar
from pmaas.scoping import get_or_404
from stakeholders.models import Stakeholder, StakeholderRole

# Changes the client's key people must hear about; schedule and budget changes only when someone ticks them.
KINDS_WITH_OBLIGATIONS = frozenset(
    {ChangeRequest.Kind.SCOPE, ChangeRequest.Kind.RESOURCE, ChangeRequest.Kind.REGULATORY}
)
DEFAULT_WORKING_DAYS = 5

_Status = CommunicationObligation.Status


# --- reads ----------------------------------------------------------------------------------------------


def obligation_list(*, user: Any) -> QuerySet[CommunicationObligation]:
    return CommunicationObligation.objects.visible_to(user).select_related(
        "engagement", "change_request", "stakeholder", "channel", "met_by_check_in", "waived_by"
    )


def obligation_get_for_user(*, user: Any, id: int) -> CommunicationObligation:
    return get_or_404(obligation_list(user=user), id=id)


def obligation_list_for_engagement(
    *, user: Any, engagement: Engagement, open_only: bool = False, as_of: datetime | None = None
) -> QuerySet[CommunicationObligation]:
    """An engagement's obligations, grouped by change request (newest first), then by deadline.

    With ``as_of``, each row carries ``is_overdue`` at that time.
    """
    obligations = cast(
        CommunicationObligationQuerySet, obligation_list(user=user).filter(engagement=engagement)
    )
    if open_only:
        obligations = obligations.open()
    if as_of is not None:
        obligations = obligations.with_is_overdue(as_of=as_of)
    return obligations.order_by("-change_request__raised_on", "change_request_id", "deadline", "pk")


@dataclass(frozen=True)
class ObligationSummary:
    open: int
    overdue: int
    nearest_deadline: datetime | None


def obligation_summary_for_engagement(
    *, user: Any, engagement: Engagement, as_of: datetime
) -> ObligationSummary:
    """How many obligations are open and overdue, and the nearest open deadline, in one query."""
    open_filter = Q(status=_Status.OPEN)
    totals = (
        CommunicationObligation.objects.visible_to(user)
        .filter(engagement=engagement)
        .aggregate(
            open=Count("pk", filter=open_filter),
            overdue=Count("pk", filter=CommunicationObligation.overdue_condition(as_of=as_of)),
            nearest=Min("deadline", filter=open_filter),
        )
    )
    return ObligationSummary(
        open=totals["open"] or 0, overdue=totals["overdue"] or 0, nearest_deadline=totals["nearest"]
    )


def obligations_open_for_owner(*, user: Any, as_of: datetime) -> QuerySet[CommunicationObligation]:
    """The open obligations the user answers for, overdue first, then by deadline; one query.

    A user answers for telling someone when they own the relationship with
    them on that engagement or the channel the news should travel on; when no
    active user owns either, the engagement's lead does, so nobody's
    obligation goes unanswered. Each row carries ``is_overdue`` at ``as_of``.
    """
    role = StakeholderRole.objects.filter(
        engagement_id=OuterRef("engagement_id"), stakeholder_id=OuterRef("stakeholder_id")
    )
    leads = Membership.objects.leads().filter(engagement_id=OuterRef("engagement_id"), user=user)
    # Exists rather than a negated join: without a channel the joined owner is NULL, and NOT NULL is no match.
    owned_channel = Channel.objects.filter(pk=OuterRef("channel_id"), owner__is_active=True)
    unowned = ~Exists(role.filter(relationship_owner__is_active=True)) & ~Exists(owned_channel)
    owns = Exists(role.filter(relationship_owner=user)) | Q(channel__owner=user)
    answers_for = owns | (unowned & Exists(leads))
    return (
        cast(CommunicationObligationQuerySet, obligation_list(user=user))
        .open()
        .filter(answers_for)
        .with_is_overdue(as_of=as_of)
        .select_related("engagement__client")
        .order_by("-is_overdue", "deadline", "pk")
    )


def obligation_default_stakeholder_ids(*, engagement: Engagement) -> list[int]:
    """Who must hear of a change by default: sponsors, the PMO lead and everyone of high influence."""
    return list(
        StakeholderRole.objects.filter(engagement=engagement)
        .key()
        .order_by("stakeholder__name")
        .values_list("stakeholder_id", flat=True)
    )


# --- writes ---------------------------------------------------------------------------------------------


def _earliest_channels(*, engagement: Engagement, stakeholder_ids: Iterable[int]) -> dict[int, Channel]:
    """Each stakeholder's active channel on the engagement that falls due first."""
    channels = (
        Channel.objects.active()
        .filter(engagement=engagement, stakeholder_id__in=list(stakeholder_ids), next_due_at__isnull=False)
        .order_by("stakeholder_id", "next_due_at", "pk")
    )
    earliest: dict[int, Channel] = {}
    for channel in channels:
        earliest.setdefault(channel.stakeholder_id, channel)
    return earliest


def _open_obligations(
    *,
    actor: Any,
    change_request: ChangeRequest,
    stakeholder_ids: list[int],
    as_of: datetime,
    working_days: int,
) -> list[CommunicationObligation]:
    channels = _earliest_channels(engagement=change_request.engagement, stakeholder_ids=stakeholder_ids)
    engagement = change_request.engagement
    # A deadline: the end of the last working day allowed, under the time-zone rule of working_days.
    fallback = end_of_working_day(as_of, working_days, calendar=engagement_calendar(engagement))
    obligations = []
    for stakeholder_id in stakeholder_ids:
        channel = channels.get(stakeholder_id)
        obligations.append(
            CommunicationObligation(
                engagement=change_request.engagement,
                change_request=change_request,
                stakeholder_id=stakeholder_id,
                channel=channel,
                opened_at=as_of,
                deadline=channel.next_due_at if channel and channel.next_due_at else fallback,
                created_by=actor,
            )
        )
    return CommunicationObligation.objects.bulk_create(obligations, batch_size=500)


def _engagement_stakeholder_ids(engagement: Engagement) -> set[int]:
    return set(StakeholderRole.objects.filter(engagement=engagement).values_list("stakeholder_id", flat=True))


@transaction.atomic
def change_request_record(
    *,
    actor: Any,
    engagement: Engagement,
    title: str,
    kind: str,
    raised_on: date,
    description: str = "",
    budget_impact: Decimal | int = 0,
    schedule_impact_days: int = 0,
    notify_stakeholder_ids: Iterable[int] | None = None,
    working_days: int = DEFAULT_WORKING_DAYS,
    as_of: datetime | None = None,
) -> ChangeRequest:
    """Record a change request and open its communication obligations in one transaction.

    Without ``notify_stakeholder_ids``, a scope, resource or regulatory change
    opens one obligation per key stakeholder (sponsors, PMO lead, high
    influence) and other kinds open none; with it, exactly those people, each of
    whom must have a role on the engagement. Each deadline is the stakeholder's
    earliest planned channel, or the end of the ``working_days``-th working day
    after ``as_of`` (``end_of_working_day``).
    Nothing is written when anything is refused. Not idempotent.
    """
    as_of = as_of or timezone.now()
    change_request = engagement_services.change_request_create(
        actor=actor,
        engagement=engagement,
        title=title,
        kind=kind,
        raised_on=raised_on,
        description=description,
        budget_impact=budget_impact,
        schedule_impact_days=schedule_impact_days,
    )
    if notify_stakeholder_ids is None:
        wanted = []
        if kind in KINDS_WITH_OBLIGATIONS:
            wanted = obligation_default_stakeholder_ids(engagement=engagement)
    else:
        wanted = list(dict.fromkeys(int(pk) for pk in notify_stakeholder_ids))
        strangers = set(wanted) - _engagement_stakeholder_ids(engagement)
        if strangers:
            raise ValidationError({"notify_stakeholders": "Choose only stakeholders of this engagement."})
    _open_obligations(
        actor=actor,
        change_request=change_request,
        stakeholder_ids=wanted,
        as_of=as_of,
        working_days=working_days,
    )
    return change_request


@transaction.atomic
def obligation_add(
    *,
    actor: Any,
    change_request: ChangeRequest,
    stakeholder: Stakeholder,
    working_days: int = DEFAULT_WORKING_DAYS,
    as_of: datetime | None = None,
) -> CommunicationObligation:
    """Add one more person who must be told about a change request.

    The stakeholder must have a role on the engagement and no open obligation
    for this change yet (a database constraint backs this). Not idempotent: a
    second call is refused.
    """
    engagement = change_request.engagement
    engagement_check_editable(user=actor, engagement=engagement)
    if stakeholder.pk not in _engagement_stakeholder_ids(engagement):
        raise ValidationError({"stakeholder": "This person has no role on the engagement."})
    already = CommunicationObligation.objects.open().filter(
        change_request=change_request, stakeholder=stakeholder
    )
    if already.exists():
        raise ValidationError({"stakeholder": f"{stakeholder} already has to be told about this change."})
    (obligation,) = _open_obligations(
        actor=actor,
        change_request=change_request,
        stakeholder_ids=[stakeholder.pk],
        as_of=as_of or timezone.now(),
        working_days=working_days,
    )
    return obligation


@transaction.atomic
def obligation_waive(
    *, actor: Any, obligation: CommunicationObligation, reason: str, as_of: datetime | None = None
) -> CommunicationObligation:
    """Stop tracking an obligation nobody needs to meet, saying why.

    Only an open obligation can be waived (CommunicationObligation.TRANSITIONS;
    TransitionRefused otherwise). Not idempotent: waiving twice is refused.
    """
    engagement_check_editable(user=actor, engagement=obligation.engagement)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why this person need not be told."})
    locked = CommunicationObligation.objects.select_for_update().get(pk=obligation.pk)
    CommunicationObligation.TRANSITIONS.check(locked.status, _Status.WAIVED)
    CommunicationObligation.objects.filter(pk=locked.pk).update(
        status=_Status.WAIVED,
        waived_reason=reason,
        waived_by=actor,
        waived_at=as_of or timezone.now(),
        updated_at=timezone.now(),
    )
    engagement_health_refresh(engagement_ids=[locked.engagement_id], as_of=as_of or timezone.now())
    obligation.refresh_from_db()
    return obligation


def _next_local_midnight(moment: datetime, time_zone: str) -> datetime:
    """The first instant of the day after ``moment``'s local day in ``time_zone``, in UTC.

    Built from the local date rather than by adding 24 hours, so a day that
    daylight saving makes 23 or 25 hours long ends at its real midnight.
    """
    zone = ZoneInfo(time_zone)
    next_day = moment.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(next_day, time.min, tzinfo=zone).astimezone(UTC)


def obligations_meet_for_check_in(*, check_in: CheckIn) -> int:
    """Mark met every open obligation of the check-in's engagement towards someone who attended it.

    A check-in counts when it took place on or after the day the change was
    recorded, that day read in the stakeholder's time zone: the meeting where
    the change was discussed, and a check-in logged with the form's time cut
    to the minute, both meet it. One read of the attendees' time zones and one
    set-based UPDATE whatever the number of obligations; returns how many were
    met. Idempotent: obligations already met are left alone.
    """
    attendees = CheckIn.attendees.through.objects.filter(checkin_id=check_in.pk).values_list(
        "stakeholder_id", "stakeholder__time_zone"
    )
    by_zone: dict[str, list[int]] = {}
    for stakeholder_id, time_zone in attendees:
        by_zone.setdefault(time_zone, []).append(stakeholder_id)
    if not by_zone:
        return 0
    # Recorded on or before the check-in's local day: recorded before the local midnight that ends it.
    counted = reduce(
        or_,
        (
            Q(stakeholder_id__in=ids, opened_at__lt=_next_local_midnight(check_in.occurred_at, zone))
            for zone, ids in by_zone.items()
        ),
    )
    return (
        CommunicationObligation.objects.filter(
            engagement_id=check_in.engagement_id,
            status__in=CommunicationObligation.TRANSITIONS.sources(_Status.MET),
        )
        .filter(counted)
        .update(
            status=_Status.MET,
            met_at=check_in.occurred_at,
            met_by_check_in=check_in,
            updated_at=timezone.now(),
        )
    )
