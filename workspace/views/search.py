"""Search across engagements, stakeholders and check-ins the user may see."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from workspace import selectors


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    context = {
        "query": query,
        "results": selectors.search_results(user=request.user, query=query),
        "min_length": selectors.SEARCH_MIN_LENGTH,
    }
    return render(request, "workspace/search.html", context)


urlpatterns = [
    path("search/", search, name="search"),
]
