"""Reads of the workspace pages that combine apps: search.

Each starts from the scoped selectors of the apps it combines, so visibility is
decided where it always is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from communications.models import CheckIn
from engagements.models import Engagement
from stakeholders.selectors import stakeholder_list

SEARCH_GROUP_LIMIT = 20
SEARCH_MIN_LENGTH = 2


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
