"""Cadence compliance across the portfolio: per engagement and per consultant, worst first."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from communications import compliance
from communications.forms.compliance import window_context, window_form
from pmaas.scoping import require_shared_section
from workspace.paging import Page, page_number, pager_links

# Rows per page of each table: the worst come first, so the first page is the one to act on.
COMPLIANCE_PAGE_SIZE = 50


@login_required
@require_GET
def compliance_portfolio(request: HttpRequest) -> HttpResponse:
    # Per-engagement and per-consultant figures are the firm's own (pmaas/sharing.py).
    require_shared_section(request.user, "communications.Occurrence")
    context = window_context(request, window_form(request.GET))
    window = context["window"]
    if window is not None:
        user = request.user
        number = page_number(request.GET)
        start = (number - 1) * COMPLIANCE_PAGE_SIZE
        engagement_rows = compliance.engagement_compliance_rows(
            user=user, window=window, start=start, stop=start + COMPLIANCE_PAGE_SIZE + 1
        )
        engagements = Page(
            rows=engagement_rows[:COMPLIANCE_PAGE_SIZE],
            number=number,
            has_next=len(engagement_rows) > COMPLIANCE_PAGE_SIZE,
        )
        owners_number = page_number(request.GET, "owners_page")
        owner_rows = compliance.compliance_rows(by="owner", user=user, window=window)
        owners_start = (owners_number - 1) * COMPLIANCE_PAGE_SIZE
        owners = Page(
            rows=owner_rows[owners_start : owners_start + COMPLIANCE_PAGE_SIZE],
            number=owners_number,
            has_next=len(owner_rows) > owners_start + COMPLIANCE_PAGE_SIZE,
        )
        context |= {
            "total": compliance.compliance_total(user=user, window=window),
            "engagement_rows": engagements.rows,
            "engagement_pages": pager_links(request.GET, engagements, "page"),
            "owner_rows": owners.rows,
            "owner_pages": pager_links(request.GET, owners, "owners_page"),
        }
    htmx = request.htmx  # type: ignore[attr-defined]
    # A history restore asks for the whole page, though htmx sends it.
    if htmx and not htmx.history_restore_request:
        return render(request, "workspace/compliance_results.html", context)
    return render(request, "workspace/compliance.html", context)


urlpatterns = [
    path("compliance/", compliance_portfolio, name="compliance_portfolio"),
]
