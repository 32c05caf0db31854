"""Correcting a logged check-in: editing it (earlier versions kept and shown), deleting it with a reason."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from communications import selectors, services
from communications.forms.check_ins import CheckInDeleteForm, CheckInEditForm
from communications.models import names_as_recorded
from communications.raid import decision_titles
from engagements.policy import Action, engagement_check_can
from pmaas.durations import count_in_words
from pmaas.forms import DATETIME_LOCAL_FORMAT, form_add_service_errors
from pmaas.scoping import require_shared_section


def _timeline_entry_url(engagement_id: int, check_in_id: int | None = None) -> str:
    url = reverse("engagement_timeline", kwargs={"pk": engagement_id})
    # ?check_in= opens the timeline page holding it, wherever it now falls; the anchor scrolls to it.
    return f"{url}?check_in={check_in_id}#check-in-{check_in_id}" if check_in_id else url


def _decisions_told(
    *, filed_before: dict[int, str], filed_after: dict[int, str], decisions_before: str, decisions_after: str
) -> tuple[str, list[str]]:
    """What the correction did to the RAID log, in words: what was filed or reworded, and the
    decisions left there whose line the correction removed (each to be told on its own)."""
    added = [pk for pk in filed_after if pk not in filed_before]
    reworded = [pk for pk, title in filed_before.items() if filed_after.get(pk, title) != title]
    lines_before, lines_after = set(decision_titles(decisions_before)), set(decision_titles(decisions_after))
    left = [
        title
        for pk, title in filed_after.items()
        if filed_before.get(pk) == title and title in lines_before and title not in lines_after
    ]
    done = []
    if added:
        done.append(f"{count_in_words(len(added), 'decision')} filed in the RAID log")
    if reworded:
        done.append(f"{count_in_words(len(reworded), 'decision')} reworded in the RAID log to match")
    return "; ".join(done), left


def _sharing_told(*, was: bool, now: bool, filed: int, filed_shared: int) -> str:
    """What a correction did to who reads the check-in and the decisions filed from it, if anything."""
    if now and not was:
        internal = filed - filed_shared
        return "the client now sees it" + (
            f", though not {count_in_words(internal, 'decision')} filed from it: share those in the RAID log"
            if internal
            else ""
        )
    if was and not now:
        return "the client no longer sees it" + (
            f", nor {count_in_words(filed_shared, 'decision')} filed from it" if filed_shared else ""
        )
    return ""


@login_required
@require_http_methods(["GET", "POST"])
def check_in_edit(request: HttpRequest, pk: int) -> HttpResponse:
    check_in = selectors.check_in_get_for_user(user=request.user, id=pk)
    engagement = check_in.engagement
    # Refused before the form is shown, so nobody types a correction they may not save.
    engagement_check_can(
        user=request.user, engagement=engagement, action=Action.EDIT_CHECK_IN, author_id=check_in.logged_by_id
    )
    filed = selectors.raid_decisions_filed_from(user=request.user, check_in=check_in)
    initial = {
        "occurred_at": timezone.localtime(check_in.occurred_at).strftime(DATETIME_LOCAL_FORMAT),
        "attendees": [s.pk for s in check_in.attendees.all()],
        "team_attendees": [u.pk for u in check_in.team_attendees.all()],
        "summary": check_in.summary,
        "decisions": check_in.decisions,
        "kind": check_in.kind,
        "sentiment": check_in.sentiment,
        "shared_with_client": check_in.shared_with_client,
        # Whoever filed this check-in's decisions once most likely wants a line added now filed too.
        "file_decisions": bool(filed),
        "seen_updated_at": check_in.updated_at.isoformat(),
    }
    form = CheckInEditForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        user=request.user,
        engagement=engagement,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Taking the check-in back takes these back too; the message says how many.
        filed_shared = selectors.raid_decisions_filed_from(
            user=request.user, check_in=check_in, shared_only=True
        )
        try:
            services.check_in_edit(
                actor=request.user,
                check_in=check_in,
                occurred_at=data["occurred_at"],
                summary=data["summary"],
                decisions=data["decisions"],
                attendees=list(data["attendees"]),
                team_attendees=list(data["team_attendees"]),
                kind=data["kind"],
                sentiment=data["sentiment"],
                shared_with_client=data["shared_with_client"],
                seen_updated_at=data["seen_updated_at"],
                file_decisions=data["file_decisions"],
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            done, left = _decisions_told(
                filed_before=filed,
                filed_after=selectors.raid_decisions_filed_from(user=request.user, check_in=check_in),
                decisions_before=check_in.decisions,
                decisions_after=data["decisions"],
            )
            told = [done] if done else []
            shared = _sharing_told(
                was=check_in.shared_with_client,
                now=data["shared_with_client"],
                filed=len(filed),
                filed_shared=len(filed_shared),
            )
            told.extend([shared] if shared else [])
            messages.success(
                request,
                "Check-in corrected; its earlier version is kept in its history"
                + "".join(f"; {part}" for part in told)
                + ".",
            )
            for title in left:
                messages.warning(
                    request,
                    f"The decision “{title}” is no longer in this check-in but stays in the RAID log: "
                    "close it there if it no longer holds.",
                )
            return redirect(_timeline_entry_url(engagement.pk, check_in.pk))
    context = {
        "check_in": check_in,
        "engagement": engagement,
        "form": form,
        "filed_count": len(filed),
        "raid_url": reverse("engagement_raid", kwargs={"pk": engagement.pk}) + "?kind=decision",
    }
    return render(request, "communications/check_in_edit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def check_in_delete(request: HttpRequest, pk: int) -> HttpResponse:
    check_in = selectors.check_in_get_for_user(user=request.user, id=pk)
    engagement = check_in.engagement
    engagement_check_can(user=request.user, engagement=engagement, action=Action.DELETE_CHECK_IN)
    form = CheckInDeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.check_in_delete(
                actor=request.user, check_in=check_in, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(request, "Check-in deleted; the reason is kept with the record of its deletion.")
            return redirect(_timeline_entry_url(engagement.pk))
    context = {"check_in": check_in, "engagement": engagement, "form": form}
    return render(request, "communications/check_in_delete.html", context)


@login_required
@require_GET
def check_in_history(request: HttpRequest, pk: int) -> HttpResponse:
    # Earlier versions are the team's record: a client sees a shared check-in as it stands now.
    require_shared_section(request.user, "communications.CheckInRevision")
    check_in = selectors.check_in_get_for_user(user=request.user, id=pk)
    context = {
        "check_in": check_in,
        "engagement": check_in.engagement,
        # Who took part now, in the words and order each earlier version keeps, so they read alike.
        "attendee_names": names_as_recorded(check_in.attendees.all()),
        "team_attendee_names": names_as_recorded(check_in.team_attendees.all()),
        "revisions": selectors.check_in_revision_list(user=request.user, check_in=check_in),
        "timeline_url": _timeline_entry_url(check_in.engagement_id, check_in.pk),
    }
    return render(request, "communications/check_in_history.html", context)


urlpatterns = [
    path("check-ins/<int:pk>/edit/", check_in_edit, name="check_in_edit"),
    path("check-ins/<int:pk>/delete/", check_in_delete, name="check_in_delete"),
    path("check-ins/<int:pk>/history/", check_in_history, name="check_in_history"),
]
