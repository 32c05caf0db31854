"""The engagement pages: list, overview with health override, milestones and change requests.

What each user may do on them comes from engagements.policy, handed to the
templates as ``can``.

They gather stakeholders, plans, obligations and silence flags beside the
engagement's own rows, so they live here rather than in engagements/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from communications import health, obligations, silence
from communications import selectors as communication_selectors
from engagements import selectors, services
from engagements.models import ChangeRequest, Engagement, Milestone
from engagements.policy import Action, engagement_check_can, engagement_permissions
from engagements.working_days import engagement_calendar
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors
from stakeholders.selectors import stakeholder_list
from workspace.forms.engagements import (
    ChangeRequestCreateForm,
    ChangeRequestDecisionForm,
    ChangeRequestForm,
    EngagementFilterForm,
    HealthOverrideForm,
    MilestoneCreateForm,
    MilestoneForm,
)
from workspace.paging import page_number, page_of, pager_links

# How many upcoming milestones the overview shows; the changes page shows them all.
OVERVIEW_MILESTONES = 5


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.htmx)  # type: ignore[attr-defined]


def refuse(
    form: Form,
    error: ValidationError | RuleViolation,
    instance: Any,
    field_names: dict[str, str] | None = None,
) -> None:
    """Show a service's refusal; after a stale save, arm the form with the row's current version.

    The user's input stays in the form, so saving again after reviewing the
    current values goes through instead of being refused for ever.
    """
    form_add_service_errors(form, error, field_names=field_names)
    if getattr(error, "code", None) == "stale":
        instance.refresh_from_db()
        data = cast(QueryDict, form.data).copy()
        data["seen_updated_at"] = instance.updated_at.isoformat()
        form.data = data


def refresh_health(engagement_id: int) -> None:
    """Recompute an engagement's health after a change made through a lower app's service.

    Milestones and engagement levels live below communications, whose health
    function reads them, so the page that changed them asks for the
    recomputation; the periodic sweep catches changes made elsewhere.
    """
    health.engagement_health_refresh(engagement_ids=[engagement_id], as_of=timezone.now())


ENGAGEMENT_LIST_PAGE_SIZE = 50


@login_required
def engagement_list(request: HttpRequest) -> HttpResponse:
    form = EngagementFilterForm(request.GET or None, clients=selectors.client_list(user=request.user))
    status, client = "", None
    if form.is_bound and form.is_valid():
        status, client = form.cleaned_data["status"], form.cleaned_data["client"]
    engagements = selectors.engagement_list_filtered(user=request.user, status=status, client=client)
    if getattr(request.user, "is_firm_member", False):
        engagements = engagements.annotate(open_silence_flags=silence.open_silence_count())
    page = page_of(
        engagements.order_by("client__name", "name", "pk"),
        number=page_number(request.GET),
        size=ENGAGEMENT_LIST_PAGE_SIZE,
    )
    context = {
        "engagements": page.rows,
        "page": page,
        "pages": pager_links(request.GET, page),
        "form": form,
        "filtered": bool(status or client),
    }
    return render(request, "workspace/engagement_list.html", context)


# The override service's names for the fields of the health form.
_HEALTH_FIELDS = {
    "health_override": "health",
    "health_override_reason": "reason",
    "health_override_until": "until",
}


def _health_form(engagement: Engagement) -> HealthOverrideForm:
    in_force = engagement.health_is_overridden
    return HealthOverrideForm(
        initial={
            "health": engagement.health_override if in_force else "",
            "reason": engagement.health_override_reason if in_force else "",
            "until": selectors.health_override_last_day(engagement) if in_force else None,
            "shared_with_client": engagement.health_shared_with_client,
            "seen_updated_at": engagement.updated_at,
        }
    )


def _overview(request: HttpRequest, engagement: Engagement, health_form: HealthOverrideForm) -> HttpResponse:
    user = request.user
    # Empty for client users: who at the client has gone quiet is the firm's concern (SilenceFlag.visible_to).
    silence_flags = silence.silence_flags_open_for_engagement(
        user=user, engagement=engagement, as_of=timezone.now()
    )
    now = timezone.now()
    top_risks = communication_selectors.raid_top_risks(user=user, engagement=engagement)
    context = {
        "engagement": engagement,
        "tab": "overview",
        "silence_flags": silence_flags,
        "silent_count": len(silence_flags),
        "can": engagement_permissions(user=user, engagement=engagement),
        "health_form": health_form,
        "working_days": engagement_calendar(engagement),
        "team": selectors.engagement_team(user=user, engagement=engagement),
        "milestones": list(
            selectors.milestone_list_for_engagement(user=user, engagement=engagement, open_only=True)[
                :OVERVIEW_MILESTONES
            ]
        ),
        "change_requests": selectors.change_request_list_for_engagement(
            user=user, engagement=engagement, undecided_only=True
        ),
        "obligations": obligations.obligation_list_for_engagement(
            user=user, engagement=engagement, open_only=True, as_of=timezone.now()
        ),
        "obligation_summary": obligations.obligation_summary_for_engagement(
            user=user, engagement=engagement, as_of=timezone.now()
        ),
        "top_risks": top_risks,
        # Judged on the reader's own day (their zone is active), as the RAID tab does.
        "overdue_risks": {risk.pk for risk in top_risks if risk.is_overdue(today=timezone.localdate(now))},
    }
    return render(request, "workspace/engagement_detail.html", context)


@login_required
def engagement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, id=pk)
    return _overview(request, engagement, _health_form(engagement))


# What the health section needs to know once the override was allowed.
_MAY_OVERRIDE = {Action.OVERRIDE_HEALTH.value: True}


@login_required
@require_POST
def engagement_health(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, id=pk)
    engagement_check_can(user=request.user, engagement=engagement, action=Action.OVERRIDE_HEALTH)
    form = HealthOverrideForm(request.POST)
    if form.is_valid():
        try:
            services.engagement_override_health(
                actor=request.user,
                engagement=engagement,
                health=form.cleaned_data["health"],
                reason=form.cleaned_data["reason"],
                until=form.cleaned_data["until"],
                shared_with_client=form.cleaned_data["shared_with_client"],
                seen_updated_at=form.cleaned_data["seen_updated_at"],
            )
        except ValidationError as error:
            refuse(form, error, engagement, field_names=_HEALTH_FIELDS)
        else:
            if _is_htmx(request):
                return render(
                    request,
                    "workspace/_health.html",
                    # oob: the header's health badge is redrawn with the card.
                    {
                        "engagement": engagement,
                        "can": _MAY_OVERRIDE,
                        "health_form": _health_form(engagement),
                        "oob": True,
                    },
                )
            messages.success(request, "Health saved.")
            return redirect("engagement_detail", pk=engagement.pk)
    if _is_htmx(request):
        return render(
            request,
            "workspace/_health.html",
            {"engagement": engagement, "can": _MAY_OVERRIDE, "health_form": form},
        )
    return _overview(request, engagement, form)


@login_required
def engagement_changes(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    engagement = selectors.engagement_get_for_user(user=user, id=pk)
    change_requests = list(selectors.change_request_list_for_engagement(user=user, engagement=engagement))
    by_change: dict[int, list[Any]] = {}
    for obligation in obligations.obligation_list_for_engagement(
        user=user, engagement=engagement, open_only=True, as_of=timezone.now()
    ):
        by_change.setdefault(obligation.change_request_id, []).append(obligation)
    rows = [(change_request, by_change.get(change_request.pk, [])) for change_request in change_requests]
    can = engagement_permissions(user=user, engagement=engagement)
    context = {
        "engagement": engagement,
        "tab": "changes",
        "can": can,
        "can_edit": can[Action.EDIT_RECORDS],
        "milestones": selectors.milestone_list_for_engagement(user=user, engagement=engagement),
        "change_rows": rows,
        "milestone_form": MilestoneCreateForm(),
    }
    return render(request, "workspace/engagement_changes.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def milestone_create(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, id=pk)
    selectors.engagement_check_editable(user=request.user, engagement=engagement)
    form = MilestoneCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.milestone_create(
                actor=request.user,
                engagement=engagement,
                name=form.cleaned_data["name"],
                due_on=form.cleaned_data["due_on"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            refresh_health(engagement.pk)
            messages.success(request, "Milestone added.")
            return redirect("engagement_changes", pk=engagement.pk)
    context = {"engagement": engagement, "form": form, "milestone": None}
    return render(request, "workspace/milestone_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def milestone_edit(request: HttpRequest, pk: int) -> HttpResponse:
    milestone = selectors.milestone_get_for_user(user=request.user, id=pk)
    return _edit_page(
        request,
        instance=milestone,
        form_class=MilestoneForm,
        fields=("name", "due_on", "description"),
        save=lambda data: refresh_health(
            services.milestone_update(actor=request.user, milestone=milestone, **data).engagement_id
        ),
        saved="Milestone saved.",
        template="workspace/milestone_form.html",
        name="milestone",
    )


@login_required
@require_POST
def milestone_complete(request: HttpRequest, pk: int) -> HttpResponse:
    milestone: Milestone = selectors.milestone_get_for_user(user=request.user, id=pk)
    services.milestone_complete(actor=request.user, milestone=milestone)
    refresh_health(milestone.engagement_id)
    if _is_htmx(request):
        return render(request, "workspace/_milestone_row.html", {"milestone": milestone, "can_edit": True})
    messages.success(request, f"{milestone.name} marked complete.")
    return redirect("engagement_changes", pk=milestone.engagement_id)


@login_required
@require_http_methods(["GET", "POST"])
def change_request_create(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, id=pk)
    selectors.engagement_check_editable(user=request.user, engagement=engagement)
    # One role per stakeholder and engagement, so the join adds no duplicates.
    stakeholders = stakeholder_list(user=request.user).filter(roles__engagement=engagement)
    if request.method == "POST":
        form = ChangeRequestCreateForm(request.POST, stakeholders=stakeholders)
        if form.is_valid():
            data = form.cleaned_data
            try:
                obligations.change_request_record(
                    actor=request.user,
                    engagement=engagement,
                    title=data["title"],
                    kind=data["kind"],
                    raised_on=data["raised_on"],
                    description=data["description"],
                    budget_impact=data["budget_impact"],
                    schedule_impact_days=data["schedule_impact_days"],
                    notify_stakeholder_ids=[stakeholder.pk for stakeholder in data["notify_stakeholders"]],
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, "Change request recorded.")
                return redirect("engagement_changes", pk=engagement.pk)
    else:
        form = ChangeRequestCreateForm(
            initial={
                "raised_on": timezone.localdate(),
                "kind": ChangeRequest.Kind.SCOPE,
                "notify_stakeholders": obligations.obligation_default_stakeholder_ids(engagement=engagement),
            },
            stakeholders=stakeholders,
        )
    context = {"engagement": engagement, "form": form, "change_request": None}
    return render(request, "workspace/change_request_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def change_request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    change_request = selectors.change_request_get_for_user(user=request.user, id=pk)
    return _edit_page(
        request,
        instance=change_request,
        form_class=ChangeRequestForm,
        fields=("title", "kind", "raised_on", "description", "budget_impact", "schedule_impact_days"),
        save=lambda data: services.change_request_update(
            actor=request.user, change_request=change_request, **data
        ),
        saved="Change request saved.",
        template="workspace/change_request_form.html",
        name="change_request",
    )


def _edit_page(
    request: HttpRequest,
    *,
    instance: Any,
    form_class: type[Form],
    fields: tuple[str, ...],
    save: Callable[[dict[str, Any]], object],
    saved: str,
    template: str,
    name: str,
) -> HttpResponse:
    """The edit page of one row of an engagement: the form prefilled from the row, saved through ``save``.

    ``save`` gets the form's ``fields`` and ``seen_updated_at``, so a stale
    edit is refused; refusals show beside what was typed.
    """
    engagement = instance.engagement
    selectors.engagement_check_editable(user=request.user, engagement=engagement)
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            try:
                save({field: form.cleaned_data[field] for field in (*fields, "seen_updated_at")})
            except ValidationError as error:
                refuse(form, error, instance)
            else:
                messages.success(request, saved)
                return redirect("engagement_changes", pk=engagement.pk)
    else:
        initial = {field: getattr(instance, field) for field in fields}
        form = form_class(initial={**initial, "seen_updated_at": instance.updated_at})
    return render(request, template, {"engagement": engagement, "form": form, name: instance})


@login_required
@require_http_methods(["GET", "POST"])
def change_request_decide(request: HttpRequest, pk: int) -> HttpResponse:
    change_request = selectors.change_request_get_for_user(user=request.user, id=pk)
    engagement = change_request.engagement
    engagement_check_can(user=request.user, engagement=engagement, action=Action.DECIDE_CHANGE_REQUEST)
    if request.method == "POST":
        form = ChangeRequestDecisionForm(request.POST, change_request=change_request)
        if form.is_valid():
            try:
                services.change_request_transition(
                    actor=request.user,
                    change_request=change_request,
                    to_status=form.cleaned_data["to_status"],
                    decision=form.cleaned_data["decision"],
                    seen_updated_at=form.cleaned_data["seen_updated_at"],
                )
            except (ValidationError, RuleViolation) as error:
                refuse(form, error, change_request)
            else:
                messages.success(
                    request, f"Change request is now {change_request.get_status_display().lower()}."
                )
                return redirect("engagement_changes", pk=engagement.pk)
    else:
        form = ChangeRequestDecisionForm(
            initial={"decision": change_request.decision, "seen_updated_at": change_request.updated_at},
            change_request=change_request,
        )
    context = {
        "engagement": engagement,
        "form": form,
        "change_request": change_request,
        "is_final": not form.fields["to_status"].choices,  # type: ignore[attr-defined]
    }
    return render(request, "workspace/change_request_decide.html", context)


urlpatterns = [
    path("engagements/", engagement_list, name="engagement_list"),
    path("engagements/<int:pk>/", engagement_detail, name="engagement_detail"),
    path("engagements/<int:pk>/health/", engagement_health, name="engagement_health"),
    path("engagements/<int:pk>/changes/", engagement_changes, name="engagement_changes"),
    path("engagements/<int:pk>/milestones/new/", milestone_create, name="milestone_create"),
    path("milestones/<int:pk>/edit/", milestone_edit, name="milestone_edit"),
    path("milestones/<int:pk>/complete/", milestone_complete, name="milestone_complete"),
    path("engagements/<int:pk>/changes/new/", change_request_create, name="change_request_create"),
    path("change-requests/<int:pk>/edit/", change_request_edit, name="change_request_edit"),
    path("change-requests/<int:pk>/decide/", change_request_decide, name="change_request_decide"),
]
