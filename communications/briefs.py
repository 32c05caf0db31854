"""The brief before a planned meeting: what the owner should have in mind about the person they meet.

One screen per channel's next meeting: the last meeting with the person on
this engagement (summary and decisions), what is still open both ways (what
the person owes, and what the team owes from meetings they attended, overdue
first), the communication obligations waiting on them, the change requests
that concern them since that meeting, and where their engagement stands
against where it should be. Firm-internal: it holds engagement levels, so a
client user never reaches it (Channel shares no rows with clients).

``meeting_briefs`` reads a whole batch of channels in a fixed number of
queries, so the reminder sweep's cost per batch does not grow with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse

from communications.models import Channel, CheckIn, CommunicationObligation, FollowUp
from engagements.models import ChangeRequest
from pmaas.scoping import get_or_404
from stakeholders.models import StakeholderRole

# One screen: a longer list is a page of its own (the follow-ups tab), not a brief.
BRIEF_LIST_LIMIT = 8
OPEN = CommunicationObligation.Status.OPEN


@dataclass(frozen=True)
class MeetingBrief:
    channel: Channel
    role: StakeholderRole | None
    last_check_in: CheckIn | None
    # Open follow-ups, overdue first; each list at most BRIEF_LIST_LIMIT long.
    they_owe: list[FollowUp]
    team_owes: list[FollowUp]
    obligations: list[CommunicationObligation]
    changes: list[ChangeRequest]
    as_of: datetime

    @property
    def log_url(self) -> str:
        """The check-in form for this channel: logging there covers the meeting this brief is for."""
        return f"{reverse('check_in_create')}?channel={self.channel.pk}"

    @property
    def level_gap(self) -> int | None:
        """Steps from where the person's engagement stands to where it should be; None without a role."""
        return self.role.engagement_gap if self.role is not None else None


def _pairs(channels: Sequence[Channel]) -> Q:
    rows = Q(pk__in=[])
    for channel in channels:
        rows |= Q(engagement_id=channel.engagement_id, stakeholder_id=channel.stakeholder_id)
    return rows


def _overdue_first(items: list[FollowUp], as_of: datetime) -> list[FollowUp]:
    return sorted(items, key=lambda f: (not f.due_at < as_of, f.due_at, f.pk))[:BRIEF_LIST_LIMIT]


def meeting_briefs(*, channels: Sequence[Channel], as_of: datetime) -> dict[int, MeetingBrief]:
    """The brief of each channel's next meeting, by channel id. At most five queries however many channels.

    ``channels`` come with their engagement and stakeholder loaded.
    """
    if not channels:
        return {}
    last_check_in = (
        CheckIn.objects.filter(engagement_id=OuterRef("engagement_id"), attendees=OuterRef("stakeholder_id"))
        .filter(occurred_at__lte=as_of)
        .order_by("-occurred_at", "-pk")
        .values("pk")[:1]
    )
    roles: dict[tuple[int, int], StakeholderRole] = {}
    last_ids: dict[tuple[int, int], int | None] = {}
    for role in StakeholderRole.objects.filter(_pairs(channels)).annotate(
        last_check_in_id=Subquery(last_check_in)
    ):
        pair = (role.engagement_id, role.stakeholder_id)
        roles[pair] = role
        last_ids[pair] = getattr(role, "last_check_in_id", None)
    check_ins = CheckIn.objects.in_bulk([pk for pk in last_ids.values() if pk])

    engagement_ids = {c.engagement_id for c in channels}
    stakeholder_ids = {c.stakeholder_id for c in channels}
    owed: dict[tuple[int, int], list[FollowUp]] = defaultdict(list)
    for follow_up in (
        FollowUp.objects.open()
        .filter(engagement_id__in=engagement_ids, owner_stakeholder_id__in=stakeholder_ids)
        .select_related("owner_stakeholder")
    ):
        owed[(follow_up.engagement_id, follow_up.owner_stakeholder_id or 0)].append(follow_up)
    team: dict[tuple[int, int], list[FollowUp]] = defaultdict(list)
    # One row per follow-up and attendee of the meeting it came from.
    for follow_up in (
        FollowUp.objects.open()
        .owed_by_team()
        .filter(engagement_id__in=engagement_ids)
        .annotate(attendee_id=F("check_in__attendees"))
        .filter(attendee_id__in=stakeholder_ids)
        .select_related("owner_user")
    ):
        team[(follow_up.engagement_id, getattr(follow_up, "attendee_id", 0))].append(follow_up)

    def last_met(pair: tuple[int, int]) -> CheckIn | None:
        pk = last_ids.get(pair)
        return check_ins.get(pk) if pk else None

    obligations: dict[tuple[int, int], list[CommunicationObligation]] = defaultdict(list)
    for obligation in (
        CommunicationObligation.objects.filter(_pairs(channels))
        .select_related("change_request")
        .order_by("deadline", "pk")
    ):
        obligations[(obligation.engagement_id, obligation.stakeholder_id)].append(obligation)

    briefs = {}
    for channel in channels:
        pair = (channel.engagement_id, channel.stakeholder_id)
        person_role = roles.get(pair)
        last = last_met(pair)
        theirs = obligations.get(pair, [])
        changes: dict[int, ChangeRequest] = {}
        for obligation in theirs:
            if last is None or obligation.opened_at > last.occurred_at:
                changes.setdefault(obligation.change_request_id, obligation.change_request)
        briefs[channel.pk] = MeetingBrief(
            channel=channel,
            role=person_role,
            last_check_in=last,
            they_owe=_overdue_first(owed.get(pair, []), as_of),
            team_owes=_overdue_first(team.get(pair, []), as_of),
            obligations=[o for o in theirs if o.status == OPEN][:BRIEF_LIST_LIMIT],
            changes=list(changes.values())[:BRIEF_LIST_LIMIT],
            as_of=as_of,
        )
    return briefs


def meeting_brief_get_for_user(*, user: Any, channel_id: Any, as_of: datetime) -> MeetingBrief:
    """The brief of one channel's next meeting; 404 when the channel is outside the user's scope."""
    channel = get_or_404(
        Channel.objects.visible_to(user).select_related("engagement__client", "stakeholder", "owner"),
        id=channel_id,
    )
    return meeting_briefs(channels=[channel], as_of=as_of)[channel.pk]
