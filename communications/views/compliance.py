"""Cadence compliance across the portfolio: per engagement and per consultant, worst first."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from communications import compliance
from communications.forms.compliance import ComplianceWindowForm, window_form


def window_context(request: HttpRequest, form: ComplianceWindowForm) -> dict[str, Any]:
    """The chosen window, or None while the form has errors (the page then shows them, not figures)."""
    if form.is_bound and not form.is_valid():
        return {"form": form, "window": None, "window_query": ""}
    window = form.window(as_of=timezone.now(), zone=timezone.get_current_timezone())
    # Carried by links and htmx actions on the page, so they keep the chosen window.
    query = request.GET.urlencode() if form.is_bound else ""
    return {"form": form, "window": window, "window_query": query}


@login_required
@require_GET
def compliance_portfolio(request: HttpRequest) -> HttpResponse:
    context = window_context(request, window_form(request.GET))
    window = context["window"]
    if window is not None:
        user = request.user
        context |= {
            "total": compliance.compliance_total(user=user, window=window),
            "engagement_rows": compliance.engagement_compliance_rows(user=user, window=window),
            "owner_rows": compliance.compliance_rows(by="owner", user=user, window=window),
        }
    htmx = request.htmx  # type: ignore[attr-defined]
    # A history restore asks for the whole page, though htmx sends it.
    if htmx and not htmx.history_restore_request:
        return render(request, "communications/compliance_results.html", context)
    return render(request, "communications/compliance.html", context)


urlpatterns = [
    path("compliance/", compliance_portfolio, name="compliance_portfolio"),
]
