"""The RAID log of an engagement: its tab (filters, pages, the risk matrix), CSV export, and an item's pages.

Every read goes through ``selectors.raid_item_list`` (a client user sees only
items shared with clients; anything else is 404), every write through
``communications.raid``. Each form posts and redirects, so nothing needs
JavaScript.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from communications import raid, selectors
from communications.forms.raid import (
    AssumptionValidateForm,
    IssueToChangeRequestForm,
    RaidFilterForm,
    RaidItemForm,
    RiskReviewForm,
    TransitionForm,
)
from communications.models import RaidItem, RaidKind
from engagements.models import Engagement
from engagements.selectors import engagement_can_edit, engagement_get_for_user
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors
from stakeholders.selectors import stakeholder_list


def _filter_form(request: HttpRequest, engagement: Engagement) -> RaidFilterForm:
    return RaidFilterForm(
        request.GET,
        owners=list(selectors.check_in_team_choices(user=request.user, engagement=engagement)),
        stakeholders=list(selectors.check_in_attendee_choices(user=request.user, engagement=engagement)),
    )


def _query_without(request: HttpRequest, name: str) -> str:
    query: QueryDict = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()


@login_required
@require_GET
def engagement_raid(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    form = _filter_form(request, engagement)
    filters = form.filters()
    page = selectors.raid_log_page(
        user=request.user,
        engagement=engagement,
        filters=filters,
        after=selectors.RaidCursor.parse(request.GET.get("after")),
    )
    # The reader's own day (their zone is active), as the meeting brief judges RAID items.
    today = timezone.localdate(timezone.now())
    context = {
        "engagement": engagement,
        "tab": "raid",
        "form": form,
        "page": page,
        "overdue": {item.pk for item in page.items if item.is_overdue(today=today)},
        "matrix": selectors.raid_risk_matrix(user=request.user, engagement=engagement),
        "can_edit": engagement_can_edit(user=request.user, engagement=engagement),
        "kinds": RaidKind.choices,
        "query": _query_without(request, "after"),
        "paged": "after" in request.GET,
    }
    return render(request, "communications/raid.html", context)


# A spreadsheet runs a cell that begins with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A value as a CSV cell a spreadsheet shows as text: a leading formula character gets a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


CSV_COLUMNS = (
    "id",
    "kind",
    "title",
    "status",
    "owner",
    "stakeholders",
    "raised by",
    "likelihood",
    "impact",
    "score",
    "trend",
    "review on",
    "validate by",
    "severity",
    "due on",
    "decided by",
    "decided on",
    "shared with client",
    "description",
    "mitigation",
)


# Between the names of a cell that lists several people: a comma is part of many a name or phrase.
CSV_NAMES_SEPARATOR = "; "


def _decided_by_cell(item: RaidItem, names: list[str]) -> str:
    """Who decided, with the names of several people apart as in the stakeholders' cell.

    "Decided by" is free text ("a person or a board"); a decision filed from a
    check-in holds its attendees' names joined by commas. It is split only
    when every part is the name of a person it concerns, so a phrase typed
    with a comma is written as typed.
    """
    parts = item.decided_by.split(", ")
    if len(parts) > 1 and set(parts) <= set(names):
        return CSV_NAMES_SEPARATOR.join(parts)
    return item.decided_by


def _csv_row(item: RaidItem) -> list[str]:
    names = [s.name for s in item.stakeholders.all()]
    values = [
        item.pk,
        item.get_kind_display(),
        item.title,
        item.status_words,
        item.owner_name,
        CSV_NAMES_SEPARATOR.join(names),
        item.raised_by.name if item.raised_by else "",
        item.likelihood,
        item.impact,
        item.score,
        item.get_trend_display() if item.trend else "",
        item.review_on,
        item.validate_by,
        item.get_severity_display() if item.severity else "",
        item.due_on,
        _decided_by_cell(item, names),
        item.decided_on,
        "yes" if item.shared_with_client else "no",
        item.description,
        item.mitigation,
    ]
    return [csv_cell(value) for value in values]


@login_required
@require_GET
def engagement_raid_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole log under the tab's filters, every page, as CSV; the same scope as the tab."""
    engagement = engagement_get_for_user(user=request.user, id=pk)
    rows = selectors.raid_log(
        user=request.user, engagement=engagement, filters=_filter_form(request, engagement).filters()
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="raid-{engagement.code}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    for item in rows:
        writer.writerow(_csv_row(item))
    return response


def _require_edit(request: HttpRequest, engagement: Engagement) -> None:
    if not engagement_can_edit(user=request.user, engagement=engagement):
        raise PermissionDenied("Only the engagement's team changes its RAID log.")


@login_required
@require_http_methods(["GET", "POST"])
def raid_item_create(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    _require_edit(request, engagement)
    kind = request.POST.get("kind") or request.GET.get("kind") or RaidKind.RISK
    if kind not in RaidKind.values:
        kind = RaidKind.RISK
    data = request.POST if request.method == "POST" else None
    form = RaidItemForm(data, user=request.user, engagement=engagement, kind=kind)
    if data is not None and form.is_valid():
        try:
            item = raid.raid_item_create(
                actor=request.user, engagement=engagement, kind=kind, values=form.values()
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Added the {item.get_kind_display().lower()} “{item.title}”.")
            return redirect("raid_item_detail", pk=item.pk)
    context = {
        "engagement": engagement,
        "tab": "raid",
        "form": form,
        "kind": kind,
        "kind_label": RaidKind(kind).label,
        "kinds": RaidKind.choices,
    }
    return render(request, "communications/raid_item_form.html", context)


@login_required
@require_GET
def raid_item_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.raid_item_get_for_user(user=request.user, id=pk)
    return render(request, "communications/raid_item.html", _detail_context(request, item))


def _stakeholders(request: HttpRequest, item: RaidItem) -> Any:
    """The people of the item's engagement the user sees, whom a change request may tell."""
    # One role per stakeholder and engagement, so the join adds no duplicates.
    return (
        stakeholder_list(user=request.user).filter(roles__engagement=item.engagement).order_by("name", "pk")
    )


def _detail_context(request: HttpRequest, item: RaidItem, **forms: Any) -> dict[str, Any]:
    can_edit = engagement_can_edit(user=request.user, engagement=item.engagement)
    today = timezone.localdate(timezone.now())
    review = forms.get("review_form") or RiskReviewForm(
        initial={
            "likelihood": item.likelihood,
            "impact": item.impact,
            "trend": item.trend or "steady",
            "mitigation": item.mitigation,
            "next_review_on": item.review_on if item.review_on and item.review_on >= today else None,
        }
    )
    return {
        "engagement": item.engagement,
        "tab": "raid",
        "item": item,
        "overdue": item.is_overdue(today=today),
        "can_edit": can_edit,
        "is_open": item.status == RaidItem.Status.OPEN,
        "targets": [(s, item.TRANSITIONS.label(s)) for s in item.TRANSITIONS.targets(item.status)],
        "review_form": review,
        "reviews": selectors.raid_risk_review_list(user=request.user, item=item)
        if item.kind == RaidKind.RISK
        else [],
        "validate_form": forms.get("validate_form") or AssumptionValidateForm(),
        "change_form": forms.get("change_form")
        or IssueToChangeRequestForm(
            initial=IssueToChangeRequestForm.initial_for(item), stakeholders=_stakeholders(request, item)
        ),
    }


@login_required
@require_http_methods(["GET", "POST"])
def raid_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.raid_item_get_for_user(user=request.user, id=pk)
    _require_edit(request, item.engagement)
    data = request.POST if request.method == "POST" else None
    form = RaidItemForm(
        data,
        user=request.user,
        engagement=item.engagement,
        kind=item.kind,
        editing=True,
        initial=RaidItemForm.initial_from(item),
    )
    if data is not None and form.is_valid():
        try:
            item = raid.raid_item_update(
                actor=request.user,
                item=item,
                values=form.values(),
                seen_updated_at=form.cleaned_data["seen_updated_at"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Saved “{item.title}”.")
            return redirect("raid_item_detail", pk=item.pk)
    context = {
        "engagement": item.engagement,
        "tab": "raid",
        "form": form,
        "item": item,
        "kind": item.kind,
        "kind_label": item.get_kind_display(),
    }
    return render(request, "communications/raid_item_form.html", context)


@login_required
@require_POST
def raid_item_transition(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.raid_item_get_for_user(user=request.user, id=pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what the item becomes.")
        return redirect("raid_item_detail", pk=pk)
    try:
        item = raid.raid_item_transition(
            actor=request.user, item=item, to_status=form.cleaned_data["to_status"]
        )
    except RuleViolation as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"“{item.title}” is now {item.status_words.lower()}.")
    return redirect("raid_item_detail", pk=pk)


@login_required
@require_POST
def raid_risk_review(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.raid_item_get_for_user(user=request.user, id=pk)
    form = RiskReviewForm(request.POST)
    if form.is_valid():
        try:
            raid.raid_risk_review(actor=request.user, item=item, **form.cleaned_data)
        except (ValidationError, RuleViolation) as exc:
            form_add_service_errors(form, exc)
        else:
            review_on = item.review_on
            next_review = f"; next review {review_on.day} {review_on:%b %Y}" if review_on else ""
            messages.success(request, f"Reviewed “{item.title}”{next_review}.")
            return redirect("raid_item_detail", pk=pk)
    item = selectors.raid_item_get_for_user(user=request.user, id=pk)
    return render(
        request, "communications/raid_item.html", _detail_context(request, item, review_form=form), status=400
    )


@login_required
@require_POST
def raid_assumption_validate(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.raid_item_get_for_user(user=request.user, id=pk)
    form = AssumptionValidateForm(request.POST)
    if form.is_valid():
        try:
            item = raid.raid_assumption_validate(
                actor=request.user, item=item, holds=form.cleaned_data["holds"]
            )
        except RuleViolation as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"“{item.title}”: {item.status_words.lower()}.")
            return redirect("raid_item_detail", pk=pk)
    return render(
        request,
        "communications/raid_item.html",
        _detail_context(request, item, validate_form=form),
        status=400,
    )


@login_required
@require_POST
def raid_issue_to_change_request(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.raid_item_get_for_user(user=request.user, id=pk)
    form = IssueToChangeRequestForm(request.POST, stakeholders=_stakeholders(request, item))
    if form.is_valid():
        data = dict(form.cleaned_data)
        told = [stakeholder.pk for stakeholder in data.pop("notify_stakeholders")]
        try:
            change_request = raid.raid_issue_to_change_request(
                actor=request.user, item=item, notify_stakeholder_ids=told, **data
            )
        except (ValidationError, RuleViolation) as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Recorded the change request “{change_request.title}”.")
            return redirect(reverse("engagement_changes", kwargs={"pk": item.engagement_id}))
    return render(
        request, "communications/raid_item.html", _detail_context(request, item, change_form=form), status=400
    )


urlpatterns = [
    path("engagements/<int:pk>/raid/", engagement_raid, name="engagement_raid"),
    path("engagements/<int:pk>/raid.csv", engagement_raid_csv, name="engagement_raid_csv"),
    path("engagements/<int:pk>/raid/new/", raid_item_create, name="raid_item_create"),
    path("raid/<int:pk>/", raid_item_detail, name="raid_item_detail"),
    path("raid/<int:pk>/edit/", raid_item_edit, name="raid_item_edit"),
    path("raid/<int:pk>/status/", raid_item_transition, name="raid_item_transition"),
    path("raid/<int:pk>/review/", raid_risk_review, name="raid_risk_review"),
    path("raid/<int:pk>/validate/", raid_assumption_validate, name="raid_assumption_validate"),
    path("raid/<int:pk>/change-request/", raid_issue_to_change_request, name="raid_issue_to_change_request"),
]
