"""Reads of the workspace pages that combine apps: the stakeholder register and person page, search.

Each starts from the scoped selectors of the apps it combines, so visibility is
decided where it always is; the communication figures come from
communications.selectors as subqueries, one query per list however long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from communications.models import CheckIn
from communications.selectors import (
    relationship_last_contact,
    relationship_latest_sentiment,
    relationship_next_due,
    relationship_overdue_follow_ups,
)
from engagements.models import Engagement
from pmaas.scoping import get_or_404
from stakeholders.models import Stakeholder, StakeholderRole
from stakeholders.selectors import stakeholder_list, stakeholder_role_list

SEARCH_GROUP_LIMIT = 20
SEARCH_MIN_LENGTH = 2


def _with_contact(roles: QuerySet[StakeholderRole]) -> QuerySet[StakeholderRole]:
    """Each role with the last contact and next due time of its person on its engagement."""
    return roles.annotate(
        last_contact_at=relationship_last_contact(engagement="engagement_id", stakeholder="stakeholder_id"),
        next_due_at=relationship_next_due(engagement="engagement_id", stakeholder="stakeholder_id"),
    )


def stakeholder_register(*, user: Any, engagement: Engagement) -> QuerySet[StakeholderRole]:
    """The engagement's stakeholder register: one row per role, with last contact and next due.

    Last contact is the latest check-in on this engagement the person attended;
    next due is the earliest next due time of an active channel with them on it.
    """
    return _with_contact(stakeholder_role_list(user=user, engagement=engagement)).order_by(
        "stakeholder__name", "pk"
    )


def stakeholder_register_row(*, user: Any, id: int) -> StakeholderRole:
    """One row of the register, annotated like the list (for redrawing a single row)."""
    return get_or_404(_with_contact(stakeholder_role_list(user=user)), id=id)


def stakeholder_roles_of_person(
    *, user: Any, stakeholder: Stakeholder, as_of: datetime
) -> QuerySet[StakeholderRole]:
    """The person's roles on engagements the user may see, with what relationship health needs."""
    return (
        _with_contact(stakeholder_role_list(user=user).filter(stakeholder=stakeholder))
        .select_related("engagement__client")
        .annotate(
            latest_sentiment=relationship_latest_sentiment(
                engagement="engagement_id", stakeholder="stakeholder_id"
            ),
            overdue_follow_ups=relationship_overdue_follow_ups(
                engagement="engagement_id", stakeholder="stakeholder_id", as_of=as_of
            ),
        )
        .order_by("engagement__name", "pk")
    )


@dataclass(frozen=True)
class SearchGroup:
    items: list[Any]
    has_more: bool


@dataclass(frozen=True)
class SearchResults:
    engagements: SearchGroup
    stakeholders: SearchGroup
    check_ins: SearchGroup

    @property
    def is_empty(self) -> bool:
        return not (self.engagements.items or self.stakeholders.items or self.check_ins.items)


def _group(queryset: QuerySet[Any], limit: int) -> SearchGroup:
    # One row past the limit tells whether more exist without counting them all.
    rows = list(queryset[: limit + 1])
    return SearchGroup(items=rows[:limit], has_more=len(rows) > limit)


def search_results(*, user: Any, query: str, limit: int = SEARCH_GROUP_LIMIT) -> SearchResults | None:
    """Engagements, stakeholders and check-ins the user may see that mention ``query``.

    None for a query shorter than two characters: it would match nearly
    everything. Three queries, each capped at ``limit`` rows.
    """
    query = query.strip()
    if len(query) < SEARCH_MIN_LENGTH:
        return None
    engagements = (
        Engagement.objects.visible_to(user)
        .select_related("client")
        .filter(Q(code__icontains=query) | Q(name__icontains=query) | Q(client__name__icontains=query))
        .order_by("client__name", "name", "pk")
    )
    stakeholders = (
        stakeholder_list(user=user)
        .filter(
            Q(name__icontains=query)
            | Q(email__icontains=query)
            | Q(title__icontains=query)
            | Q(department__icontains=query)
        )
        .order_by("name", "pk")
    )
    check_ins = (
        CheckIn.objects.visible_to(user)
        .select_related("engagement__client")
        .filter(Q(summary__icontains=query) | Q(decisions__icontains=query))
        .order_by("-occurred_at", "-pk")
    )
    return SearchResults(
        engagements=_group(engagements, limit),
        stakeholders=_group(stakeholders, limit),
        check_ins=_group(check_ins, limit),
    )
