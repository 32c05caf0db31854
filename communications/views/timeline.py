"""The timeline of an engagement: its check-ins newest first, filtered by stakeholder and kind.

Status updates mailed to a stakeholder (outbound) and their acknowledgements
(inbound) are contact too and show among the check-ins, each on the page
whose check-ins it falls between; they are not meetings, so a filter by
meeting kind leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from communications import selectors
from communications.forms.plan import TimelineFilterForm
from communications.models import CheckIn
from engagements.models import Engagement
from engagements.policy import Action, engagement_standing, standing_allows
from engagements.selectors import engagement_get_for_user
from pmaas.scoping import parse_id

TIMELINE_PAGE_SIZE = 25


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    check_in: CheckIn | None = None
    contact: selectors.UpdateContact | None = None
    may_edit: bool = False
    may_delete: bool = False


def _entries(
    request: HttpRequest,
    engagement: Engagement,
    page: Page[CheckIn],
    check_ins: QuerySet[CheckIn],
    *,
    stakeholder_id: int | None,
    kind: str | None,
) -> list[TimelineEntry]:
    """The page's check-ins with the update contacts after the next page's first check-in.

    The first page has no upper bound and the last no lower one, so every
    contact shows on exactly one page. One query for the next page's first
    check-in (on every page, so a page's query count is fixed) and one for
    the contacts.
    """
    rows = list(page.object_list)
    standing = engagement_standing(user=request.user, engagement=engagement)
    entries = [
        TimelineEntry(
            at=check_in.occurred_at,
            check_in=check_in,
            may_edit=standing_allows(
                standing, Action.EDIT_CHECK_IN, user=request.user, author_id=check_in.logged_by_id
            ),
            may_delete=standing_allows(standing, Action.DELETE_CHECK_IN, user=request.user),
        )
        for check_in in rows
    ]
    end = (page.number - 1) * TIMELINE_PAGE_SIZE + len(rows)
    following = list(check_ins.values_list("occurred_at", flat=True)[end : end + 1])
    if kind:
        return entries
    contacts = selectors.update_contacts(
        user=request.user,
        engagement=engagement,
        stakeholder_id=stakeholder_id,
        after=following[0] if following else None,
        until=rows[0].occurred_at if rows and page.number > 1 else None,
    )
    entries += [TimelineEntry(at=contact.at, contact=contact) for contact in contacts]
    # Stable: check-ins keep their order among themselves.
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def _page_of(check_ins: QuerySet[CheckIn], check_in_id: int | None) -> int:
    """The page holding the check-in a link names (``?check_in=``), so its anchor lands; one query."""
    target = check_ins.filter(pk=check_in_id).values("occurred_at", "pk").first() if check_in_id else None
    if target is None:
        return 1
    newer = check_ins.filter(
        Q(occurred_at__gt=target["occurred_at"]) | Q(occurred_at=target["occurred_at"], pk__gt=target["pk"])
    ).count()
    return newer // TIMELINE_PAGE_SIZE + 1


@login_required
@require_GET
def engagement_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    form = TimelineFilterForm(
        request.GET,
        stakeholders=selectors.channel_stakeholder_choices(user=request.user, engagement=engagement),
    )
    stakeholder_id, kind = None, None
    if form.is_valid():
        stakeholder = form.cleaned_data["stakeholder"]
        stakeholder_id = stakeholder.pk if stakeholder else None
        kind = form.cleaned_data["kind"] or None
    check_ins = selectors.check_in_timeline(
        user=request.user, engagement=engagement, stakeholder_id=stakeholder_id, kind=kind
    )
    target_id = parse_id(request.GET.get("check_in"))
    page_number = request.GET.get("page") or _page_of(check_ins, target_id)
    page = Paginator(check_ins, TIMELINE_PAGE_SIZE).get_page(page_number)
    entries = _entries(request, engagement, page, check_ins, stakeholder_id=stakeholder_id, kind=kind)
    context = {
        "entries": entries,
        # Follow-ups still open past their due time are marked overdue, as on the follow-ups tab.
        "as_of": timezone.now(),
        # A link to one check-in (a correction's redirect among them) opens the page scrolled to it,
        # past the top where messages go: they are shown in its entry instead (base.html).
        "messages_at": target_id if any(e.check_in and e.check_in.pk == target_id for e in entries) else None,
        "engagement": engagement,
        "tab": "timeline",
        "form": form,
        "page": page,
        "filtered": stakeholder_id is not None or kind is not None,
        "deletions": selectors.check_in_deletion_list(user=request.user, engagement=engagement),
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    # A history restore asks for the whole page, though htmx sends it.
    if htmx and not htmx.history_restore_request:
        return render(request, "communications/timeline_list.html", context)
    return render(request, "communications/timeline.html", context)


urlpatterns = [
    path("engagements/<int:pk>/timeline/", engagement_timeline, name="engagement_timeline"),
]
