"""The stakeholder pages: the engagement's register, grid and matrix; a person's page; their edits.

They show a person's communication (last contact, next due, check-ins,
follow-ups) beside their role, so they live here rather than in stakeholders/.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from communications import services as communication_services
from communications.health import (
    engagement_health_refresh,
    health_thresholds,
    relationship_health,
    stored_health,
)
from communications.selectors import (
    check_in_list_attended_by,
    follow_up_list_owed_by_stakeholder,
    stakeholder_role_open_work,
)
from engagements.models import Engagement
from engagements.selectors import engagement_can_edit, engagement_check_editable, engagement_get_for_user
from pmaas.durations import limit_in_words
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors
from stakeholders import selectors, services
from stakeholders.models import StakeholderRole
from workspace.forms.stakeholders import (
    StakeholderForm,
    StakeholderRoleCreateForm,
    StakeholderRoleForm,
    role_initial,
    stakeholder_initial,
)
from workspace.selectors import stakeholder_register, stakeholder_register_row, stakeholder_roles_of_person

# A person's page shows their latest check-ins and most pressing follow-ups; the rest are a link away.
STAKEHOLDER_CHECK_INS_SHOWN = 10
STAKEHOLDER_FOLLOW_UPS_SHOWN = 25


def _register_url(role: StakeholderRole) -> str:
    return reverse("engagement_stakeholders", args=[role.engagement_id])


@login_required
@require_http_methods(["GET"])
def engagement_stakeholders(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    roles = list(stakeholder_register(user=request.user, engagement=engagement))
    context = {
        "engagement": engagement,
        "tab": "stakeholders",
        "roles": roles,
        "can_edit": engagement_can_edit(user=request.user, engagement=engagement),
    }
    return render(request, "workspace/engagement_stakeholders.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def stakeholder_role_create(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    engagement_check_editable(user=request.user, engagement=engagement)
    form_kwargs: dict[str, Any] = {
        "candidates": selectors.stakeholder_role_candidates(user=request.user, engagement=engagement),
        "owners": selectors.stakeholder_role_owner_choices(user=request.user, engagement=engagement),
    }
    if request.method == "POST":
        form = StakeholderRoleCreateForm(request.POST, **form_kwargs)
        if form.is_valid():
            try:
                if form.cleaned_data["stakeholder"] is not None:
                    role = services.stakeholder_add_to_engagement(
                        actor=request.user,
                        engagement=engagement,
                        stakeholder=form.cleaned_data["stakeholder"],
                        **form.role_values(),
                    )
                else:
                    role = services.stakeholder_create_with_role(
                        actor=request.user,
                        engagement=engagement,
                        **form.person_values(),
                        **form.role_values(),
                    )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                # Engagement levels live below communications: the page asks for the recomputation.
                engagement_health_refresh(engagement_ids=[engagement.pk], as_of=timezone.now())
                messages.success(request, f"{role.stakeholder.name} is on the register.")
                return redirect("engagement_stakeholders", pk=engagement.pk)
    else:
        form = StakeholderRoleCreateForm(initial={"time_zone": engagement.client.time_zone}, **form_kwargs)
    context = {"engagement": engagement, "tab": "stakeholders", "form": form}
    return render(request, "workspace/role_create.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def stakeholder_role_edit(request: HttpRequest, pk: int) -> HttpResponse:
    role = selectors.stakeholder_role_get_for_user(user=request.user, id=pk)
    engagement_check_editable(user=request.user, engagement=role.engagement)
    owners = selectors.stakeholder_role_owner_choices(user=request.user, engagement=role.engagement)
    # Several rows may be open for inline editing at once; their controls need distinct ids.
    auto_id = f"role-{role.pk}-%s"
    if request.method == "POST":
        form = StakeholderRoleForm(request.POST, owners=owners, auto_id=auto_id)
        if form.is_valid():
            try:
                services.stakeholder_role_update(
                    actor=request.user,
                    role=role,
                    seen_updated_at=form.cleaned_data["updated_at"],
                    **form.role_values(),
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                engagement_health_refresh(engagement_ids=[role.engagement_id], as_of=timezone.now())
                if request.htmx:  # type: ignore[attr-defined]
                    return _role_saved(request, role)
                messages.success(request, f"{role.stakeholder.name}'s role is saved.")
                return redirect(_register_url(role))
    else:
        form = StakeholderRoleForm(initial=role_initial(role), owners=owners, auto_id=auto_id)
    context = {"engagement": role.engagement, "tab": "stakeholders", "role": role, "form": form}
    template = "workspace/_role_edit_row.html" if request.htmx else "workspace/role_edit.html"  # type: ignore[attr-defined]
    return render(request, template, context)


def _role_row(request: HttpRequest, pk: int) -> HttpResponse:
    role = stakeholder_register_row(user=request.user, id=pk)
    can_edit = engagement_can_edit(user=request.user, engagement=role.engagement)
    return render(request, "workspace/_role_row.html", {"role": role, "can_edit": can_edit})


def _role_saved(request: HttpRequest, role: StakeholderRole) -> HttpResponse:
    """The saved row, with the grid and matrix redrawn out of band since the row feeds them."""
    roles = list(stakeholder_register(user=request.user, engagement=role.engagement))
    context = {
        "role": next(row for row in roles if row.pk == role.pk),
        "roles": roles,
        "can_edit": engagement_can_edit(user=request.user, engagement=role.engagement),
    }
    return render(request, "workspace/_role_saved.html", context)


@login_required
@require_http_methods(["GET"])
def stakeholder_role_row(request: HttpRequest, pk: int) -> HttpResponse:
    """The register row on its own, to put back in place when an inline edit is cancelled."""
    if request.htmx:  # type: ignore[attr-defined]
        return _role_row(request, pk)
    role = selectors.stakeholder_role_get_for_user(user=request.user, id=pk)
    return redirect(f"{_register_url(role)}#role-{role.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def stakeholder_role_remove(request: HttpRequest, pk: int) -> HttpResponse:
    role = selectors.stakeholder_role_get_for_user(user=request.user, id=pk)
    engagement_check_editable(user=request.user, engagement=role.engagement)
    refusal = ""
    if request.method == "POST":
        try:
            communication_services.stakeholder_role_remove(actor=request.user, role=role)
        except RuleViolation as error:
            refusal = str(error)
        else:
            messages.success(request, f"{role.stakeholder.name} is off this engagement's register.")
            return redirect(_register_url(role))
    follow_ups, channels = stakeholder_role_open_work(role=role)
    context = {
        "engagement": role.engagement,
        "tab": "stakeholders",
        "role": role,
        "refusal": refusal,
        "open_follow_ups": follow_ups,
        "active_channels": channels,
    }
    return render(request, "workspace/role_remove.html", context, status=409 if refusal else 200)


def _shown_and_more(name: str, rows: QuerySet[Any], shown: int) -> dict[str, Any]:
    """The first ``shown`` rows under ``name``, and ``more_<name>``: whether the list goes on."""
    first = list(rows[: shown + 1])
    return {name: first[:shown], f"more_{name}": len(first) > shown}


@login_required
@require_http_methods(["GET"])
def stakeholder_detail(request: HttpRequest, pk: int) -> HttpResponse:
    stakeholder = selectors.stakeholder_get_for_user(user=request.user, id=pk)
    as_of = timezone.now()
    roles = list(stakeholder_roles_of_person(user=request.user, stakeholder=stakeholder, as_of=as_of))
    thresholds = health_thresholds()
    # The stored health, as the sweep and the services that change its inputs computed it; a role
    # never computed yet (added through the API moments ago) is judged now from the same signals.
    role_health = [
        (
            role,
            stored_health(status=role.relationship_health, factors=role.relationship_health_factors)
            if role.relationship_health_computed_at is not None
            else relationship_health(
                as_of=as_of,
                last_contact_at=role.last_contact_at,  # type: ignore[attr-defined]
                next_due_at=role.next_due_at,  # type: ignore[attr-defined]
                overdue_follow_ups=role.overdue_follow_ups,  # type: ignore[attr-defined]
                latest_sentiment=role.latest_sentiment,  # type: ignore[attr-defined]
                level_gap=role.engagement_gap,
                engagement_id=role.engagement_id,
                thresholds=thresholds,
            ),
        )
        for role in roles
    ]
    editable = set(
        Engagement.objects.editable_by(request.user)
        .filter(pk__in=[role.engagement_id for role in roles])
        .values_list("pk", flat=True)
    )
    context = {
        "stakeholder": stakeholder,
        "role_health": role_health,
        **_shown_and_more(
            "check_ins",
            check_in_list_attended_by(user=request.user, stakeholder=stakeholder),
            STAKEHOLDER_CHECK_INS_SHOWN,
        ),
        **_shown_and_more(
            "follow_ups",
            follow_up_list_owed_by_stakeholder(user=request.user, stakeholder=stakeholder, as_of=as_of),
            STAKEHOLDER_FOLLOW_UPS_SHOWN,
        ),
        "engagements": list({role.engagement_id: role.engagement for role in roles}.values()),
        "can_edit": selectors.stakeholder_can_edit(user=request.user, stakeholder=stakeholder),
        # Where the user may record a follow-up about this person: their engagements the user may change.
        "follow_up_engagements": [role.engagement for role in roles if role.engagement_id in editable],
        # In the words of the reasons above the table, which say how long in the same way.
        "unplanned_limits": {
            "amber": limit_in_words(timedelta(days=thresholds.relationship_unplanned_amber_days)),
            "red": limit_in_words(timedelta(days=thresholds.relationship_unplanned_red_days)),
        },
    }
    return render(request, "workspace/stakeholder_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def stakeholder_edit(request: HttpRequest, pk: int) -> HttpResponse:
    stakeholder = selectors.stakeholder_get_for_user(user=request.user, id=pk)
    if not selectors.stakeholder_can_edit(user=request.user, stakeholder=stakeholder):
        raise PermissionDenied("You may view this person but not change their details.")
    if request.method == "POST":
        form = StakeholderForm(request.POST)
        if form.is_valid():
            try:
                services.stakeholder_update(
                    actor=request.user,
                    stakeholder=stakeholder,
                    seen_updated_at=form.cleaned_data["updated_at"],
                    name=form.cleaned_data["name"],
                    email=form.cleaned_data["email"],
                    title=form.cleaned_data["title"],
                    department=form.cleaned_data["department"],
                    phone=form.cleaned_data["phone"],
                    time_zone=form.cleaned_data["time_zone"],
                    notes=form.cleaned_data["notes"],
                )
            except ValidationError as error:
                form_add_service_errors(form, error)
            else:
                messages.success(request, f"{form.cleaned_data['name']}'s details are saved.")
                return redirect("stakeholder_detail", pk=stakeholder.pk)
    else:
        form = StakeholderForm(initial=stakeholder_initial(stakeholder))
    return render(request, "workspace/stakeholder_edit.html", {"stakeholder": stakeholder, "form": form})


urlpatterns = [
    path(
        "engagements/<int:pk>/stakeholders/",
        engagement_stakeholders,
        name="engagement_stakeholders",
    ),
    path(
        "engagements/<int:pk>/stakeholders/add/",
        stakeholder_role_create,
        name="stakeholder_role_create",
    ),
    path("stakeholder-roles/<int:pk>/edit/", stakeholder_role_edit, name="stakeholder_role_edit"),
    path("stakeholder-roles/<int:pk>/row/", stakeholder_role_row, name="stakeholder_role_row"),
    path("stakeholder-roles/<int:pk>/remove/", stakeholder_role_remove, name="stakeholder_role_remove"),
    path("stakeholders/<int:pk>/", stakeholder_detail, name="stakeholder_detail"),
    path("stakeholders/<int:pk>/edit/", stakeholder_edit, name="stakeholder_edit"),
]
