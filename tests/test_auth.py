"""Logging in and out, lockout after repeated failures, and password reset by email."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from tests import factories

WRONG_PASSWORD = "not-the-password"
ATTACKER_ADDRESS = "203.0.113.7"
COLLEAGUE_ADDRESS = "198.51.100.20"


@pytest.fixture
def csrf_client() -> Client:
    """A client that, like a browser, has to send the CSRF token the page gave it."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def consultant_on_an_engagement(db: None) -> User:
    """Like a demo login: a consultant on one engagement's team."""
    user = factories.consultant(username="dana", email="dana@firm.test")
    factories.make_engagement(
        lead=user, code="EHR-7", name="EHR rollout", client=factories.make_client(name="Mercy")
    )
    return user


def _log_in(csrf_client: Client, username: str, password: str, **extra: Any) -> Any:
    csrf_client.get(reverse("login"), **extra)
    return csrf_client.post(
        reverse("login"),
        {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": csrf_client.cookies["csrftoken"].value,
        },
        **extra,
    )


def test_login_page_renders_a_form_with_a_reset_link(csrf_client, db):
    # When someone opens the login page
    response = csrf_client.get(reverse("login"))

    # Then it asks for username and password, and offers a password reset
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="username"' in body
    assert 'name="password"' in body
    assert reverse("password_reset") in body


def test_a_consultant_logs_in_and_sees_their_engagements(csrf_client, consultant_on_an_engagement):
    # When the consultant logs in with the right password
    response = _log_in(csrf_client, "dana", factories.PASSWORD)

    # Then they land on the home page, which lists their engagement
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert csrf_client.get(reverse("home")).status_code in (200, 302)
    home = csrf_client.get(reverse("engagement_list"))
    assert home.status_code == 200
    assert "EHR-7" in home.content.decode()
    assert "Mercy" in home.content.decode()


def test_a_wrong_password_shows_an_error_and_keeps_the_username(csrf_client, consultant_on_an_engagement):
    # When the consultant mistypes the password
    response = _log_in(csrf_client, "dana", WRONG_PASSWORD)

    # Then the form comes back with an error, the username still filled in
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="alert"' in body
    assert "correct username and password" in body
    assert 'value="dana"' in body
    assert not response.wsgi_request.user.is_authenticated


def test_repeated_failures_lock_out_that_username_from_that_address_only(
    csrf_client, consultant_on_an_engagement
):
    colleague = factories.consultant(username="sam")
    limit = settings.AXES_FAILURE_LIMIT

    # Given one failure short of the limit, the form still answers normally
    for _ in range(limit - 1):
        assert _log_in(csrf_client, "dana", WRONG_PASSWORD, REMOTE_ADDR=ATTACKER_ADDRESS).status_code == 200

    # When the limit is reached
    locked = _log_in(csrf_client, "dana", WRONG_PASSWORD, REMOTE_ADDR=ATTACKER_ADDRESS)

    # Then that username is refused from that address, even with the right password
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    again = _log_in(csrf_client, "dana", factories.PASSWORD, REMOTE_ADDR=ATTACKER_ADDRESS)
    assert again.status_code == 429
    assert not again.wsgi_request.user.is_authenticated

    # But another username from the same address still logs in
    other_user = Client(enforce_csrf_checks=True)
    assert (
        _log_in(other_user, colleague.username, factories.PASSWORD, REMOTE_ADDR=ATTACKER_ADDRESS).status_code
        == 302
    )

    # And the same username from another address too
    elsewhere = Client(enforce_csrf_checks=True)
    assert _log_in(elsewhere, "dana", factories.PASSWORD, REMOTE_ADDR=COLLEAGUE_ADDRESS).status_code == 302


def test_password_reset_mails_a_link_that_sets_a_new_password(client, consultant_on_an_engagement):
    # When the consultant asks for a reset link
    response = client.post(reverse("password_reset"), {"email": "dana@firm.test"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")

    # Then one mail arrives with a link
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["dana@firm.test"]
    match = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", str(message.body))
    assert match, message.body

    # And following it lets them choose a new password
    form_page = client.get(match.group(1), follow=True)
    assert form_page.status_code == 200
    assert form_page.context["validlink"]
    set_password_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_password_url,
        {"new_password1": "a-brand-new-passphrase-42", "new_password2": "a-brand-new-passphrase-42"},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")

    # And the new password works while the old one no longer does
    assert _log_in(Client(enforce_csrf_checks=True), "dana", factories.PASSWORD).status_code == 200
    assert _log_in(Client(enforce_csrf_checks=True), "dana", "a-brand-new-passphrase-42").status_code == 302

    # And the link works only once
    reused = client.get(match.group(1), follow=True)
    assert not reused.context["validlink"]


def test_password_reset_does_not_reveal_unknown_addresses(client, db):
    # When someone asks for a link for an address no account uses
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})

    # Then the answer is the same, and no mail goes out
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_logging_out_takes_a_post(client, consultant_on_an_engagement):
    client.force_login(consultant_on_an_engagement)

    # A link (GET) cannot log anyone out
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("engagement_list")).status_code == 200

    # When the consultant logs out with the form (POST)
    response = client.post(reverse("logout"))

    # Then they are back at the login page, and the home page asks them to log in
    assert response.status_code == 302
    assert response["Location"] == reverse("login")
    assert client.get(reverse("engagement_list")).status_code == 302


def _main(response: Any) -> str:
    # The page's content without the header, whose CSRF token changes on every render.
    match = re.search(r"<main.*</main>", response.content.decode(), re.DOTALL)
    assert match, response.content
    return match.group(0)


def test_a_second_password_reset_within_the_interval_sends_no_mail_and_looks_the_same(
    client, consultant_on_an_engagement
):
    # Given a reset link was just mailed to the consultant
    first = client.post(reverse("password_reset"), {"email": "dana@firm.test"})
    assert len(mail.outbox) == 1

    # When someone asks again for the same address, spelled differently
    second = client.post(reverse("password_reset"), {"email": "Dana@Firm.test"})

    # Then the answer is the same page, and still only one mail went out
    assert (second.status_code, second["Location"]) == (first.status_code, first["Location"])
    assert _main(client.get(second["Location"])) == _main(client.get(first["Location"]))
    assert len(mail.outbox) == 1


def test_a_password_reset_is_mailed_again_once_the_interval_has_passed(client, consultant_on_an_engagement):
    # Given a reset link was mailed to the consultant
    client.post(reverse("password_reset"), {"email": "dana@firm.test"})

    # When the interval passes and they ask again
    with time_machine.travel(timezone.now() + settings.PASSWORD_RESET_INTERVAL + timedelta(seconds=1)):
        client.post(reverse("password_reset"), {"email": "dana@firm.test"})

    # Then a second mail goes out
    assert len(mail.outbox) == 2
