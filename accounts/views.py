import hashlib
from typing import cast

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts import selectors, services
from accounts.forms import PasswordChangeForm, PreferencesForm
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
                saved = services.user_update_preferences(user=user, **form.cleaned_data)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                messages.success(request, "Your settings are saved.")
                if saved.confirmation_sent_to:
                    messages.info(
                        request,
                        f"We sent a link to {saved.confirmation_sent_to}. Your email address changes "
                        "when you open it; until then it stays as it was.",
                    )
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
    # Whole seconds: a <time datetime> with microseconds is not a valid date-time string.
    now = timezone.now().replace(microsecond=0)
    context = {"form": form, "now": now, "zone_name": timezone.get_current_timezone_name()}
    return render(request, "accounts/account_settings.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def account_password(request: HttpRequest) -> HttpResponse:
    """Change one's own password; the other sessions end, this one stays logged in."""
    user = cast(User, request.user)
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        old_key = request.session.session_key
        try:
            services.password_change(
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
                current_key=request.session.session_key,
            )
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            update_session_auth_hash(request, user)
            services.session_renewed(old_key=old_key, new_key=request.session.session_key)
            messages.success(request, "Your password is changed. You are logged out everywhere else.")
            return redirect("account_settings")
    return render(request, "accounts/password_change.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def account_sessions(request: HttpRequest) -> HttpResponse:
    """Where the user is logged in; end one session, or every one but this."""
    user = cast(User, request.user)
    current_key = request.session.session_key
    if request.method == "POST":
        if request.POST.get("end") == "others":
            ended = services.sessions_end_others(user=user, current_key=current_key)
            messages.success(request, f"Logged out of {ended} other session{'s' if ended != 1 else ''}.")
        else:
            session = selectors.session_get_for_user(user=user, id=request.POST.get("session"))
            if session.session_key == current_key:
                messages.error(request, "That is this session: use Log out to end it.")
            else:
                services.session_end(user=user, session=session)
                messages.success(request, "That session is logged out.")
        return redirect("account_sessions")
    sessions = selectors.session_list_for_user(user=user)
    return render(request, "accounts/sessions.html", {"sessions": sessions, "current_key": current_key})


@login_required
@require_http_methods(["GET", "POST"])
def email_change_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The page a confirmation link opens: it asks before it changes anything (mail scanners follow links)."""
    user = cast(User, request.user)
    try:
        if request.method == "POST":
            services.user_confirm_email_change(user=user, token=token)
            messages.success(request, f"Your email address is now {user.email}.")
            return redirect("account_settings")
        address = services.email_change_read(user=user, token=token)
    except ValidationError as exc:
        return render(request, "accounts/email_change_confirm.html", {"error": exc.messages[0]}, status=400)
    return render(request, "accounts/email_change_confirm.html", {"address": address})


class LoginView(auth_views.LoginView):
    """Django's login page, noting the browser and address of each session it starts."""

    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        key = self.request.session.session_key
        if key:
            services.session_record(
                user=form.get_user(),
                session_key=key,
                user_agent=self.request.headers.get("User-Agent", ""),
                ip_address=get_client_ip_address(self.request),
                as_of=timezone.now(),
            )
        return response


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
