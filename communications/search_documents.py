"""Check-ins and follow-ups as search documents (see search/registry.py)."""

from __future__ import annotations

from django.urls import reverse

from communications.models import CheckIn, FollowUp
from search.registry import DocumentKind, Part, register


def _timeline(pk: int, engagement_id: int | None) -> str:
    return reverse("engagement_timeline", kwargs={"pk": engagement_id}) + f"#check-in-{pk}"


def _follow_ups(pk: int, engagement_id: int | None) -> str:
    return reverse("engagement_follow_ups", kwargs={"pk": engagement_id}) + f"#follow-up-{pk}"


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
