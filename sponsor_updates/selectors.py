"""Reads of sponsor updates: the team's subscription lists, and an update's content as a client sees it.

The content of an update obeys the client-visibility policy
(``pmaas/sharing.py``) exactly as a client user's pages do: every query is
narrowed by the policy's rows for its model, and only fields the policy
shares are carried into ``UpdateContent``. Sentiment, internal check-ins and
follow-ups, silence items, the plan's titles and any override reason never
enter it, so no template can show them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from communications.models import Channel, CheckIn, Delivery, FollowUp, SponsorSubscription
from communications.raid import decision_lines
from engagements.models import ChangeRequest, Engagement, Milestone
from notifications.models import OutboxMessage
from pmaas.scoping import get_or_404
from pmaas.sharing import client_sees_field, client_share
from sponsor_updates.schedule import Period
from stakeholders.models import Stakeholder

# Enough to say what is coming without turning the mail into the plan.
COMING_MILESTONES = 5
_HEALTH = {"green": "Green", "amber": "Amber", "red": "Red"}
NEXT_MEETINGS = 3


def subscription_list_for_engagement(*, user: Any, engagement: Engagement) -> QuerySet[SponsorSubscription]:
    return (
        SponsorSubscription.objects.visible_to(user)
        .filter(engagement=engagement)
        .select_related("stakeholder")
        .order_by("stakeholder__name", "pk")
    )


def subscription_get_for_user(*, user: Any, engagement: Engagement, id: Any) -> SponsorSubscription:
    """One subscription of this engagement in the user's scope, else 404."""
    return get_or_404(
        SponsorSubscription.objects.visible_to(user)
        .filter(engagement=engagement)
        .select_related("engagement__client", "stakeholder"),
        id=id,
    )


def subscription_candidates(*, user: Any, engagement: Engagement) -> QuerySet[Stakeholder]:
    """The engagement's stakeholders with an address who receive no updates yet."""
    return (
        Stakeholder.objects.visible_to(user)
        .filter(roles__engagement=engagement)
        .exclude(email="")
        .exclude(sponsor_subscriptions__engagement=engagement)
        .order_by("name")
        .distinct()
    )


def delivery_history(*, user: Any, engagement: Engagement) -> QuerySet[Delivery]:
    """Every update of the engagement in the user's scope, newest first, with its recipient and outcome.

    The messages' rendered bodies are left unread: the history shows only
    their state, when they were sent and the last error.
    """
    return (
        Delivery.objects.visible_to(user)
        .filter(subscription__engagement=engagement)
        .come_due()
        .select_related("subscription__stakeholder", "outbox_message")
        .defer("outbox_message__body_text", "outbox_message__body_html", "outbox_message__headers")
        .order_by("-scheduled_for", "-pk")
    )


def delivery_waiting_list(*, user: Any, engagement: Engagement) -> QuerySet[Delivery]:
    """The engagement's updates held at their send time for approval, oldest first."""
    return (
        Delivery.objects.visible_to(user)
        .filter(subscription__engagement=engagement)
        .waiting_for_approval()
        .select_related("subscription__stakeholder")
        .order_by("scheduled_for", "pk")
    )


def delivery_get_for_user(*, user: Any, engagement: Engagement, id: Any) -> Delivery:
    """One update of this engagement in the user's scope, else 404."""
    return get_or_404(
        Delivery.objects.visible_to(user)
        .filter(subscription__engagement=engagement)
        .select_related(
            "subscription__engagement__client", "subscription__stakeholder", "outbox_message", "summary_by"
        )
        .defer("outbox_message__body_text", "outbox_message__body_html", "outbox_message__headers"),
        id=id,
    )


def delivery_of_period(*, subscription: SponsorSubscription, period: Period) -> Delivery | None:
    """The scheduled update of this period, when it was written (as a draft ahead, or at its time)."""
    return (
        Delivery.objects.filter(subscription=subscription, ad_hoc_key="", period_end=period.end)
        .select_related("summary_by", "approved_by")
        .first()
    )


def delivery_unacknowledged_count(*, user: Any, engagement: Engagement) -> int:
    """How many sent updates of the engagement no recipient has acknowledged yet."""
    return (
        Delivery.objects.visible_to(user).filter(subscription__engagement=engagement).unacknowledged().count()
    )


# The updates page names the latest few; the history has the rest.
TROUBLE_LIMIT = 10


def delivery_troubles(*, user: Any, engagement: Engagement) -> list[Delivery]:
    """Updates of the engagement the team should look at, newest first, with the outbox's reason.

    Failed ones (the outbox gave up: no address, or the address refused for
    good) until a later update to the same recipient was sent, and pending
    ones whose attempts have failed so far (the mail server keeps refusing
    or cannot be reached). At most ``TROUBLE_LIMIT``; one query.
    """
    status = OutboxMessage.Status
    sent_later = Delivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        outbox_message__status=status.SENT,
        scheduled_for__gt=OuterRef("scheduled_for"),
    )
    failing = Q(outbox_message__status=status.FAILED) & ~Exists(sent_later)
    retrying = Q(outbox_message__status=status.PENDING, outbox_message__attempts__gt=0)
    return list(
        Delivery.objects.visible_to(user)
        .filter(subscription__engagement=engagement)
        .filter(failing | retrying)
        .select_related("subscription__stakeholder", "outbox_message")
        .defer("outbox_message__body_text", "outbox_message__body_html", "outbox_message__headers")
        .order_by("-scheduled_for", "-pk")[:TROUBLE_LIMIT]
    )


def subscription_for_link(*, id: int) -> SponsorSubscription | None:
    """The subscription a signed link names (the signature is the permission), or None when gone."""
    return (
        SponsorSubscription.objects.select_related("engagement__client", "stakeholder").filter(pk=id).first()
    )


def delivery_for_link(*, id: int, subscription_id: int) -> Delivery | None:
    """The delivery a signed link names, only within the subscription the link was signed for."""
    return (
        Delivery.objects.select_related("subscription__engagement__client", "subscription__stakeholder")
        .filter(pk=id, subscription_id=subscription_id)
        .first()
    )


def subscriptions_for_address(*, email: str) -> list[SponsorSubscription]:
    return list(
        SponsorSubscription.objects.for_stakeholder_email(email)
        .select_related("engagement", "stakeholder")
        .order_by("pk")
    )


# --- The update's content ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneLine:
    name: str
    due_on: date
    completed_on: date | None
    # Not done and past its due day on the update's day, in the recipient's zone: "late since <due day>".
    late: bool = False


@dataclass(frozen=True)
class ChangeLine:
    title: str
    kind: str
    status: str
    raised_on: date
    budget_impact: Decimal | None
    schedule_impact_days: int | None
    decision: str
    awaiting_client: bool


@dataclass(frozen=True)
class FollowUpLine:
    title: str
    owner: str
    due_at: datetime
    overdue: bool
    # The zone of the day it is due by the end of, if agreed as a day (pmaas/deadlines.py).
    due_zone: str = ""


@dataclass(frozen=True)
class MeetingLine:
    occurred_at: datetime
    kind: str
    attendees: list[str]
    summary: str
    # One decision per line of the check-in, as the RAID log files them: each is counted and listed alone.
    decisions: list[str]


@dataclass(frozen=True)
class NextMeetingLine:
    due_at: datetime
    kind: str


@dataclass
class UpdateContent:
    """Everything one update shows, already cut to what the client-visibility policy shares."""

    engagement_name: str
    engagement_code: str
    client_name: str
    recipient_name: str
    time_zone: str
    period: Period
    # The engagement's, for the change requests' budget impact.
    currency: str = ""
    # "" when the firm does not share the engagement's health with the client.
    health: str = ""
    health_label: str = ""
    previous_health: str = ""
    milestones_done: list[MilestoneLine] = field(default_factory=list)
    milestones_coming: list[MilestoneLine] = field(default_factory=list)
    decisions_needed: list[ChangeLine] = field(default_factory=list)
    follow_ups_owed: list[FollowUpLine] = field(default_factory=list)
    scope_changes: list[ChangeLine] = field(default_factory=list)
    meetings: list[MeetingLine] = field(default_factory=list)
    next_meetings: list[NextMeetingLine] = field(default_factory=list)

    @property
    def trend(self) -> str:
        """ "better", "worse", "steady", or "" when there is nothing shared to compare."""
        if not self.health or not self.previous_health:
            return ""
        order = {"red": 0, "amber": 1, "green": 2}
        now, before = order.get(self.health, 1), order.get(self.previous_health, 1)
        return "better" if now > before else "worse" if now < before else "steady"

    @property
    def overdue_count(self) -> int:
        return sum(1 for line in self.follow_ups_owed if line.overdue)


def _shared(queryset: QuerySet[Any], label: str) -> QuerySet[Any]:
    return queryset.filter(client_share(label).rows)


def _moment(day: date, time_zone: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone))


def _shared_health(engagement: Engagement) -> str:
    if client_sees_field("engagements.Engagement", "effective_health", engagement):
        return engagement.effective_health
    return ""


def _change_line(change: ChangeRequest) -> ChangeLine:
    return ChangeLine(
        title=change.title,
        kind=change.get_kind_display(),
        status=change.get_status_display(),
        raised_on=change.raised_on,
        budget_impact=change.budget_impact,
        schedule_impact_days=change.schedule_impact_days,
        decision=change.decision,
        awaiting_client=change.status in (ChangeRequest.Status.PROPOSED, ChangeRequest.Status.UNDER_REVIEW),
    )


def update_contents(
    *, subscriptions: Sequence[SponsorSubscription], periods: dict[int, Period], as_of: datetime
) -> dict[int, UpdateContent]:
    """The content of each subscription's update for its period, by subscription id.

    A fixed number of queries whatever the number of subscriptions (eight):
    each kind of row is read once for every engagement of the batch, through
    the client-visibility policy, and cut per subscription here. The
    subscriptions need ``engagement__client`` and ``stakeholder`` loaded.
    """
    if not subscriptions:
        return {}
    engagement_ids = {s.engagement_id for s in subscriptions}
    stakeholder_ids = {s.stakeholder_id for s in subscriptions}
    earliest = min(_moment(periods[s.pk].start, s.time_zone) for s in subscriptions)

    milestones: dict[int, list[Milestone]] = defaultdict(list)
    for milestone in _shared(
        Milestone.objects.filter(engagement_id__in=engagement_ids), "engagements.Milestone"
    ):
        milestones[milestone.engagement_id].append(milestone)

    changes: dict[int, list[ChangeRequest]] = defaultdict(list)
    change_rows = ChangeRequest.objects.filter(engagement_id__in=engagement_ids).order_by("raised_on", "pk")
    for change in _shared(change_rows, "engagements.ChangeRequest"):
        changes[change.engagement_id].append(change)

    follow_ups: dict[int, list[FollowUp]] = defaultdict(list)
    owed = (
        FollowUp.objects.filter(engagement_id__in=engagement_ids)
        .open()
        .owed_by_client()
        .select_related("owner_stakeholder")
        .order_by("due_at", "pk")
    )
    for follow_up in _shared(owed, "communications.FollowUp"):
        follow_ups[follow_up.engagement_id].append(follow_up)

    meetings: dict[int, list[CheckIn]] = defaultdict(list)
    shared_check_ins = (
        CheckIn.objects.filter(
            engagement_id__in=engagement_ids, occurred_at__gte=earliest, occurred_at__lt=as_of
        )
        .prefetch_related(
            Prefetch("attendees", queryset=Stakeholder.objects.order_by("name")), "team_attendees"
        )
        .order_by("occurred_at", "pk")
    )
    for check_in in _shared(shared_check_ins, "communications.CheckIn"):
        meetings[check_in.engagement_id].append(check_in)

    coming: dict[tuple[int, int], list[Channel]] = defaultdict(list)
    channels = Channel.objects.active().filter(
        engagement_id__in=engagement_ids, stakeholder_id__in=stakeholder_ids, next_due_at__gte=as_of
    )
    for channel in channels.order_by("next_due_at", "pk"):
        coming[(channel.engagement_id, channel.stakeholder_id)].append(channel)

    previous_health = dict(
        Delivery.objects.filter(subscription__in=[s.pk for s in subscriptions], ad_hoc_key="")
        .exclude(health="")
        # Oldest first, so each subscription keeps its latest.
        .order_by("period_end", "pk")
        .values_list("subscription_id", "health")
    )

    contents: dict[int, UpdateContent] = {}
    for subscription in subscriptions:
        engagement = subscription.engagement
        zone = subscription.time_zone
        period = periods[subscription.pk]
        start, end = _moment(period.start, zone), _moment(period.end, zone)
        health = _shared_health(engagement)
        engagement_milestones = milestones[engagement.pk]
        engagement_changes = changes[engagement.pk]
        content = UpdateContent(
            engagement_name=engagement.name,
            engagement_code=engagement.code,
            client_name=engagement.client.name,
            recipient_name=subscription.stakeholder.name,
            time_zone=zone,
            period=period,
            currency=engagement.currency,
            health=health,
            health_label=_HEALTH.get(health, ""),
            previous_health=previous_health.get(subscription.pk, "") if health else "",
        )
        content.milestones_done = [
            MilestoneLine(m.name, m.due_on, m.completed_on)
            for m in sorted(engagement_milestones, key=lambda m: (m.completed_on or m.due_on, m.pk))
            if m.completed_on is not None and period.start <= m.completed_on < period.end
        ]
        today = as_of.astimezone(ZoneInfo(zone)).date()
        content.milestones_coming = [
            MilestoneLine(m.name, m.due_on, None, late=m.due_on < today)
            for m in sorted(engagement_milestones, key=lambda m: (m.due_on, m.pk))
            if m.completed_on is None
        ][:COMING_MILESTONES]
        content.decisions_needed = [_change_line(c) for c in engagement_changes if _awaits_client(c)]
        content.scope_changes = [
            _change_line(c)
            for c in engagement_changes
            if period.start <= c.raised_on < period.end
            or (c.decided_at is not None and start <= c.decided_at < end)
        ]
        content.follow_ups_owed = [
            FollowUpLine(
                title=f.title,
                owner=f.owner_stakeholder.name if f.owner_stakeholder else "",
                due_at=f.due_at,
                overdue=f.due_at <= as_of,
                due_zone=f.due_zone,
            )
            for f in follow_ups[engagement.pk]
        ]
        content.meetings = [
            MeetingLine(
                occurred_at=c.occurred_at,
                kind=c.get_kind_display(),
                attendees=[p.name for p in c.attendees.all()]
                + [u.get_full_name() or u.username for u in c.team_attendees.all()],
                summary=c.summary,
                decisions=decision_lines(c.decisions),
            )
            for c in meetings[engagement.pk]
            if start <= c.occurred_at < end
        ]
        content.next_meetings = [
            NextMeetingLine(due_at=c.next_due_at, kind=c.get_kind_display())
            for c in coming[(engagement.pk, subscription.stakeholder_id)]
            if c.next_due_at is not None
        ][:NEXT_MEETINGS]
        contents[subscription.pk] = content
    return contents


def _awaits_client(change: ChangeRequest) -> bool:
    return change.status in (ChangeRequest.Status.PROPOSED, ChangeRequest.Status.UNDER_REVIEW)
