"""Trends over 26 weeks and cadence heat maps, for the portfolio, a client, a consultant or an engagement.

Firm-only: sentiment and per-consultant figures are internal, and the weekly
roll-ups they read are shared with no client (pmaas/sharing.py), so a client
user gets 404. Every figure sums roll-ups of engagements in the user's scope;
a consultant's are that person's own (communications/trends.py), shown to
those who see every engagement and to the consultant themselves.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from communications.rollups import week_start_of, weeks_ending
from communications.scheduling import occurrence_list
from communications.trends import (
    TREND_WEEKS,
    HeatRow,
    TrendWeek,
    heat_rows_by_engagement,
    heat_rows_by_stakeholder,
    trend_weeks,
)
from engagements.selectors import engagement_list
from pmaas.scoping import require_shared_section
from workspace.exports import table_response
from workspace.forms.trends import HeatMapForm, TrendSubjectForm
from workspace.selectors import TrendSubject, trend_subject, trend_subject_choices

SECTION = "communications.WeeklyRollup"
HEAT_MAP_PAGE_SIZE = 25


def _weeks(request: HttpRequest, count: int) -> list[date]:
    """``count`` Mondays ending with this week in the user's zone."""
    zone = ZoneInfo(getattr(request.user, "time_zone", "UTC") or "UTC")
    return weeks_ending(week_start_of(timezone.now(), zone), count)


def _subject(request: HttpRequest, form: TrendSubjectForm) -> TrendSubject:
    return trend_subject(user=request.user, **form.subject_ids())


def _trend_context(request: HttpRequest) -> dict[str, Any]:
    require_shared_section(request.user, SECTION)
    form = TrendSubjectForm(request.GET, choices=trend_subject_choices(user=request.user))
    subject = _subject(request, form)
    weeks = _weeks(request, TREND_WEEKS)
    if subject.kind == "consultant":
        # Their own figures, on every engagement the reader sees (also those they have left).
        trend = trend_weeks(
            engagements=engagement_list(user=request.user), weeks=weeks, consultant_id=subject.id
        )
    else:
        trend = trend_weeks(engagements=subject.engagements, weeks=weeks)
    return {"form": form, "subject": subject, "weeks": weeks, "trend": trend}


@login_required
@require_GET
def trends(request: HttpRequest) -> HttpResponse:
    context = _trend_context(request)
    trend: list[TrendWeek] = context["trend"]
    context["series"] = {
        "meetings": [week.meetings for week in trend],
        "compliance": [week.compliance_percent for week in trend],
        "overdue": [week.overdue_follow_ups for week in trend],
        "sentiment": [week.sentiment_average for week in trend],
    }
    return render(request, "workspace/trends.html", context)


@login_required
@require_GET
def trends_export(request: HttpRequest) -> HttpResponse:
    context = _trend_context(request)
    subject: TrendSubject = context["subject"]
    rows = (
        (
            subject.label,
            week.week_start.isoformat(),
            week.meetings,
            week.occurrences_planned,
            week.occurrences_due,
            week.occurrences_held_on_time,
            week.compliance_percent,
            week.occurrences_missed,
            week.overdue_follow_ups,
            week.sentiment_average,
        )
        for week in context["trend"]
    )
    return table_response(
        format="csv",
        filename=f"trends-{subject.kind}-{context['weeks'][-1].isoformat()}",
        header=(
            "subject",
            "week_start",
            "meetings",
            "planned",
            "due",
            "held_on_time",
            "compliance_percent",
            "missed",
            "overdue_follow_ups_at_week_end",
            "average_sentiment",
        ),
        rows=rows,
    )


def _heat_context(request: HttpRequest, *, paged: bool) -> dict[str, Any]:
    require_shared_section(request.user, SECTION)
    form = HeatMapForm(request.GET, choices=trend_subject_choices(user=request.user))
    subject = _subject(request, form)
    weeks = _weeks(request, form.week_count())
    page = None
    rows: list[HeatRow]
    if subject.engagement is not None:
        rows = heat_rows_by_stakeholder(
            occurrences=occurrence_list(user=request.user), engagement=subject.engagement, weeks=weeks
        )
    else:
        # Ordered by the code, which is unique and indexed, so pages never repeat or skip a row. A row
        # is labelled with the code and name alone: whole rows cost a whole firm's export a third of its time.
        engagements = subject.engagements.select_related(None).only("pk", "code", "name").order_by("code")
        if paged:
            page = Paginator(engagements, HEAT_MAP_PAGE_SIZE).get_page(request.GET.get("page"))
            shown = list(page.object_list)
        else:
            shown = list(engagements)
        rows = heat_rows_by_engagement(
            engagements=shown,
            weeks=weeks,
            consultant_id=subject.id if subject.kind == "consultant" else None,
            all_of=None if paged else subject.engagements,
        )
    return {
        "form": form,
        "subject": subject,
        "weeks": weeks,
        "rows": rows,
        "page": page,
        "row_noun": "stakeholder" if subject.engagement is not None else "engagement",
    }


@login_required
@require_GET
def cadence_heat_map(request: HttpRequest) -> HttpResponse:
    return render(request, "workspace/cadence_heat_map.html", _heat_context(request, paged=True))


@login_required
@require_GET
def cadence_heat_map_export(request: HttpRequest) -> HttpResponse:
    context = _heat_context(request, paged=False)
    rows = (
        (row.label, cell.week_start.isoformat(), cell.planned, cell.held, cell.missed, cell.state)
        for row in context["rows"]
        for cell in row.cells
    )
    return table_response(
        format="csv",
        filename=f"cadence-{context['subject'].kind}-{context['weeks'][-1].isoformat()}",
        header=(context["row_noun"], "week_start", "planned", "held", "missed", "state"),
        rows=rows,
    )


urlpatterns = [
    path("trends/", trends, name="trends"),
    path("trends/export.csv", trends_export, name="trends_export"),
    path("trends/cadence/", cadence_heat_map, name="cadence_heat_map"),
    path("trends/cadence/export.csv", cadence_heat_map_export, name="cadence_heat_map_export"),
]
