"""The communication plan of an engagement: its channels, adding and editing one, pausing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from communications import compliance, recurrence, selectors, services
from communications.compliance import NOTHING_DUE, ComplianceRow
from communications.forms.compliance import window_context, window_form
from communications.forms.plan import ChannelForm
from communications.models import Channel
from engagements.models import Engagement
from engagements.selectors import engagement_can_edit, engagement_get_for_user
from engagements.working_days import engagement_skip_words
from pmaas.scoping import require_shared_section


@dataclass(frozen=True)
class PlanRow:
    channel: Channel
    cadence: str
    # None while the window chooser has errors: the column then shows nothing.
    compliance: ComplianceRow | None = None
    # Why the stored rule cannot be planned from (written before today's checks); empty when it can.
    problem: str = ""


def _row(channel: Channel, figures: ComplianceRow | None = None) -> PlanRow:
    try:
        cadence = recurrence.describe_rule(
            channel.recurrence,
            local_time=channel.local_time,
            time_zone=channel.stakeholder.time_zone,
            starts_on=channel.starts_on,
        )
    except ValidationError as exc:
        # A rule stored before today's checks still shows, as written, with what is wrong with it.
        return PlanRow(
            channel=channel, cadence=channel.recurrence, compliance=figures, problem=exc.messages[0]
        )
    return PlanRow(
        channel=channel, cadence=cadence + engagement_skip_words(channel.engagement), compliance=figures
    )


def _plan_rows(request: HttpRequest, engagement: Engagement, context: dict[str, Any]) -> list[PlanRow]:
    """The plan's channels with their compliance; adds the stakeholder summary and total to ``context``.

    One grouped query counts every channel; the stakeholders' and the
    engagement's figures are its sums, so the page costs one query more, not three.
    """
    channels = list(selectors.channel_plan(user=request.user, engagement=engagement))
    window = context["window"]
    if window is None:
        return [_row(channel) for channel in channels]
    by_channel = compliance.compliance_by(
        by="channel", user=request.user, window=window, engagement=engagement
    )
    rows = []
    per_stakeholder: dict[int, list[Channel]] = {}
    for channel in channels:
        figures = by_channel.get(channel.pk, NOTHING_DUE)
        rows.append(_row(channel, ComplianceRow(id=channel.pk, label=channel.title, compliance=figures)))
        per_stakeholder.setdefault(channel.stakeholder_id, []).append(channel)
    context["stakeholder_rows"] = compliance.worst_first(
        ComplianceRow(
            id=stakeholder_id,
            label=members[0].stakeholder.name,
            detail=", ".join(channel.title for channel in members),
            compliance=compliance.summed(by_channel.get(channel.pk, NOTHING_DUE) for channel in members),
        )
        for stakeholder_id, members in per_stakeholder.items()
    )
    context["total"] = ComplianceRow(
        id=engagement.pk,
        label=engagement.code,
        compliance=compliance.summed(by_channel.get(channel.pk, NOTHING_DUE) for channel in channels),
    )
    return rows


def _channel_form(request: HttpRequest, engagement: Engagement, **kwargs: Any) -> ChannelForm:
    return ChannelForm(
        request.POST if request.method == "POST" else None,
        stakeholders=selectors.channel_stakeholder_choices(user=request.user, engagement=engagement),
        owners=selectors.channel_owner_choices(user=request.user, engagement=engagement),
        **kwargs,
    )


@login_required
@require_GET
def engagement_plan(request: HttpRequest, pk: int) -> HttpResponse:
    require_shared_section(request.user, "communications.Channel")
    engagement = engagement_get_for_user(user=request.user, id=pk)
    context = window_context(request, window_form(request.GET))
    context |= {
        "engagement": engagement,
        "tab": "plan",
        "can_edit": engagement_can_edit(user=request.user, engagement=engagement),
    }
    context["rows"] = _plan_rows(request, engagement, context)
    return render(request, "communications/plan.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def channel_create(request: HttpRequest, pk: int) -> HttpResponse:
    require_shared_section(request.user, "communications.Channel")
    engagement = engagement_get_for_user(user=request.user, id=pk)
    if not engagement_can_edit(user=request.user, engagement=engagement):
        raise PermissionDenied("You may view this plan but not change it.")
    form = _channel_form(request, engagement)
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.channel_create(
                actor=request.user, engagement=engagement, **form.service_arguments()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Planned “{channel.title}”.")
            return redirect("engagement_plan", pk=engagement.pk)
    context = {"engagement": engagement, "tab": "plan", "form": form, "channel": None}
    return render(request, "communications/plan_channel_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = selectors.channel_get_for_user(user=request.user, id=pk)
    engagement = engagement_get_for_user(user=request.user, id=channel.engagement_id)
    if not engagement_can_edit(user=request.user, engagement=engagement):
        raise PermissionDenied("You may view this plan but not change it.")
    form = _channel_form(request, engagement, initial=ChannelForm.initial_for(channel), editing=True)
    seen_updated_at = request.POST.get("seen_updated_at") or channel.updated_at.isoformat()
    if request.method == "POST" and form.is_valid():
        try:
            services.channel_update(
                actor=request.user,
                channel=channel,
                seen_updated_at=form.cleaned_data["seen_updated_at"],
                **form.service_arguments(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            if exc.code == "stale" or any(e.code == "stale" for e in exc.error_list):
                # The next save is made against what is there now, once the editor has seen it.
                seen_updated_at = selectors.channel_get_for_user(
                    user=request.user, id=pk
                ).updated_at.isoformat()
        else:
            messages.success(request, f"Saved “{form.cleaned_data['title']}”.")
            return redirect("engagement_plan", pk=engagement.pk)
    context = {
        "engagement": engagement,
        "tab": "plan",
        "form": form,
        "channel": channel,
        "seen_updated_at": seen_updated_at,
    }
    return render(request, "communications/plan_channel_form.html", context)


@login_required
@require_POST
def channel_pause(request: HttpRequest, pk: int) -> HttpResponse:
    """Pause an active channel or resume a paused one; htmx gets the row back, others the plan."""
    channel = selectors.channel_get_for_user(user=request.user, id=pk)
    if channel.status == Channel.Status.ACTIVE:
        channel = services.channel_pause(actor=request.user, channel=channel)
        done = "Paused"
    else:
        channel = services.channel_resume(actor=request.user, channel=channel)
        done = "Resumed"
    if request.htmx:  # type: ignore[attr-defined]
        # The swapped row shows the new status; a message would linger until the next full page.
        fresh = selectors.channel_get_for_user(user=request.user, id=pk)
        # The plan page sends its window along, so the swapped row keeps its compliance figure.
        context = window_context(request, window_form(request.GET))
        figures = None
        if context["window"] is not None:
            by_channel = compliance.compliance_by(
                by="channel", user=request.user, window=context["window"], engagement=fresh.engagement
            )
            figures = ComplianceRow(
                id=fresh.pk, label=fresh.title, compliance=by_channel.get(fresh.pk, NOTHING_DUE)
            )
        context |= {"row": _row(fresh, figures), "can_edit": True}
        return render(request, "communications/plan_row.html", context)
    messages.success(request, f"{done} “{channel.title}”.")
    return redirect("engagement_plan", pk=channel.engagement_id)


urlpatterns = [
    path("engagements/<int:pk>/plan/", engagement_plan, name="engagement_plan"),
    path("engagements/<int:pk>/plan/new/", channel_create, name="channel_create"),
    path("channels/<int:pk>/edit/", channel_edit, name="channel_edit"),
    path("channels/<int:pk>/pause/", channel_pause, name="channel_pause"),
]
