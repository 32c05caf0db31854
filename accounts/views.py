import hashlib
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts import services
from accounts.forms import PreferencesForm
from accounts.models import User
from pmaas.forms import form_add_service_errors


@login_required
def account_settings(request: HttpRequest) -> HttpResponse:
    # login_required guarantees a real user, never AnonymousUser.
    user = cast(User, request.user)
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                services.user_update_preferences(user=user, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, "Your settings are saved.")
                return redirect("account_settings")
    else:
        form = PreferencesForm(
            initial={
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "time_zone": user.time_zone or "UTC",
            }
        )
    context = {"form": form, "now": timezone.now(), "zone_name": timezone.get_current_timezone_name()}
    return render(request, "accounts/account_settings.html", context)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, mailing each address at most once per ``PASSWORD_RESET_INTERVAL``.

    A request for an address already mailed within the interval is answered
    with the same "sent" page and sends nothing, so the form can neither
    flood an inbox nor tell whether a second mail went out.
    """

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        address = form.cleaned_data["email"].strip().casefold()
        key = "password-reset:" + hashlib.sha256(address.encode()).hexdigest()
        # add() writes only when the key is absent: the first request of the interval wins.
        if cache.add(key, True, timeout=settings.PASSWORD_RESET_INTERVAL.total_seconds()):
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())
