"""The timeline of an engagement: its check-ins newest first, filtered by stakeholder and kind."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from communications import selectors
from communications.forms.plan import TimelineFilterForm
from engagements.selectors import engagement_get_for_user

TIMELINE_PAGE_SIZE = 25


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
    page = Paginator(check_ins, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "engagement": engagement,
        "tab": "timeline",
        "form": form,
        "page": page,
        "filtered": stakeholder_id is not None or kind is not None,
    }
    htmx = request.htmx  # type: ignore[attr-defined]
    # A history restore asks for the whole page, though htmx sends it.
    if htmx and not htmx.history_restore_request:
        return render(request, "communications/timeline_list.html", context)
    return render(request, "communications/timeline.html", context)


urlpatterns = [
    path("engagements/<int:pk>/timeline/", engagement_timeline, name="engagement_timeline"),
]
