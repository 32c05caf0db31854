"""The brief before a planned meeting: what the owner should have in mind about the person they meet.

One screen per channel's next meeting: the last meeting with the person on
this engagement (summary and decisions), what is still open both ways (what
the person owes, and what the team owes from meetings they attended, overdue
first), the communication obligations waiting on them, the other change
requests that concern them since that meeting (one still to tell them about is
listed once, among the obligations), the RAID items that concern them
(open risks, issues and assumptions, and decisions taken since that meeting),
and where their engagement stands against where it should be. Firm-internal:
it holds engagement levels, so a client user never reaches it (Channel shares
no rows with clients); the RAID items are still read through the RAID
selector for whoever reads the brief, so the client-visibility policy holds
even if that changes.

``meeting_briefs`` reads a whole batch of channels in a fixed number of
queries, so the reminder sweep's cost per batch does not grow with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import BooleanField, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.urls import reverse

from communications.models import Channel, CheckIn, CommunicationObligation, FollowUp, RaidItem, RaidKind
from communications.selectors import raid_item_list
from engagements.models import ChangeRequest
from pmaas.scoping import get_or_404
from stakeholders.models import StakeholderRole

# One screen: a longer list is a page of its own (the follow-ups tab), not a brief.
BRIEF_LIST_LIMIT = 8
OPEN = CommunicationObligation.Status.OPEN


@dataclass(frozen=True)
class BriefRaidItem:
    item: RaidItem
    # A risk past its review, an assumption past its validation or an issue past its due day.
    overdue: bool

    @property
    def url(self) -> str:
        return reverse("raid_item_detail", kwargs={"pk": self.item.pk})

    @property
    def date_label(self) -> str:
        """What the item's date means for its kind, said before the date, mid-sentence."""
        return self.item.date_words.lower()


@dataclass(frozen=True)
class MeetingBrief:
    channel: Channel
    role: StakeholderRole | None
    last_check_in: CheckIn | None
    # Open follow-ups, overdue first; each list at most BRIEF_LIST_LIMIT long.
    they_owe: list[FollowUp]
    team_owes: list[FollowUp]
    obligations: list[CommunicationObligation]
    # Since the last meeting, leaving out those in ``obligations``.
    changes: list[ChangeRequest]
    # Open items first, overdue first; at most BRIEF_LIST_LIMIT, ``raid_more`` counts the rest.
    raid_items: list[BriefRaidItem]
    raid_more: int
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


def _zone(user: Any) -> ZoneInfo:
    return ZoneInfo(getattr(user, "time_zone", "") or "UTC")


def _raid_items_by_reader(
    channels: Sequence[Channel], viewers: Mapping[int, Any]
) -> dict[tuple[int, int], list[tuple[RaidItem, frozenset[int]]]]:
    """The RAID items concerning each (engagement, stakeholder) pair, with the readers who may see each.

    One query: each reader's scope is the RAID selector's, as a column, so a
    batch of briefs for different owners still costs one read. Closed risks,
    issues and assumptions are left out; decisions are kept whatever their
    status, the caller picks those since the last meeting.
    """
    readers = {viewer.pk: viewer for viewer in viewers.values()}
    seen = {
        f"seen_by_{pk}": ExpressionWrapper(
            Q(pk__in=raid_item_list(user=reader).values("pk")), output_field=BooleanField()
        )
        for pk, reader in readers.items()
    }
    engagement_ids = {c.engagement_id for c in channels}
    stakeholder_ids = {c.stakeholder_id for c in channels}
    by_pair: dict[tuple[int, int], dict[int, tuple[RaidItem, frozenset[int]]]] = defaultdict(dict)
    # One row per item and person concerned; the raiser counts as concerned too.
    rows = (
        RaidItem.objects.filter(engagement_id__in=engagement_ids)
        .filter(Q(status=RaidItem.Status.OPEN) | Q(kind=RaidKind.DECISION))
        .annotate(concerned_id=F("stakeholders"), **seen)
        .filter(Q(concerned_id__in=stakeholder_ids) | Q(raised_by_id__in=stakeholder_ids))
        .filter(_any_of(seen))
        .order_by()
    )
    for item in rows:
        may_see = frozenset(pk for pk in readers if getattr(item, f"seen_by_{pk}"))
        for person in {getattr(item, "concerned_id", None), item.raised_by_id}:
            if person in stakeholder_ids:
                by_pair[(item.engagement_id, person)].setdefault(item.pk, (item, may_see))
    return {pair: list(items.values()) for pair, items in by_pair.items()}


def _any_of(columns: Mapping[str, Any]) -> Q:
    rows = Q(pk__in=[])
    for name in columns:
        rows |= Q(**{name: True})
    return rows


def _raid_for(
    items: list[tuple[RaidItem, frozenset[int]]],
    *,
    viewer: Any,
    last: CheckIn | None,
    as_of: datetime,
) -> tuple[list[BriefRaidItem], int]:
    """What this reader may see of one person's items, open ones first and overdue first, capped."""
    today = as_of.astimezone(_zone(viewer)).date()
    since = last.occurred_at.astimezone(_zone(viewer)).date() if last is not None else None
    last_id = last.pk if last is not None else None
    lines = []
    for item, may_see in items:
        if viewer.pk not in may_see:
            continue
        # A decision taken before the last meeting, or at it (its decisions already head the brief).
        if (
            item.kind == RaidKind.DECISION
            and since is not None
            and (item.decided_on is None or item.decided_on < since or item.check_in_id == last_id)
        ):
            continue
        lines.append(BriefRaidItem(item=item, overdue=item.is_overdue(today=today)))

    def order(line: BriefRaidItem) -> tuple[bool, bool, bool, date, int]:
        item = line.item
        return (
            item.status != RaidItem.Status.OPEN,
            not line.overdue,
            item.kind == RaidKind.DECISION,
            item.due_date or date.max,
            -item.pk,
        )

    lines.sort(key=order)
    return lines[:BRIEF_LIST_LIMIT], max(0, len(lines) - BRIEF_LIST_LIMIT)


def meeting_briefs(
    *, channels: Sequence[Channel], viewers: Mapping[int, Any], as_of: datetime
) -> dict[int, MeetingBrief]:
    """The brief of each channel's next meeting, by channel id. At most six queries however many channels.

    ``channels`` come with their engagement and stakeholder loaded; ``viewers``
    names, by channel id, who reads each brief (the reminder's recipient, the
    page's user): the RAID items are those that reader may see.
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

    raid = _raid_items_by_reader(channels, viewers)

    briefs = {}
    for channel in channels:
        pair = (channel.engagement_id, channel.stakeholder_id)
        person_role = roles.get(pair)
        last = last_met(pair)
        theirs = obligations.get(pair, [])
        to_tell = [o for o in theirs if o.status == OPEN][:BRIEF_LIST_LIMIT]
        # A change still to tell them about is listed there, where it asks for something, and only there.
        listed = {o.change_request_id for o in to_tell}
        changes: dict[int, ChangeRequest] = {}
        for obligation in theirs:
            if obligation.change_request_id in listed:
                continue
            if last is None or obligation.opened_at > last.occurred_at:
                changes.setdefault(obligation.change_request_id, obligation.change_request)
        raid_lines, raid_more = _raid_for(
            raid.get(pair, []), viewer=viewers[channel.pk], last=last, as_of=as_of
        )
        briefs[channel.pk] = MeetingBrief(
            channel=channel,
            role=person_role,
            last_check_in=last,
            they_owe=_overdue_first(owed.get(pair, []), as_of),
            team_owes=_overdue_first(team.get(pair, []), as_of),
            obligations=to_tell,
            changes=list(changes.values())[:BRIEF_LIST_LIMIT],
            raid_items=raid_lines,
            raid_more=raid_more,
            as_of=as_of,
        )
    return briefs


def meeting_brief_get_for_user(*, user: Any, channel_id: Any, as_of: datetime) -> MeetingBrief:
    """The brief of one channel's next meeting; 404 when the channel is outside the user's scope."""
    channel = get_or_404(
        Channel.objects.visible_to(user).select_related("engagement__client", "stakeholder", "owner"),
        id=channel_id,
    )
    return meeting_briefs(channels=[channel], viewers={channel.pk: user}, as_of=as_of)[channel.pk]
