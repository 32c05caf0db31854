from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path


@login_required
def check_in_create(request: HttpRequest) -> HttpResponse:
    return redirect("engagement_list")


urlpatterns = [
    path("check-ins/new/", check_in_create, name="check_in_create"),
]
