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
from communications.forms.check_ins import FollowUpCommentForm, FollowUpCreateForm, owner_choices
from communications.forms.follow_ups import REDATE_FIELD_NAMES, BulkCompleteForm, RedateForm
from communications.models import FollowUp
from engagements.selectors import engagement_can_edit, engagement_check_editable, engagement_get_for_user
from pmaas.errors import RuleViolation
from pmaas.forms import form_add_service_errors
from pmaas.scoping import parse_id
from pmaas.sharing import is_client_user


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
        "show_engagement": _shows_engagement(request),
    }


def _shows_engagement(request: HttpRequest) -> bool:
    """Whether the row sits in a list across engagements (My week), which names each row's engagement."""
    return (request.POST.get("show_engagement") or request.GET.get("show_engagement")) == "1"


@login_required
@require_GET
def engagement_follow_ups(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    pages = {key: parse_id(request.GET.get(key)) or 1 for key in selectors.FOLLOW_UP_BOARD_SECTIONS}
    board = selectors.follow_up_board(
        user=request.user, engagement=engagement, as_of=timezone.now(), pages=pages
    )
    sections = {
        "overdue": board.overdue,
        "open": board.open,
        "done": board.done,
        "client": board.client_owed,
    }
    can_edit = engagement_can_edit(user=request.user, engagement=engagement)
    context = {
        "engagement": engagement,
        "tab": "follow_ups",
        "board": board,
        # "Complete selected" heads each part of the page that holds a row the reader may tick.
        "selectable_team": _tickable(sections["overdue"], sections["open"], sections["done"]),
        "selectable_client": _tickable(sections["client"]),
        "pager": {key: _pager(request, key, section) for key, section in sections.items()},
        "can_edit": can_edit,
        "next": request.get_full_path(),
        "bulk": True,
    }
    return render(request, "communications/follow_ups.html", context)


def _tickable(*sections: selectors.BoardSection) -> bool:
    return any(
        getattr(follow_up, "may_change", False) and follow_up.status == FollowUp.Status.OPEN
        for section in sections
        for follow_up in section.rows
    )


def _pager(request: HttpRequest, key: str, section: selectors.BoardSection) -> dict[str, str]:
    """The query strings of the section's previous and next pages, the other sections' pages kept."""

    def query(number: int) -> str:
        params = request.GET.copy()
        params[key] = str(number)
        return params.urlencode()

    return {
        "previous": query(section.number - 1) if section.number > 1 else "",
        "next": query(section.number + 1) if section.has_next else "",
        "last_shown": str(section.first + len(section.rows) - 1),
    }


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
    form = RedateForm(
        request.POST if request.method == "POST" else None,
        current_due_at=follow_up.due_at,
        current_due_zone=follow_up.due_zone,
        initial={
            **RedateForm.initial_for(due_at=follow_up.due_at, due_zone=follow_up.due_zone),
            "seen_updated_at": follow_up.updated_at.isoformat(),
        },
    )
    if request.method == "POST" and form.is_valid():
        due_at, due_zone = form.due()
        try:
            follow_up = services.follow_up_redate(
                actor=request.user,
                follow_up=follow_up,
                due_at=due_at,
                due_zone=due_zone,
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
        "show_engagement": _shows_engagement(request),
    }
    if _is_htmx(request):
        return render(request, "communications/follow_up_redate_row.html", context)
    return render(request, "communications/follow_up_redate.html", context)


def _detail_context(
    request: HttpRequest, follow_up: FollowUp, comment_form: FollowUpCommentForm
) -> dict[str, Any]:
    user = request.user
    client = is_client_user(user)
    # Where it came from is the team's bookkeeping: pmaas/sharing.py shares no follow-up's check-in link.
    source = None if client else follow_up.check_in
    return {
        "follow_up": follow_up,
        "engagement": follow_up.engagement,
        "source": source,
        # Re-dates are the team's bookkeeping (pmaas/sharing.py shares none).
        "redates": [] if client else selectors.follow_up_redate_list(user=user, follow_up=follow_up),
        "comments": selectors.follow_up_comments_for(user=user, follow_up=follow_up),
        "comment_form": comment_form,
        "client": client,
        "next": request.get_full_path(),
    }


@login_required
@require_GET
def follow_up_detail(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = selectors.follow_up_get_for_page(user=request.user, id=pk, as_of=timezone.now())
    context = _detail_context(request, follow_up, FollowUpCommentForm())
    return render(request, "communications/follow_up_detail.html", context)


@login_required
@require_POST
def follow_up_comment(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = selectors.follow_up_get_for_page(user=request.user, id=pk, as_of=timezone.now())
    if not follow_up.may_change:  # type: ignore[attr-defined]
        raise PermissionDenied("You may read this follow-up but not comment on it.")
    form = FollowUpCommentForm(request.POST)
    if form.is_valid():
        try:
            services.follow_up_comment_add(
                actor=request.user,
                follow_up=follow_up,
                body=form.cleaned_data["body"],
                shared_with_client=form.cleaned_data["shared_with_client"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Comment added.")
            return redirect(reverse("follow_up_detail", kwargs={"pk": pk}) + "#comments")
    context = _detail_context(request, follow_up, form)
    return render(request, "communications/follow_up_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def follow_up_create(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = engagement_get_for_user(user=request.user, id=pk)
    engagement_check_editable(user=request.user, engagement=engagement)
    stakeholders = selectors.check_in_attendee_choices(user=request.user, engagement=engagement)
    owners = owner_choices(user=request.user, engagement=engagement)
    # From a stakeholder's page the item concerns them; ``next`` leads back there.
    concerned = stakeholders.filter(pk=parse_id(request.GET.get("stakeholder")) or 0).first()
    back = _safe_next(request, request.POST.get("next") or request.GET.get("next")) or reverse(
        "engagement_follow_ups", kwargs={"pk": engagement.pk}
    )
    form = FollowUpCreateForm(
        request.POST if request.method == "POST" else None,
        initial={"stakeholder": concerned.pk if concerned else None},
        owners=owners,
        stakeholders=stakeholders,
    )
    if request.method == "POST" and form.is_valid():
        try:
            follow_up = services.follow_up_create(actor=request.user, engagement=engagement, spec=form.spec())
        except ValidationError as exc:
            form_add_service_errors(form, exc, field_names={"due_at": "due"})
        else:
            messages.success(request, f"Follow-up “{follow_up.title}” recorded.")
            return redirect(back)
    context = {"engagement": engagement, "form": form, "next": back, "concerned": concerned}
    return render(request, "communications/follow_up_create.html", context)


urlpatterns = [
    path("engagements/<int:pk>/follow-ups/", engagement_follow_ups, name="engagement_follow_ups"),
    path("engagements/<int:pk>/follow-ups/new/", follow_up_create, name="follow_up_create"),
    path("follow-ups/<int:pk>/", follow_up_detail, name="follow_up_detail"),
    path("follow-ups/<int:pk>/comments/", follow_up_comment, name="follow_up_comment"),
    path(
        "engagements/<int:pk>/follow-ups/complete/",
        follow_up_bulk_complete,
        name="follow_up_bulk_complete",
    ),
    path("follow-ups/<int:pk>/complete/", follow_up_complete, name="follow_up_complete"),
    path("follow-ups/<int:pk>/redate/", follow_up_redate, name="follow_up_redate"),
]
