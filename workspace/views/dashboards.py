"""The firm's dashboards: the portfolio, who needs attention, the consultants; each also as CSV or XLSX.

The firm's own view (pmaas/sharing.py shares none of these figures): a client
user gets 404, and the consultants page answers only to those who see every
engagement. An export (``?format=csv`` or ``xlsx``) holds every row the page's
filters select, in the page's scope and order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.services import user_remember_filters
from engagements.selectors import client_list, engagement_lead_choices
from pmaas.scoping import require_shared_section
from workspace import dashboards
from workspace.exports import FORMATS, table_response
from workspace.forms.dashboards import (
    PORTFOLIO_FILTERS,
    PORTFOLIO_SORT_LABELS,
    AttentionForm,
    ConsultantSortForm,
    PortfolioFilterForm,
)

PORTFOLIO_PAGE = "portfolio"


def _export_format(request: HttpRequest) -> str:
    wanted = request.GET.get("format", "")
    return wanted if wanted in FORMATS else ""


def _portfolio_data(request: HttpRequest) -> QueryDict:
    """The request's filters, or the user's remembered ones when the request names none."""
    if any(name in request.GET for name in PORTFOLIO_FILTERS):
        return request.GET
    remembered = QueryDict(mutable=True)
    for name, value in (request.user.page_filters or {}).get(PORTFOLIO_PAGE, {}).items():  # type: ignore[union-attr]
        remembered[name] = value
    if "page" in request.GET:
        remembered["page"] = request.GET["page"]
    return remembered


@login_required
@require_GET
def portfolio(request: HttpRequest) -> HttpResponse:
    # Compliance, sentiment and assessments per engagement are the firm's own.
    require_shared_section(request.user, "communications.Occurrence")
    user = request.user
    if "clear" in request.GET:
        user_remember_filters(user=user, page=PORTFOLIO_PAGE, filters={})  # type: ignore[arg-type]
        return redirect("portfolio")
    as_of = timezone.now()
    data = _portfolio_data(request)
    form = PortfolioFilterForm(data, clients=client_list(user=user), leads=engagement_lead_choices(user=user))
    if not form.is_valid():
        # "Clear filters" stays offered: remembered filters may name a client no longer in scope.
        refused = {"form": form, "page": None, "filtered": True}
        return render(request, "workspace/portfolio.html", refused, status=400)
    user_remember_filters(user=user, page=PORTFOLIO_PAGE, filters=form.remembered())  # type: ignore[arg-type]
    filters = form.filters()
    export = _export_format(request)
    if export:
        return _portfolio_export(
            export, dashboards.portfolio_all(user=user, as_of=as_of, filters=filters), as_of
        )
    page = dashboards.portfolio_page(
        user=user, as_of=as_of, filters=filters, number=form.page_number, size=dashboards.PAGE_SIZE
    )
    filter_query = QueryDict(mutable=True)
    filter_query.update(form.remembered())
    context: dict[str, Any] = {
        "form": form,
        "page": page,
        "as_of": as_of,
        "filters": filters,
        "filtered": bool(form.remembered()),
        "filter_query": filter_query.urlencode(),
        "sort_label": PORTFOLIO_SORT_LABELS[filters.sort] + (", reversed" if filters.descending else ""),
    }
    return render(request, "workspace/portfolio.html", context)


def _sponsor_in_words(sponsor: dashboards.SponsorContact) -> str:
    return f"{sponsor.name} ({sponsor.last_met_in_words}{', past cadence' if sponsor.past_cadence else ''})"


def _portfolio_export(export: str, rows: list[dashboards.PortfolioRow], as_of: datetime) -> HttpResponse:
    header = [
        "Code",
        "Engagement",
        "Client",
        "Lead",
        "Status",
        "Health",
        "Top factor",
        "Compliance 4 weeks (%)",
        "Compliance 12 weeks (%)",
        "Overdue follow-ups",
        "Oldest overdue (days)",
        "Sponsors (last met)",
        "Next milestone",
        "Milestone due",
        "Milestone slips",
        "Pending scope changes",
        "Sentiment, last 30 days",
        "Sentiment, 30 days before",
        "Sentiment trend",
    ]
    table = []
    for row in rows:
        engagement = row.engagement
        factor = None if engagement.health_is_overridden else engagement.top_health_factor
        sponsors = "; ".join(_sponsor_in_words(sponsor) for sponsor in row.sponsors)
        table.append(
            [
                engagement.code,
                engagement.name,
                engagement.client.name,
                row.lead_name,
                engagement.get_status_display(),
                row.health,
                factor["label"] if factor else "",
                dashboards.percent(row.compliance_4),
                dashboards.percent(row.compliance_12),
                row.overdue_count,
                row.oldest_overdue_days,
                sponsors,
                row.next_milestone_name,
                row.next_milestone_due,
                row.milestone_slips if row.next_milestone_due else None,
                row.pending_changes,
                None if row.sentiment_recent is None else round(row.sentiment_recent, 2),
                None if row.sentiment_previous is None else round(row.sentiment_previous, 2),
                row.sentiment_trend,
            ]
        )
    return table_response(format=export, filename=f"portfolio-{as_of:%Y-%m-%d}", header=header, rows=table)


@login_required
@require_GET
def attention(request: HttpRequest) -> HttpResponse:
    require_shared_section(request.user, "communications.SilenceFlag")
    user = request.user
    as_of = timezone.now()
    form = AttentionForm(request.GET)
    if not form.is_valid():
        return render(request, "workspace/attention.html", {"form": form, "sections": []}, status=400)
    export = _export_format(request)
    if export:
        items = dashboards.attention_all(user=user, as_of=as_of)
        return table_response(
            format=export,
            filename=f"attention-{as_of:%Y-%m-%d}",
            header=["Section", "Engagement", "Person", "Why", "Action", "Severity", "Link"],
            rows=[
                [
                    section,
                    i.engagement_code,
                    i.person,
                    i.why_in_full,
                    i.action,
                    i.severity,
                    request.build_absolute_uri(i.url),
                ]
                for section, i in items
            ],
        )
    only = form.cleaned_data.get("section") or ""
    number = form.page_number if only else 1
    size = dashboards.PAGE_SIZE if only else dashboards.ATTENTION_CAP
    sections = dashboards.attention_sections(user=user, as_of=as_of, only=only, number=number, size=size)
    context = {
        "form": form,
        "sections": sections,
        "only": only,
        "number": number,
        "drop_window_days": settings.RELATIONSHIP_DROP_WINDOW_DAYS,
    }
    return render(request, "workspace/attention.html", context)


@login_required
@require_GET
def consultants(request: HttpRequest) -> HttpResponse:
    # Per-consultant figures are for those who answer for the whole firm.
    if not getattr(request.user, "sees_all_engagements", False):
        raise Http404("No such page.")
    user = request.user
    as_of = timezone.now()
    form = ConsultantSortForm(request.GET)
    if not form.is_valid():
        return render(request, "workspace/consultants.html", {"form": form, "page": None}, status=400)
    sort, descending = form.sort_key()
    export = _export_format(request)
    if export:
        people = dashboards.consultant_rows(
            list(dashboards.consultants_queryset(user=user, as_of=as_of, sort=sort, descending=descending))
        )
        return table_response(
            format=export,
            filename=f"consultants-{as_of:%Y-%m-%d}",
            header=[
                "Consultant",
                "Username",
                "Running engagements",
                "Due (12 weeks)",
                "Held on time",
                "Compliance (%)",
                "Overdue follow-ups owed",
            ],
            rows=[
                [
                    str(r.user),
                    r.user.username,
                    r.engagements,
                    r.compliance.due,
                    r.compliance.held_on_time,
                    dashboards.percent(r.compliance),
                    r.overdue,
                ]
                for r in people
            ],
        )
    page = dashboards.consultants_page(
        user=user,
        as_of=as_of,
        sort=sort,
        descending=descending,
        number=form.page_number,
        size=dashboards.PAGE_SIZE,
    )
    return render(request, "workspace/consultants.html", {"form": form, "page": page})


urlpatterns = [
    path("portfolio/", portfolio, name="portfolio"),
    path("attention/", attention, name="attention"),
    path("consultants/", consultants, name="consultants"),
]
