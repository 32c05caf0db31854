"""Reads of stakeholders and their roles, always through visible_to()."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Case, Count, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from accounts.models import User
from engagements.models import Engagement, Membership
from pmaas.scoping import get_or_404
from stakeholders.models import Stakeholder, StakeholderRole


def stakeholder_list(*, user: Any) -> QuerySet[Stakeholder]:
    return Stakeholder.objects.visible_to(user).select_related("client").order_by("name")


def stakeholder_get_for_user(*, user: Any, id: int) -> Stakeholder:
    return get_or_404(stakeholder_list(user=user), id=id)


def stakeholder_role_list(*, user: Any, engagement: Engagement | None = None) -> QuerySet[StakeholderRole]:
    roles = StakeholderRole.objects.visible_to(user).select_related(
        "engagement", "stakeholder", "relationship_owner"
    )
    if engagement is not None:
        roles = roles.filter(engagement=engagement)
    return roles


def stakeholder_role_get_for_user(*, user: Any, id: int) -> StakeholderRole:
    return get_or_404(stakeholder_role_list(user=user), id=id)


def stakeholder_has_role(*, stakeholder: Stakeholder, engagement: Engagement) -> bool:
    return StakeholderRole.objects.filter(stakeholder=stakeholder, engagement=engagement).exists()


# The communication rows (check-ins, channels, follow-ups) live in the
# communications app, which depends on this one. Their models are reached
# through this app's reverse relations, never imported, so the dependency
# keeps pointing communications → stakeholders.
def _related_model(name: str) -> Any:
    return Stakeholder._meta.get_field(name).related_model


def _last_contact_at() -> Subquery:
    check_ins = _related_model("check_ins")._default_manager.filter(
        attendees=OuterRef("stakeholder_id"), engagement=OuterRef("engagement_id")
    )
    return Subquery(check_ins.order_by("-occurred_at").values("occurred_at")[:1])


def _latest_sentiment() -> Subquery:
    check_ins = _related_model("check_ins")._default_manager.filter(
        attendees=OuterRef("stakeholder_id"), engagement=OuterRef("engagement_id")
    )
    return Subquery(check_ins.order_by("-occurred_at", "-pk").values("sentiment")[:1])


def _next_due_at() -> Subquery:
    channels = _related_model("channels")._default_manager.filter(
        stakeholder=OuterRef("stakeholder_id"),
        engagement=OuterRef("engagement_id"),
        status="active",
        next_due_at__isnull=False,
    )
    return Subquery(channels.order_by("next_due_at").values("next_due_at")[:1])


def _overdue_follow_ups(*, as_of: datetime) -> Coalesce:
    overdue = (
        _related_model("follow_ups")
        ._default_manager.overdue(as_of=as_of)
        .filter(owner_stakeholder=OuterRef("stakeholder_id"), engagement=OuterRef("engagement_id"))
        .order_by()
        .values("owner_stakeholder")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(overdue), 0)


def stakeholder_register(*, user: Any, engagement: Engagement) -> QuerySet[StakeholderRole]:
    """The engagement's stakeholder register: one row per role, with last contact and next due.

    Last contact is the latest check-in on this engagement the person attended;
    next due is the earliest next due time of an active channel with them on it.
    """
    return (
        stakeholder_role_list(user=user, engagement=engagement)
        .annotate(last_contact_at=_last_contact_at(), next_due_at=_next_due_at())
        .order_by("stakeholder__name", "pk")
    )


def stakeholder_register_row(*, user: Any, id: int) -> StakeholderRole:
    """One row of the register, annotated like the list (for redrawing a single row)."""
    return get_or_404(
        stakeholder_role_list(user=user).annotate(
            last_contact_at=_last_contact_at(), next_due_at=_next_due_at()
        ),
        id=id,
    )


def stakeholder_role_candidates(*, user: Any, engagement: Engagement) -> QuerySet[Stakeholder]:
    """People of the engagement's client the user may see who have no role on it yet."""
    return (
        Stakeholder.objects.visible_to(user)
        .filter(client_id=engagement.client_id)
        .exclude(roles__engagement=engagement)
        .order_by("name")
    )


def stakeholder_role_owner_choices(*, user: Any, engagement: Engagement) -> QuerySet[User]:
    """Who may own a relationship on the engagement: its team, as the user may see it."""
    team = Membership.objects.visible_to(user).filter(engagement=engagement).values("user_id")
    return User.objects.filter(pk__in=team).order_by("first_name", "last_name", "username")


def stakeholder_roles_of_person(
    *, user: Any, stakeholder: Stakeholder, as_of: datetime
) -> QuerySet[StakeholderRole]:
    """The person's roles on engagements the user may see, with what relationship health needs."""
    return (
        stakeholder_role_list(user=user)
        .filter(stakeholder=stakeholder)
        .select_related("engagement__client")
        .annotate(
            last_contact_at=_last_contact_at(),
            next_due_at=_next_due_at(),
            latest_sentiment=_latest_sentiment(),
            overdue_follow_ups=_overdue_follow_ups(as_of=as_of),
        )
        .order_by("engagement__name", "pk")
    )


def stakeholder_interactions(*, user: Any, stakeholder: Stakeholder) -> QuerySet[Any]:
    """Check-ins the person attended, on engagements the user may see, newest first."""
    return stakeholder.check_ins.visible_to(user).select_related("engagement").order_by("-occurred_at", "-pk")


def stakeholder_follow_ups(*, user: Any, stakeholder: Stakeholder, as_of: datetime) -> QuerySet[Any]:
    """Follow-ups the person owes, on engagements the user may see: open first, by due time.

    Each carries ``is_overdue`` at ``as_of``, by the follow-ups' own rule.
    """
    return (
        stakeholder.follow_ups.visible_to(user)
        .with_is_overdue(as_of=as_of)
        .select_related("engagement")
        .order_by(
            Case(When(status="open", then=Value(0)), default=Value(1)),
            "due_at",
            "pk",
        )
    )


def stakeholder_can_edit(*, user: Any, stakeholder: Stakeholder) -> bool:
    """A person's details may be changed by whoever may change one of the engagements they are on."""
    if not (user is not None and user.is_authenticated and user.is_active):
        return False
    if getattr(user, "sees_all_engagements", False):
        return True
    if not getattr(user, "is_firm_member", False):
        return False
    return StakeholderRole.objects.editable_by(user).filter(stakeholder=stakeholder).exists()


def stakeholder_role_open_work(*, role: StakeholderRole) -> tuple[int, int]:
    """Open follow-ups the person owes and active channels with them, on the role's engagement."""
    stakeholder = role.stakeholder
    follow_ups = stakeholder.follow_ups.filter(engagement_id=role.engagement_id, status="open").count()
    channels = stakeholder.channels.filter(engagement_id=role.engagement_id, status="active").count()
    return follow_ups, channels
