"""A user changes their own password, and sees and ends the other sessions they are logged in with."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import UserSession
from tests import factories
from tests.factories import PASSWORD

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Safari/604.1"
)
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
NEW_PASSWORD = "a-long-new-passphrase-41"


def _browser(user, agent: str) -> Client:
    """A browser that logged in through the login page, as a person does."""
    browser = Client(HTTP_USER_AGENT=agent)
    response = browser.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the login page refused the test user"
    return browser


def _logged_in(browser: Client) -> bool:
    return browser.get(reverse("account_settings")).status_code == 200


@pytest.mark.django_db
def test_the_sessions_page_lists_each_browser_and_marks_this_one():
    # Given a consultant logged in on a phone and on a laptop
    user = factories.consultant()
    phone, laptop = _browser(user, PHONE), _browser(user, LAPTOP)

    # When they look from the laptop
    body = laptop.get(reverse("account_sessions")).content.decode()

    # Then both browsers are listed, the laptop as this one
    assert "Safari on iPhone" in body
    assert re.search(r"Firefox on Windows\s*<strong>\(this browser\)</strong>", body)
    assert body.count('name="session"') == 1  # only the phone can be logged out from here
    assert _logged_in(phone)


@pytest.mark.django_db
def test_the_sessions_are_the_apps_table_each_cell_named_for_a_phone_and_each_button_for_its_browser():
    # Given a consultant logged in on a phone and on a laptop
    user = factories.consultant()
    _browser(user, PHONE)
    laptop = _browser(user, LAPTOP)

    # When they look from the laptop
    body = laptop.get(reverse("account_sessions")).content.decode()

    # Then the list is drawn like every other table; on a phone, where each row becomes a block
    # of lines, every cell says which column it is; the one Log out button names the phone
    table = body[body.index("<table") : body.index("</table>")]
    assert table.startswith('<table class="table')
    for column in ("Browser", "Address", "Logged in", "Action"):
        assert table.count(f'<td data-label="{column}">') == 2, column
    assert re.search(r'aria-label="Log out Safari on iPhone, logged in [^"]+">Log out</button>', table)


@pytest.mark.django_db
def test_logging_out_another_session_ends_it_and_keeps_this_one():
    user = factories.consultant()
    phone, laptop = _browser(user, PHONE), _browser(user, LAPTOP)
    phone_row = UserSession.objects.get(user=user, user_agent=PHONE)

    # When the laptop logs the phone out
    response = laptop.post(reverse("account_sessions"), {"session": phone_row.pk}, follow=True)

    # Then the phone is logged out, the laptop is not, and the list says so
    assert "That session is logged out." in response.content.decode()
    assert not _logged_in(phone)
    assert _logged_in(laptop)
    assert "Safari on iPhone" not in laptop.get(reverse("account_sessions")).content.decode()


@pytest.mark.django_db
def test_someone_elses_session_cannot_be_ended_and_answers_404():
    owner, other = factories.consultant(), factories.consultant()
    owners_phone = _browser(owner, PHONE)
    row = UserSession.objects.get(user=owner)
    intruder = _browser(other, LAPTOP)

    response = intruder.post(reverse("account_sessions"), {"session": row.pk})

    assert response.status_code == 404
    assert _logged_in(owners_phone)


@pytest.mark.django_db
def test_log_out_everywhere_else_ends_every_other_session():
    user = factories.consultant()
    browsers = [_browser(user, PHONE), _browser(user, LAPTOP), _browser(user, PHONE)]

    response = browsers[1].post(reverse("account_sessions"), {"end": "others"}, follow=True)

    assert "Logged out of 2 other sessions." in response.content.decode()
    assert [_logged_in(b) for b in browsers] == [False, True, False]


@pytest.mark.django_db
def test_a_logged_out_browser_is_no_longer_listed():
    user = factories.consultant()
    phone, laptop = _browser(user, PHONE), _browser(user, LAPTOP)

    phone.post(reverse("logout"))

    assert "Safari on iPhone" not in laptop.get(reverse("account_sessions")).content.decode()


@pytest.mark.django_db
def test_changing_the_password_logs_out_the_other_browsers_and_keeps_this_one():
    user = factories.consultant()
    phone, laptop = _browser(user, PHONE), _browser(user, LAPTOP)

    # When the consultant changes their password on the laptop
    response = laptop.post(
        reverse("account_password"),
        {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD},
        follow=True,
    )

    # Then the laptop stays logged in, the phone is out, and the new password works
    assert "Your password is changed" in response.content.decode()
    assert _logged_in(laptop)
    assert not _logged_in(phone)
    fresh = Client()
    assert (
        fresh.post(reverse("login"), {"username": user.username, "password": NEW_PASSWORD}).status_code == 302
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "again", "field", "message"),
    [
        ("wrong-password", NEW_PASSWORD, NEW_PASSWORD, "old_password", "That is not your current password."),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "new_password_again", "The two new passwords differ"),
        (PASSWORD, "short", "short", "new_password", "too short"),
    ],
)
def test_a_refused_password_change_says_why_beside_the_field_and_changes_nothing(
    old, new, again, field, message
):
    user = factories.consultant()
    browser = _browser(user, LAPTOP)

    response = browser.post(
        reverse("account_password"), {"old_password": old, "new_password": new, "new_password_again": again}
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(rf'id="id_{field}-errors">.*{re.escape(message)}', body, re.S)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert _logged_in(browser)


@pytest.mark.django_db
def test_the_settings_time_is_a_valid_html_date_time_without_fractions(client):
    client.force_login(factories.consultant())

    body = client.get(reverse("account_settings")).content.decode()

    found = re.search(r'<time datetime="([^"]+)"', body)
    assert found is not None
    stamp = found.group(1)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", stamp), stamp


@pytest.mark.django_db
def test_the_sessions_page_reads_a_fixed_number_of_queries(django_assert_num_queries):
    # Given a consultant on two browsers, then on seven
    user = factories.consultant()
    laptop = _browser(user, LAPTOP)
    _browser(user, PHONE)
    laptop.get(reverse("account_sessions"))
    with CaptureQueriesContext(connection) as small:
        laptop.get(reverse("account_sessions"))
    # Read now: the next request's start clears the log the capture is a view of.
    budget = len(small.captured_queries)
    for _ in range(5):
        _browser(user, PHONE)

    # When the laptop lists them again, then it reads as many queries as with two
    with django_assert_num_queries(budget):
        body = laptop.get(reverse("account_sessions")).content.decode()
    assert body.count('name="session"') == 6
