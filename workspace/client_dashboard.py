"""The client PMO lead's home: her organisation's engagements as the client-visibility policy shows them.

Every list starts from the scoped selectors (``visible_to``), so a client user
reads only her own client's engagements and, of them, only what
pmaas/sharing.py shares: status and dates, health where the firm shares it,
milestones, change requests awaiting a decision, what her people owe and the
team items shared with her, and the meeting notes marked shared. The firm's
assessments (sentiment, notes about people, influence and interest, silence,
per-consultant figures) never reach these reads. The communication plan is
not shared with clients, so the page lists no planned meetings. Each list is
capped and read in one query: the page's query count is fixed, however many
engagements the client has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from django.db.models import Count

from communications.models import FollowUp, FollowUpQuerySet
from communications.selectors import check_in_list, follow_up_list_with_rights
from engagements.models import ChangeRequestQuerySet, MilestoneQuerySet
from engagements.selectors import change_request_list, engagement_list, milestone_list

# How many rows each list shows; past that the page says there are more and where to find them.
ENGAGEMENT_LIMIT = 25
MILESTONE_LIMIT = 10
CHANGE_REQUEST_LIMIT = 10
FOLLOW_UP_LIMIT = 20
MEETING_NOTES_LIMIT = 10


@dataclass(frozen=True)
class Capped:
    """The first rows of a list, and whether more exist beyond them."""

    rows: list[Any]
    more: bool


def _capped(rows: Any, limit: int) -> Capped:
    # One row past the cap tells "more" without a COUNT over the whole list.
    fetched = list(rows[: limit + 1])
    return Capped(rows=fetched[:limit], more=len(fetched) > limit)


@dataclass(frozen=True)
class ClientDashboard:
    engagements: Capped
    milestones: Capped
    change_requests: Capped
    follow_ups: Capped
    overdue_follow_ups: int
    meeting_notes: Capped
    today: date


def client_dashboard(*, user: Any, as_of: datetime, today: date) -> ClientDashboard:
    """Everything her home shows, in a fixed number of queries whatever the size of the client's portfolio.

    Meant for client users; for anyone else it reads the same lists in their own scope.
    """
    engagements = engagement_list(user=user).order_by("client__name", "name", "pk")
    milestones = cast(MilestoneQuerySet, milestone_list(user=user)).open().order_by("due_on", "pk")
    change_requests = (
        cast(ChangeRequestQuerySet, change_request_list(user=user)).undecided().order_by("raised_on", "pk")
    )
    # What her people owe, and team items shared with her: soonest due first, so the overdue lead.
    owed = (
        cast(FollowUpQuerySet, follow_up_list_with_rights(user=user, as_of=as_of))
        .open()
        .order_by("due_at", "pk")
    )
    overdue = owed.aggregate(n=Count("pk", filter=FollowUp.overdue_condition(as_of=as_of)))["n"]
    notes = check_in_list(user=user).filter(shared_with_client=True).order_by("-occurred_at", "-pk")
    return ClientDashboard(
        engagements=_capped(engagements, ENGAGEMENT_LIMIT),
        milestones=_capped(milestones, MILESTONE_LIMIT),
        change_requests=_capped(change_requests, CHANGE_REQUEST_LIMIT),
        follow_ups=_capped(owed, FOLLOW_UP_LIMIT),
        overdue_follow_ups=overdue,
        meeting_notes=_capped(notes, MEETING_NOTES_LIMIT),
        today=today,
    )
