from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from engagements import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    engagements = selectors.engagement_list(user=request.user)
    return render(request, "engagements/home.html", {"engagements": engagements})
