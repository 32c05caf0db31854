"""Follow-ups of an engagement: the team's and the client's, completing and re-dating them.

follow_up_complete and follow_up_redate serve other pages too (My week): both
take an optional ``next`` to return to without JavaScript, and answer htmx
with the row partial communications/follow_up_row.html for the changed item.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from communications import selectors, services
from communications.forms.follow_ups import REDATE_FIELD_NAMES, BulkCompleteForm, RedateForm
from communications.models import FollowUp
from engagements.selectors import engagement_can_edit, engagement_get_for_user
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors


def _safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return None


def _next_url(request: HttpRequest, follow_up: FollowUp) -> str:
    return _safe_next(request, request.POST.get("next") or request.GET.get("next")) or reverse(
        "engagement_follow_ups", kwargs={"pk": follow_up.engagement_id}
    )


def _is_htmx(request: HttpRequest) -> bool:
    return bool(request.htmx)  # type: ignore[attr-defined]


def _row_context(request: HttpRequest, pk: int) -> dict[str, Any]:
    follow_up = selectors.follow_up_list_with_rights(user=request.user, as_of=timezone.now()).get(pk=pk)
    return {
        "follow_up": follow_up,
        "next": _next_url(request, follow_up),
        "bulk": (request.POST.get("bulk") or request.GET.get("bulk")) == "1",
    }


@login_required
@require_GET
def engagement_follow_ups(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    board = selectors.follow_up_board(user=request.user, engagement=engagement, as_of=timezone.now())
    context = {
        "engagement": engagement,
        "tab": "follow_ups",
        "board": board,
        "can_edit": engagement_can_edit(user=request.user, engagement=engagement),
        "next": request.get_full_path(),
        "bulk": True,
    }
    return render(request, "communications/follow_ups.html", context)


@login_required
@require_POST
def follow_up_bulk_complete(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    form = BulkCompleteForm(request.POST)
    back = _safe_next(request, request.POST.get("next")) or reverse(
        "engagement_follow_ups", kwargs={"pk": pk}
    )
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for errors in form.errors.values() for error in errors))
        return redirect(back)
    result = services.follow_ups_complete_bulk(
        actor=request.user, engagement=engagement, follow_up_ids=form.cleaned_data["follow_up_ids"]
    )
    if result.completed:
        noun = "follow-up" if result.completed == 1 else "follow-ups"
        messages.success(request, f"Completed {result.completed} {noun}.")
    if result.ignored_ids:
        messages.warning(
            request,
            f"{len(result.ignored_ids)} left unchanged: already done, not on this engagement "
            "or not yours to change.",
        )
    return redirect(back)


@login_required
@require_POST
def follow_up_complete(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = selectors.follow_up_get_for_user(user=request.user, id=pk)
    try:
        follow_up = services.follow_up_complete(actor=request.user, follow_up=follow_up)
    except RuleViolation as exc:
        if not _is_htmx(request):
            messages.error(request, exc.message)
    else:
        if not _is_htmx(request):
            messages.success(request, f"Completed “{follow_up.title}”.")
    if _is_htmx(request):
        return render(request, "communications/follow_up_row.html", _row_context(request, pk))
    return redirect(_next_url(request, follow_up))


@login_required
@require_http_methods(["GET", "POST"])
def follow_up_redate(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = selectors.follow_up_get_for_user(user=request.user, id=pk)
    if not selectors.follow_up_can_update_status(user=request.user, follow_up=follow_up):
        raise PermissionDenied("You may view this follow-up but not change it.")
    local_due = timezone.localtime(follow_up.due_at)
    form = RedateForm(
        request.POST if request.method == "POST" else None,
        current_due_at=follow_up.due_at,
        initial={
            "due_on": local_due.date(),
            "due_time": local_due.time().replace(second=0, microsecond=0),
            "seen_updated_at": follow_up.updated_at.isoformat(),
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            follow_up = services.follow_up_redate(
                actor=request.user,
                follow_up=follow_up,
                due_at=form.due_at(),
                seen_updated_at=form.cleaned_data["seen_updated_at"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc, field_names=REDATE_FIELD_NAMES)
        else:
            if _is_htmx(request):
                return render(request, "communications/follow_up_row.html", _row_context(request, pk))
            messages.success(request, f"Re-dated “{follow_up.title}”.")
            return redirect(_next_url(request, follow_up))
    context = {
        "follow_up": follow_up,
        "form": form,
        "next": _next_url(request, follow_up),
        "bulk": (request.POST.get("bulk") or request.GET.get("bulk")) == "1",
    }
    if _is_htmx(request):
        return render(request, "communications/follow_up_redate_row.html", context)
    return render(request, "communications/follow_up_redate.html", context)


urlpatterns = [
    path("engagements/<int:pk>/follow-ups/", engagement_follow_ups, name="engagement_follow_ups"),
    path(
        "engagements/<int:pk>/follow-ups/complete/",
        follow_up_bulk_complete,
        name="follow_up_bulk_complete",
    ),
    path("follow-ups/<int:pk>/complete/", follow_up_complete, name="follow_up_complete"),
    path("follow-ups/<int:pk>/redate/", follow_up_redate, name="follow_up_redate"),
]
