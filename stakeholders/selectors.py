"""Reads of stakeholders and their roles, always through visible_to()."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from engagements.models import Engagement
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
