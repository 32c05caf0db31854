"""The brief before a planned meeting, as a page (the reminder mail carries the same)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from communications.briefs import meeting_brief_get_for_user


@login_required
@require_GET
def channel_brief(request: HttpRequest, pk: int) -> HttpResponse:
    brief = meeting_brief_get_for_user(user=request.user, channel_id=pk, as_of=timezone.now())
    return render(request, "communications/brief.html", {"brief": brief})


urlpatterns = [
    path("channels/<int:pk>/brief/", channel_brief, name="channel_brief"),
]
