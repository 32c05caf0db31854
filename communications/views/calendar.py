"""Calendar feeds: the secret .ics URL calendar clients poll, and the page that opens and revokes them."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import selectors as account_selectors
from accounts.models import CalendarFeed, User
from communications import calendar
from communications import calendar_feeds as feeds
from communications.forms.calendar import CalendarFeedForm
from engagements.selectors import engagement_get_for_user, engagement_list
from pmaas.errors import NotAllowed
from pmaas.scoping import require_shared_section


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    # No login: calendar clients cannot log in, so the secret in the URL is the credential.
    feed = account_selectors.calendar_feed_get_by_token(token_hash=feeds.calendar_feed_token_hash(token))
    if feed is None:
        raise Http404("No such calendar feed.")
    channels = calendar.feed_channels(feed=feed)
    now = timezone.now()
    body = calendar.build_calendar(feed=feed, channels=channels, as_of=now)
    feeds.calendar_feed_mark_used(feed=feed, as_of=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="check-ins.ics"'
    # The URL is a secret: keep it out of shared caches and out of Referer headers.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _feed_url(request: HttpRequest, secret: str) -> str:
    return request.build_absolute_uri(reverse("calendar_feed", kwargs={"token": secret}))


@login_required
@require_http_methods(["GET", "POST"])
def calendar_feeds(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    # A feed is the communication plan as calendar events: the firm's, not shared with clients.
    require_shared_section(user, "communications.Channel")
    engagements = engagement_list(user=user)
    context: dict[str, Any] = {}
    if request.method == "POST":
        form = CalendarFeedForm(request.POST, engagements=engagements)
        if form.is_valid():
            engagement = form.cleaned_data["engagement"]
            if engagement is not None:
                # Re-read through the one door, so scope decides and not the form's queryset alone.
                engagement = engagement_get_for_user(user=user, id=engagement.pk)
            try:
                feed, secret = feeds.calendar_feed_create(actor=user, engagement=engagement)
            except NotAllowed:
                raise Http404("No such engagement.") from None
            # The secret exists only in this response: the page is rendered, not redirected to.
            context["created"] = {"feed": feed, "url": _feed_url(request, secret)}
            form = CalendarFeedForm(engagements=engagements)
    else:
        initial = {}
        wanted = request.GET.get("engagement", "")
        if wanted.isdigit():
            initial["engagement"] = engagement_get_for_user(user=user, id=int(wanted))
        form = CalendarFeedForm(initial=initial, engagements=engagements)
    context |= {"form": form, "feeds": list(account_selectors.calendar_feed_list(user=user))}
    return render(request, "communications/calendar_feeds.html", context)


@login_required
@require_POST
def calendar_feed_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = cast(User, request.user)
    feed: CalendarFeed = account_selectors.calendar_feed_get_for_user(user=user, id=pk)
    feeds.calendar_feed_revoke(actor=user, feed=feed)
    messages.success(request, "The feed is revoked: its address no longer works.")
    return redirect("calendar_feeds")


urlpatterns = [
    path("calendar/<str:token>.ics", calendar_feed, name="calendar_feed"),
    path("account/calendar/", calendar_feeds, name="calendar_feeds"),
    path("account/calendar/<int:pk>/revoke/", calendar_feed_revoke, name="calendar_feed_revoke"),
]
