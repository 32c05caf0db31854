"""Reads of the workspace pages that combine apps: the stakeholder register and person page, search, trends.

Each starts from the scoped selectors of the apps it combines, so visibility is
decided where it always is; the communication figures come from
communications.selectors as subqueries, one query per list however long.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from communications.search_documents import CHECK_IN
from communications.selectors import (
    check_in_attendee_names,
    relationship_last_contact,
    relationship_latest_sentiment,
    relationship_next_due,
    relationship_overdue_follow_ups,
)
from engagements.models import Engagement
from engagements.selectors import (
    client_get_for_user,
    client_list,
    engagement_get_for_user,
    engagement_list,
    membership_list,
)
from pmaas.scoping import get_or_404
from search.registry import DocumentKind, kind_list
from search.selectors import SearchHit, search_document_list
from stakeholders.models import Stakeholder, StakeholderRole
from stakeholders.selectors import stakeholder_role_list


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
class SearchRow:
    hit: SearchHit
    # The engagement the hit belongs to, for its context line (None for a person).
    engagement: Engagement | None
    # For a check-in, whose title is its kind ("Video call"): who took part, so hits tell apart.
    people: str = ""


@dataclass(frozen=True)
class SearchResults:
    rows: list[SearchRow]
    page: int
    has_next: bool

    @property
    def is_empty(self) -> bool:
        return not self.rows

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.has_next else None


def search_kinds() -> list[DocumentKind]:
    """The kinds a search can be narrowed to, in the order the page offers them."""
    return kind_list()


def search_results(*, user: Any, query: str, kind: str | None = None, page: int = 1) -> SearchResults | None:
    """One page of ranked, highlighted hits the user may see (search.selectors), with their engagements.

    None for a query too short to search. A fixed number of queries whatever the
    number of hits: the user's engagements (unless they see all), the hits
    (search.selectors), and their engagements.
    """
    # Someone who sees some engagements searches among theirs from the start (search.selectors):
    # their ids as a list, from which the planner sees how few documents they hold.
    within = (
        None
        if getattr(user, "sees_all_engagements", False)
        else list(engagement_list(user=user).order_by().values_list("pk", flat=True))
    )
    found = search_document_list(user=user, query=query, kind=kind, page=page, within_engagements=within)
    if found is None:
        return None
    ids = {hit.engagement_id for hit in found.hits if hit.engagement_id is not None}
    engagements = Engagement.objects.visible_to(user).select_related("client").in_bulk(ids) if ids else {}
    check_ins = [hit.object_id for hit in found.hits if hit.kind.name == CHECK_IN.name]
    people = check_in_attendee_names(user=user, ids=check_ins) if check_ins else {}
    rows = [
        SearchRow(
            hit=hit,
            engagement=engagements.get(hit.engagement_id) if hit.engagement_id else None,
            people=people.get(hit.object_id, "") if hit.kind.name == CHECK_IN.name else "",
        )
        for hit in found.hits
    ]
    return SearchResults(rows=rows, page=found.page, has_next=found.has_next)


@dataclass(frozen=True)
class TrendSubject:
    """What a trend or heat map is about: the portfolio in scope, a client, a consultant or an engagement.

    ``engagements`` is already scoped to the user who asked; ``engagement`` is
    set only when the subject is one engagement (its heat map is by stakeholder).
    """

    kind: str
    id: int | None
    label: str
    engagements: QuerySet[Engagement]
    engagement: Engagement | None = None

    @property
    def query(self) -> dict[str, int]:
        """The query-string pair that names this subject again (links, the export)."""
        return {self.kind: self.id} if self.id is not None else {}


def trend_subject(
    *,
    user: Any,
    client_id: int | None = None,
    consultant_id: int | None = None,
    engagement_id: int | None = None,
) -> TrendSubject:
    """The engagements a trend sums for ``user``, narrowed to one subject; 404 for one outside scope.

    A consultant's are the engagements in scope they are on the team of; their
    name is read through those memberships, so nobody outside scope is named.
    A consultant's own figures are for those who see every engagement, and
    for the consultant themselves: anyone else gets 404, as on the
    consultants page. At most one query.
    """
    engagements = engagement_list(user=user)
    if engagement_id is not None:
        engagement = engagement_get_for_user(user=user, id=engagement_id)
        return TrendSubject(
            kind="engagement",
            id=engagement.pk,
            label=f"{engagement.code} · {engagement.name}",
            engagements=engagements.filter(pk=engagement.pk),
            engagement=engagement,
        )
    if client_id is not None:
        client = client_get_for_user(user=user, id=client_id)
        return TrendSubject(
            kind="client", id=client.pk, label=client.name, engagements=engagements.filter(client=client)
        )
    if consultant_id is not None:
        if not (getattr(user, "sees_all_engagements", False) or consultant_id == user.pk):
            raise Http404("No such consultant.")
        membership = membership_list(user=user).filter(user_id=consultant_id).order_by("pk").first()
        if membership is None:
            raise Http404("No such consultant.")
        return TrendSubject(
            kind="consultant",
            id=consultant_id,
            label=str(membership.user),
            engagements=engagements.filter(memberships__user_id=consultant_id),
        )
    return TrendSubject(kind="portfolio", id=None, label="All engagements you see", engagements=engagements)


def trend_subject_choices(*, user: Any) -> dict[str, list[tuple[int, str]]]:
    """The clients and consultants a trend may be narrowed to, within scope: two queries.

    Consultants are offered to those who see every engagement; anyone else may pick only themselves.
    """
    memberships = membership_list(user=user)
    if not getattr(user, "sees_all_engagements", False):
        memberships = memberships.filter(user_id=user.pk)
    consultants = (
        memberships.order_by("user__first_name", "user__last_name", "user__username", "user_id")
        .values_list("user_id", "user__first_name", "user__last_name", "user__username")
        .distinct()
    )
    return {
        "client": list(client_list(user=user).values_list("pk", "name")),
        "consultant": [
            (pk, f"{first} {last}".strip() or username) for pk, first, last, username in consultants
        ],
    }
