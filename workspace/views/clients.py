"""A client's settings page: its time zone, country and holiday region, and what they make of the year."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from engagements import selectors, services
from engagements.models import Client
from engagements.working_days import engagement_calendar, working_day_calendar
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors
from pmaas.sharing import is_client_user
from workspace.forms.clients import ClientSettingsForm, client_settings_initial

# The page lists the public holidays of the coming year under the client's calendar.
HOLIDAYS_AHEAD = timedelta(days=365)


def _can_edit(user: object) -> bool:
    return bool(getattr(user, "sees_all_engagements", False))


def _page(request: HttpRequest, client: Client, form: ClientSettingsForm | None) -> HttpResponse:
    user = request.user
    context: dict[str, object] = {"client": client, "form": form, "can_edit": form is not None}
    if not is_client_user(user):
        today = timezone.localdate()
        calendar = working_day_calendar(country=client.country, subdivision=client.holiday_subdivision)
        engagements = list(selectors.engagement_list(user=user).filter(client=client))
        context.update(
            holidays=calendar.public_holidays(today, today + HOLIDAYS_AHEAD),
            has_public_holidays=calendar.has_public_holidays,
            engagements=[
                (engagement, effective.country, effective.subdivision)
                for engagement in engagements
                for effective in [engagement_calendar(engagement)]
            ],
        )
    return render(request, "workspace/client_settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def client_settings(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.client_get_for_user(user=request.user, id=pk)
    if request.method == "GET":
        form = (
            ClientSettingsForm(initial=client_settings_initial(client), country=client.country)
            if _can_edit(request.user)
            else None
        )
        return _page(request, client, form)
    if not _can_edit(request.user):
        raise PermissionDenied("Only practice leads and administrators may change a client's settings.")
    form = ClientSettingsForm(request.POST, country=client.country)
    if form.is_valid():
        try:
            services.client_update(
                actor=request.user,
                client=client,
                time_zone=form.cleaned_data["time_zone"],
                country=form.cleaned_data["country"],
                holiday_subdivision=form.cleaned_data["holiday_subdivision"],
                seen_updated_at=form.cleaned_data["updated_at"],
            )
        except (ValidationError, RuleViolation) as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, f"Settings of {client.name} saved.")
            return redirect("client_settings", pk=client.pk)
    return _page(request, client, form)


urlpatterns = [
    path("clients/<int:pk>/settings/", client_settings, name="client_settings"),
]
