from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def check_in_create(request: HttpRequest) -> HttpResponse:
    return redirect("engagement_list")
