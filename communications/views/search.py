from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path


@login_required
def search(request: HttpRequest) -> HttpResponse:
    return redirect("engagement_list")


urlpatterns = [
    path("search/", search, name="search"),
]
