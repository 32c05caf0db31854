"""The communication obligations of an engagement's change requests: list, waive, add someone."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from communications import obligations
from communications.forms.obligations import ObligationAddForm, ObligationWaiveForm
from communications.models import CommunicationObligation
from engagements import selectors as engagement_selectors
from engagements.models import Engagement
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors
from pmaas.scoping import require_shared_section
from stakeholders.selectors import stakeholder_list


def _page(
    request: HttpRequest,
    engagement: Engagement,
    *,
    waive_form: tuple[int, ObligationWaiveForm] | None = None,
    add_form: tuple[int, ObligationAddForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    now = timezone.now()
    stakeholders = list(stakeholder_list(user=user).filter(roles__engagement=engagement))
    by_change: dict[int, list[CommunicationObligation]] = {}
    for obligation in obligations.obligation_list_for_engagement(user=user, engagement=engagement):
        by_change.setdefault(obligation.change_request_id, []).append(obligation)
    change_requests = engagement_selectors.change_request_list_for_engagement(
        user=user, engagement=engagement
    )
    groups: list[dict[str, Any]] = []
    for change_request in change_requests:
        rows = by_change.get(change_request.pk, [])
        if add_form and add_form[0] == change_request.pk:
            form = add_form[1]
        else:
            form = ObligationAddForm(stakeholders=stakeholders, auto_id=f"add-{change_request.pk}-%s")
        groups.append(
            {
                "change_request": change_request,
                "rows": [
                    {
                        "obligation": obligation,
                        "overdue": obligation.is_overdue_at(now),
                        "waive_form": waive_form[1]
                        if waive_form and waive_form[0] == obligation.pk
                        else ObligationWaiveForm(auto_id=f"waive-{obligation.pk}-%s"),
                    }
                    for obligation in rows
                ],
                "add_form": form,
            }
        )
    context = {
        "engagement": engagement,
        "tab": "obligations",
        "can_edit": engagement_selectors.engagement_can_edit(user=user, engagement=engagement),
        "groups": groups,
        "summary": obligations.obligation_summary_for_engagement(user=user, engagement=engagement, as_of=now),
    }
    return render(request, "communications/obligations.html", context, status=status)


@login_required
def engagement_obligations(request: HttpRequest, pk: int) -> HttpResponse:
    require_shared_section(request.user, "communications.CommunicationObligation")
    engagement = engagement_selectors.engagement_get_for_user(user=request.user, id=pk)
    return _page(request, engagement)


@login_required
@require_POST
def obligation_waive(request: HttpRequest, pk: int) -> HttpResponse:
    obligation = obligations.obligation_get_for_user(user=request.user, id=pk)
    engagement = obligation.engagement
    engagement_selectors.engagement_check_editable(user=request.user, engagement=engagement)
    form = ObligationWaiveForm(request.POST, auto_id=f"waive-{obligation.pk}-%s")
    if form.is_valid():
        try:
            obligations.obligation_waive(
                actor=request.user, obligation=obligation, reason=form.cleaned_data["reason"]
            )
        except (ValidationError, RuleViolation) as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"No longer tracking that {obligation.stakeholder} must be told.")
            return redirect("engagement_obligations", pk=engagement.pk)
    return _page(request, engagement, waive_form=(obligation.pk, form))


@login_required
@require_POST
def obligation_add(request: HttpRequest, pk: int) -> HttpResponse:
    require_shared_section(request.user, "communications.CommunicationObligation")
    change_request = engagement_selectors.change_request_get_for_user(user=request.user, id=pk)
    engagement = change_request.engagement
    engagement_selectors.engagement_check_editable(user=request.user, engagement=engagement)
    stakeholders = list(stakeholder_list(user=request.user).filter(roles__engagement=engagement))
    form = ObligationAddForm(request.POST, stakeholders=stakeholders, auto_id=f"add-{change_request.pk}-%s")
    if form.is_valid():
        try:
            obligations.obligation_add(
                actor=request.user,
                change_request=change_request,
                stakeholder=form.cleaned_data["stakeholder"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['stakeholder']} must now be told.")
            return redirect("engagement_obligations", pk=engagement.pk)
    return _page(request, engagement, add_form=(change_request.pk, form))


urlpatterns = [
    path("engagements/<int:pk>/obligations/", engagement_obligations, name="engagement_obligations"),
    path("obligations/<int:pk>/waive/", obligation_waive, name="obligation_waive"),
    path("change-requests/<int:pk>/obligations/add/", obligation_add, name="obligation_add"),
]
