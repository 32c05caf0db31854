"""Reads of stakeholders and their roles, always through visible_to()."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

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


def stakeholder_can_edit(*, user: Any, stakeholder: Stakeholder) -> bool:
    """A person's details may be changed by whoever may change one of the engagements they are on."""
    if not (user is not None and user.is_authenticated and user.is_active):
        return False
    if getattr(user, "sees_all_engagements", False):
        return True
    if not getattr(user, "is_firm_member", False):
        return False
    return StakeholderRole.objects.editable_by(user).filter(stakeholder=stakeholder).exists()
