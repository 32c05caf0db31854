"""Check-ins and follow-ups as search documents (see search/registry.py)."""

from __future__ import annotations

from django.urls import reverse

from communications.models import CheckIn, FollowUp, RaidItem
from search.registry import DocumentKind, Part, register


def _timeline(pk: int, engagement_id: int | None) -> str:
    return reverse("engagement_timeline", kwargs={"pk": engagement_id}) + f"#check-in-{pk}"


def _follow_ups(pk: int, engagement_id: int | None) -> str:
    return reverse("follow_up_detail", kwargs={"pk": pk})


def _raid_item(pk: int, engagement_id: int | None) -> str:
    return reverse("raid_item_detail", kwargs={"pk": pk})


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
        rows=lambda: RaidItem.objects.all(),
        visible=lambda user: RaidItem.objects.visible_to(user),
        url=_raid_item,
        engagement=lambda r: r.engagement_id,
        happened_at=lambda r: r.created_at,
    )
)
