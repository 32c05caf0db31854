from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone

from communications import selectors, services
from communications.forms.check_ins import (
    FOLLOW_UP_PREFIX,
    CheckInForm,
    apply_service_errors,
    follow_up_formset,
    initial_from,
    owner_choices,
)
from communications.models import Channel, CheckIn
from engagements.models import Engagement
from engagements.selectors import engagement_get_for_user
from pmaas.forms import DATETIME_LOCAL_FORMAT
from pmaas.scoping import parse_id


def _int(value: str | None) -> int | None:
    return parse_id(value)


def _channel(request: HttpRequest, data: QueryDict) -> Channel | None:
    channel_id = _int(data.get("channel"))
    if channel_id is None:
        return None
    return selectors.channel_list(user=request.user).filter(pk=channel_id).first()


def _engagement(
    request: HttpRequest, data: QueryDict, choices: list[Engagement], channel: Channel | None
) -> Engagement | None:
    """The engagement the form is about: the one chosen, else the channel's, else the user's only one."""
    by_id = {engagement.pk: engagement for engagement in choices}
    if "engagement" in data:
        return by_id.get(_int(data.get("engagement")) or 0)
    if channel is not None:
        return by_id.get(channel.engagement_id)
    return choices[0] if len(choices) == 1 else None


def _first_attendee(request: HttpRequest, engagement: Engagement, ticked: list[str]) -> Any:
    for value in ticked:
        stakeholder = (
            selectors.check_in_attendee_choices(user=request.user, engagement=engagement)
            .filter(pk=_int(value) or 0)
            .first()
        )
        if stakeholder is not None:
            return stakeholder
    return None


def _saved_message(check_in: CheckIn) -> str:
    """What the user is told after saving: the engagement, and the planned meetings it covered."""
    covered = list(check_in.occurrences.select_related("channel").order_by("due_at"))
    text = f"Check-in logged on {check_in.engagement.code}"
    filed = check_in.raid_decisions.count()
    if filed:
        text += f", {filed} decision{'s' if filed != 1 else ''} filed in the RAID log"
    if not covered:
        return text + "."
    labels = [f"{o.channel.title}, due {services.due_in_words(o.due_at)}" for o in covered]
    return f"{text}; it covers {'; '.join(labels)}."


def _cover_candidates(request: HttpRequest, form: CheckInForm) -> list[Channel]:
    """The planned meetings to offer when the user must say which this check-in covers."""
    if not form.is_bound or "covers" not in form.errors and not form.data.get("covers_asked"):
        return []
    data = getattr(form, "cleaned_data", {})
    engagement, attendees, occurred_at = (
        data.get("engagement"),
        data.get("attendees"),
        data.get("occurred_at"),
    )
    if engagement is None or not attendees or occurred_at is None:
        return []
    return selectors.check_in_cover_candidates(
        user=request.user, engagement=engagement, attendees=list(attendees), occurred_at=occurred_at
    )


def _after_save_url(engagement: Engagement) -> str:
    try:
        return reverse("engagement_timeline", kwargs={"pk": engagement.pk})
    except NoReverseMatch:
        return reverse("home")


@login_required
def check_in_create(request: HttpRequest) -> HttpResponse:
    choices = list(selectors.check_in_engagement_choices(user=request.user))
    if request.method == "POST" and not choices:
        raise PermissionDenied("Only the engagement's team logs check-ins.")
    data = request.POST if request.method == "POST" else request.GET
    channel = _channel(request, data)
    engagement = _engagement(request, data, choices, channel)
    if channel is not None and (engagement is None or channel.engagement_id != engagement.pk):
        channel = None
    owners = owner_choices(user=request.user, engagement=engagement)
    saving = request.method == "POST" and not ({"add_follow_up", "choose_engagement"} & set(data))

    if saving:
        form = CheckInForm(data, user=request.user, engagement=engagement)
        formset = follow_up_formset(owners=owners, data=data)
        if form.is_valid() and formset.is_valid():
            spec_rows = [i for i, row in enumerate(formset.forms) if row.has_changed()]
            try:
                check_in = services.check_in_log(
                    actor=request.user,
                    engagement=form.cleaned_data["engagement"],
                    channel=form.cleaned_data["channel"],
                    occurred_at=form.cleaned_data["occurred_at"],
                    summary=form.cleaned_data["summary"],
                    attendees=list(form.cleaned_data["attendees"]),
                    team_attendees=list(form.cleaned_data["team_attendees"]),
                    kind=form.cleaned_data["kind"],
                    sentiment=form.cleaned_data["sentiment"],
                    decisions=form.cleaned_data["decisions"],
                    shared_with_client=form.cleaned_data["shared_with_client"],
                    covers=form.covers_answer(),
                    follow_ups=[formset.forms[i].spec() for i in spec_rows],
                    file_decisions=form.cleaned_data["file_decisions"],
                )
            except ValidationError as exc:
                apply_service_errors(exc, form=form, formset=formset, spec_rows=spec_rows)
            else:
                messages.success(request, _saved_message(check_in))
                return redirect(_after_save_url(check_in.engagement))
    else:
        initial, rows = initial_from(data)
        if f"{FOLLOW_UP_PREFIX}-TOTAL_FORMS" not in data:
            initial.update(_fresh_initial(request, engagement, channel, data))
        initial["engagement"] = engagement.pk if engagement is not None else None
        initial["channel"] = channel.pk if channel is not None else None
        form = CheckInForm(initial=initial, user=request.user, engagement=engagement)
        adding = "add_follow_up" in data
        extra = len(rows) + 1 if adding or not rows else len(rows)
        formset = follow_up_formset(owners=owners, initial=rows, extra=extra)

    ticked = [str(v) for v in (form["attendees"].value() or [])]
    still_open = None
    if engagement is not None:
        stakeholder = (
            channel.stakeholder if channel is not None else _first_attendee(request, engagement, ticked)
        )
        if stakeholder is not None:
            still_open = selectors.check_in_still_open(
                user=request.user, engagement=engagement, stakeholder=stakeholder, as_of=timezone.now()
            )
    context = {
        "form": form,
        "formset": formset,
        "engagement": engagement,
        "channel": channel,
        "has_engagements": bool(choices),
        "attendee_options": list(form.fields["attendees"].queryset),  # type: ignore[attr-defined]
        "ticked": ticked,
        "still_open": still_open,
        "cover_candidates": _cover_candidates(request, form),
        "covers_ticked": {parse_id(v) for v in form["covers"].value() or []},
    }
    if getattr(request, "htmx", False) and request.method == "GET":
        template = (
            "communications/check_in_follow_ups.html"
            if "add_follow_up" in data
            else "communications/check_in_fields.html"
        )
        return render(request, template, context)
    return render(request, "communications/check_in_form.html", context)


def _fresh_initial(
    request: HttpRequest, engagement: Engagement | None, channel: Channel | None, data: QueryDict
) -> dict[str, Any]:
    """Defaults for a new check-in: now, in the user's zone; the channel's stakeholder and kind; me."""
    initial: dict[str, Any] = {
        "occurred_at": timezone.localtime().strftime(DATETIME_LOCAL_FORMAT),
        "team_attendees": [str(request.user.pk)],
    }
    if channel is not None:
        initial["attendees"] = [str(channel.stakeholder_id)]
        initial["kind"] = channel.kind
    elif data.get("stakeholder"):
        initial["attendees"] = [data["stakeholder"]]
    return initial


@login_required
def check_in_attendee_options(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    query = request.GET.get("q", "").strip()
    ticked = [value for value in request.GET.getlist("attendees") if _int(value) is not None]
    stakeholders = selectors.check_in_attendee_choices(user=request.user, engagement=engagement)
    if query:
        stakeholders = stakeholders.filter(
            Q(pk__in=[int(value) for value in ticked])
            | Q(name__icontains=query)
            | Q(title__icontains=query)
            | Q(department__icontains=query)
            | Q(email__icontains=query)
        )
    context = {"attendee_options": list(stakeholders), "ticked": ticked, "query": query}
    return render(request, "communications/check_in_attendee_options.html", context)


urlpatterns = [
    path("check-ins/new/", check_in_create, name="check_in_create"),
    path(
        "engagements/<int:pk>/attendee-options/",
        check_in_attendee_options,
        name="check_in_attendee_options",
    ),
]
