"""Search across everything the user may see: engagements, people, check-ins, follow-ups, changes."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from pmaas.scoping import parse_id
from search.selectors import SEARCH_MIN_LENGTH
from workspace import selectors


@login_required
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    kinds = selectors.search_kinds()
    kind = request.GET.get("kind", "")
    if kind not in {k.name for k in kinds}:
        kind = ""
    # A page number that names no page reads as the first page.
    page = parse_id(request.GET.get("page", "1")) or 1
    context = {
        "query": query,
        "kind": kind,
        "kinds": kinds,
        "results": selectors.search_results(user=request.user, query=query, kind=kind or None, page=page),
        "min_length": SEARCH_MIN_LENGTH,
    }
    return render(request, "workspace/search.html", context)


urlpatterns = [
    path("search/", search, name="search"),
]
