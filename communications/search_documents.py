"""Check-ins and follow-ups as search documents (see search/registry.py)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from django.urls import reverse

from communications.models import CheckIn, FollowUp, RaidItem, RaidKind
from search.registry import DocumentKind, Part, register


def _timeline(pk: int, engagement_id: int | None) -> str:
    return reverse("engagement_timeline", kwargs={"pk": engagement_id}) + f"#check-in-{pk}"


def _follow_ups(pk: int, engagement_id: int | None) -> str:
    return reverse("follow_up_detail", kwargs={"pk": pk})


def _raid_item(pk: int, engagement_id: int | None) -> str:
    return reverse("raid_item_detail", kwargs={"pk": pk})


def raid_item_day(item: RaidItem) -> date:
    """The day a RAID item is dated by in search: a decision's day, else the day it was raised.

    The day raised is the day it was recorded in the client's time zone, as a
    check-in's decisions are dated (communications/raid.py); its review,
    validation or due day lies ahead and says nothing of when it came up.
    """
    if item.kind == RaidKind.DECISION and item.decided_on is not None:
        return item.decided_on
    return item.created_at.astimezone(ZoneInfo(item.engagement.client.time_zone)).date()


CHECK_IN = register(
    DocumentKind(
        name="check_in",
        label="Check-in",
        plural="Check-ins",
        model=CheckIn,
        parts=(
            Part("kind_display", lambda c: c.get_kind_display(), in_title=True),
            Part("summary", lambda c: c.summary),
            Part("decisions", lambda c: c.decisions),
        ),
        rows=lambda: CheckIn.objects.all(),
        visible=lambda user: CheckIn.objects.visible_to(user),
        url=_timeline,
        engagement=lambda c: c.engagement_id,
        happened_at=lambda c: c.occurred_at,
    )
)

FOLLOW_UP = register(
    DocumentKind(
        name="follow_up",
        label="Follow-up",
        plural="Follow-ups",
        model=FollowUp,
        parts=(
            Part("title", lambda f: f.title, in_title=True),
            Part("details", lambda f: f.details),
            Part("owner_name", lambda f: f.owner_name),
        ),
        rows=lambda: FollowUp.objects.select_related("owner_user", "owner_stakeholder"),
        visible=lambda user: FollowUp.objects.visible_to(user),
        url=_follow_ups,
        engagement=lambda f: f.engagement_id,
        happened_at=lambda f: f.due_at,
    )
)

RAID_ITEM = register(
    DocumentKind(
        name="raid_item",
        label="RAID item",
        plural="RAID items",
        model=RaidItem,
        parts=(
            Part("title", lambda r: r.title, in_title=True),
            Part("description", lambda r: r.description),
            Part("mitigation", lambda r: r.mitigation),
        ),
        rows=lambda: RaidItem.objects.select_related("engagement__client"),
        visible=lambda user: RaidItem.objects.visible_to(user),
        url=_raid_item,
        engagement=lambda r: r.engagement_id,
        happened_on=raid_item_day,
    )
)
