"""The notification list under the bell, marking read, and the notification preferences."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts.models import User
from notifications import selectors, services
from notifications.forms import (
    NotificationActionForm,
    NotificationFilterForm,
    NotificationPreferenceForm,
)
from pmaas.forms import form_add_service_errors

NOTIFICATIONS_PAGE_SIZE = 25


def _list_url(request: HttpRequest) -> str:
    # Back to the same filter and page the button was pressed on.
    query = request.GET.urlencode()
    return reverse("notification_list") + (f"?{query}" if query else "")


def _safe_target(request: HttpRequest, url: str) -> str | None:
    # Notification links are paths inside the app; anything else is not followed.
    if url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return None


def _act(request: HttpRequest) -> HttpResponse:
    form = NotificationActionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Say which notification to mark read, or all of them.")
    now = timezone.now()
    if form.cleaned_data["all"]:
        changed = services.notifications_mark_all_read(user=request.user, as_of=now)
        messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} read.")
        return redirect(_list_url(request))
    notification = services.notification_mark_read(
        user=request.user, notification_id=form.cleaned_data["notification"], as_of=now
    )
    if form.cleaned_data["open"]:
        return redirect(_safe_target(request, notification.url) or _list_url(request))
    htmx = request.htmx  # type: ignore[attr-defined]
    if htmx:
        return render(
            request,
            "notifications/notification_row.html",
            {"notification": notification, "swap_bell": True},
        )
    return redirect(_list_url(request))


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _act(request)
    form = NotificationFilterForm(request.GET)
    unread_only = form.unread_only()
    rows = selectors.notification_list(user=request.user, unread_only=unread_only)
    page = Paginator(rows, NOTIFICATIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict[str, Any] = {"form": form, "page": page, "unread_only": unread_only}
    return render(request, "notifications/notifications.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    preference = selectors.preference_for(user=cast(User, request.user))
    if request.method == "POST":
        form = NotificationPreferenceForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.notification_preference_save(user=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, "Your notification preferences are saved.")
                return redirect("notification_preferences")
    else:
        form = NotificationPreferenceForm(
            initial=NotificationPreferenceForm.initial_from(preference), user=request.user
        )
    zone_name = getattr(request.user, "time_zone", "UTC")
    context = {"form": form, "zone_name": zone_name, "hourly_cap": settings.EMAIL_HOURLY_CAP}
    return render(request, "notifications/notification_preferences.html", context)
