from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from engagements import selectors


@login_required
def engagement_list(request: HttpRequest) -> HttpResponse:
    engagements = selectors.engagement_list(user=request.user)
    return render(request, "engagements/engagement_list.html", {"engagements": engagements})


@login_required
def engagement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    engagement = selectors.engagement_get_for_user(user=request.user, id=pk)
    context = {
        "engagement": engagement,
        "can_edit": selectors.engagement_can_edit(user=request.user, engagement=engagement),
        "tab": "overview",
    }
    return render(request, "engagements/engagement_detail.html", context)
