"""My week: what is due, what is owed, who must be told, who has gone quiet, what is new.

The home page of everyone but practice leads, whose home is the portfolio
(they review the firm's engagements more than they run their own week).
"""

from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from accounts.models import User
from communications import obligations, selectors, silence
from workspace import dashboards as dashboards_reads
from workspace.client_dashboard import client_dashboard
from workspace.views import dashboards


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if getattr(request.user, "role", None) == User.Role.PRACTICE_LEAD:
        return dashboards.portfolio(request)
    return my_week(request)


@login_required
def my_week(request: HttpRequest) -> HttpResponse:
    as_of = timezone.now()
    user = request.user
    if not getattr(user, "is_firm_member", False):
        context = {
            "as_of": as_of,
            "dashboard": client_dashboard(user=user, as_of=as_of, today=timezone.localdate(as_of)),
        }
        return render(request, "workspace/week_client.html", context)
    whole_team = request.GET.get("scope") == "team"
    context = {
        "as_of": as_of,
        "whole_team": whole_team,
        "channels_due": list(selectors.week_channels_due(user=user, as_of=as_of, whole_team=whole_team)),
        "follow_ups": list(selectors.week_follow_ups(user=user, as_of=as_of)),
        "obligations": list(obligations.obligations_open_for_owner(user=user, as_of=as_of)),
        **_gone_quiet(user=user, as_of=as_of),
        **_needing_attention(user=user, as_of=as_of),
        "recent": selectors.week_recent_check_ins(user=user),
    }
    return render(request, "workspace/week.html", context)


def _gone_quiet(*, user: Any, as_of: datetime) -> dict[str, Any]:
    """Flagged sponsors and PMO leads first; the other relationships behind cadence without repeating them."""
    flags = silence.silence_flags_open_for_owner(user=user, as_of=as_of)
    flagged = {(flag.engagement_id, flag.stakeholder_id) for flag in flags}
    quiet = [
        item
        for item in selectors.week_quiet_stakeholders(user=user, as_of=as_of)
        if (item.role.engagement_id, item.role.stakeholder_id) not in flagged
    ]
    # Someone who owns none of them (a practice lead) still learns of silent sponsors in their scope.
    elsewhere = (
        silence.silence_flag_list(user=user).open().exclude(pk__in=[flag.pk for flag in flags]).count()
    )
    return {"silence_flags": flags, "quiet": quiet, "silent_elsewhere": elsewhere}


# Enough to act on this week; the rest, in the same order, are the portfolio's (sorted by health).
ATTENTION_ON_WEEK = 10


def _needing_attention(*, user: Any, as_of: datetime) -> dict[str, Any]:
    """The first running engagements in scope whose effective health is not green, red first, and
    whether there are more; one query that reads one row beyond them, however many there are."""
    rows = list(
        dashboards_reads.engagements_needing_attention(user=user, as_of=as_of)[: ATTENTION_ON_WEEK + 1]
    )
    return {"attention": rows[:ATTENTION_ON_WEEK], "attention_more": len(rows) > ATTENTION_ON_WEEK}


urlpatterns = [
    path("", home, name="home"),
    path("week/", my_week, name="my_week"),
]
