"""The team page: who works on an engagement, and the lead's changes to it.

Taking someone off the team hands their follow-ups and channels on, which
sits in communications, so the page lives here above both apps.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from communications import services as communication_services
from communications.selectors import membership_open_work
from engagements import selectors, services
from engagements.models import Engagement, Membership
from engagements.policy import Action, engagement_check_can, engagement_permissions
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors
from workspace.forms.team import TeamMemberAddForm, TeamMemberRemoveForm


def _candidates(user: User, engagement: Engagement) -> QuerySet[User]:
    on_team = Membership.objects.filter(engagement=engagement).values("user_id")
    return selectors.team_candidate_list(user=user).exclude(pk__in=on_team)


def _team_page(
    request: HttpRequest, engagement: Engagement, add_form: TeamMemberAddForm | None
) -> HttpResponse:
    user = request.user
    can = engagement_permissions(user=user, engagement=engagement)
    if add_form is None and can[Action.MANAGE_TEAM]:
        add_form = TeamMemberAddForm(candidates=_candidates(user, engagement))  # type: ignore[arg-type]
    context = {
        "engagement": engagement,
        "tab": "team",
        "can": can,
        "team": list(selectors.engagement_team(user=user, engagement=engagement)),
        "add_form": add_form,
    }
    return render(request, "workspace/engagement_team.html", context)


@login_required
@require_GET
def engagement_team(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, id=pk)
    return _team_page(request, engagement, None)


@login_required
@require_POST
def team_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, id=pk)
    engagement_check_can(user=request.user, engagement=engagement, action=Action.MANAGE_TEAM)
    form = TeamMemberAddForm(request.POST, candidates=_candidates(request.user, engagement))  # type: ignore[arg-type]
    if form.is_valid():
        newcomer = form.cleaned_data["user"]
        try:
            services.membership_add(actor=request.user, engagement=engagement, user=newcomer)
        except (ValidationError, RuleViolation) as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"{newcomer} joined the team.")
            return redirect("engagement_team", pk=engagement.pk)
    return _team_page(request, engagement, form)


@login_required
@require_POST
def membership_make_lead(request: HttpRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get_for_user(user=request.user, id=pk)
    services.membership_make_lead(actor=request.user, membership=membership)
    messages.success(request, f"{membership.user} now leads {membership.engagement.code}.")
    return redirect("engagement_team", pk=membership.engagement_id)


@login_required
@require_http_methods(["GET", "POST"])
def membership_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = selectors.membership_get_for_user(user=request.user, id=pk)
    engagement = membership.engagement
    engagement_check_can(user=request.user, engagement=engagement, action=Action.MANAGE_TEAM)
    others = User.objects.filter(memberships__engagement=engagement).exclude(pk=membership.user_id)
    form = TeamMemberRemoveForm(request.POST if request.method == "POST" else None, members=others)
    if request.method == "POST" and form.is_valid():
        try:
            communication_services.membership_remove(
                actor=request.user, membership=membership, reassign_to=form.cleaned_data["reassign_to"]
            )
        except (ValidationError, RuleViolation) as error:
            form_add_service_errors(form, error)
        else:
            messages.success(request, f"{membership.user} is off the team.")
            return redirect("engagement_team", pk=engagement.pk)
    context = {
        "engagement": engagement,
        "tab": "team",
        "membership": membership,
        "is_lead": membership.role == Membership.Role.LEAD,
        "work": membership_open_work(membership=membership),
        "form": form,
    }
    return render(request, "workspace/membership_remove.html", context)


urlpatterns = [
    path("engagements/<int:pk>/team/", engagement_team, name="engagement_team"),
    path("engagements/<int:pk>/team/add/", team_member_add, name="team_member_add"),
    path("memberships/<int:pk>/make-lead/", membership_make_lead, name="membership_make_lead"),
    path("memberships/<int:pk>/remove/", membership_remove, name="membership_remove"),
]
