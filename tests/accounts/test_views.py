from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests import factories

URL = reverse("account_settings")


def _form(**overrides: str) -> dict[str, str]:
    data = {"first_name": "Ada", "last_name": "Byron", "email": "ada@firm.test", "time_zone": "Europe/Berlin"}
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_settings_page_starts_from_the_users_current_values(client):
    # Given a consultant in Lisbon
    user = factories.consultant(first_name="Joana", last_name="Silva", time_zone="Europe/Lisbon")
    client.force_login(user)

    # When they open their settings
    response = client.get(URL)

    # Then the form holds their name and zone, and every control has a label
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"]["first_name"].value() == "Joana"
    assert response.context["form"]["time_zone"].value() == "Europe/Lisbon"
    for field in ("first_name", "last_name", "email", "time_zone"):
        assert f'<label for="id_{field}">' in html


@pytest.mark.django_db
def test_a_new_user_is_offered_utc(client):
    # Given a user created with no zone chosen
    user = factories.consultant()
    client.force_login(user)

    # When they open their settings
    response = client.get(URL)

    # Then UTC is selected
    assert '<option value="UTC" selected>UTC</option>' in response.content.decode()


@pytest.mark.django_db
def test_saving_settings_changes_the_account_and_redirects(client):
    # Given a consultant on UTC
    user = factories.consultant()
    client.force_login(user)

    # When they choose Berlin and a new name and email
    response = client.post(URL, _form())

    # Then the account holds the new values and the page redirects back with a message
    assert response.status_code == 302
    assert response["Location"] == URL
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email, user.time_zone) == (
        "Ada",
        "Byron",
        "ada@firm.test",
        "Europe/Berlin",
    )
    assert "Your settings are saved." in client.get(URL).content.decode()


@pytest.mark.django_db
@time_machine.travel(dt.datetime(2026, 7, 15, 9, 0, tzinfo=dt.UTC), tick=False)
def test_the_page_shows_the_current_time_in_the_chosen_zone(client):
    # Given a consultant who has chosen Berlin, at 09:00 UTC in summer
    user = factories.consultant(time_zone="Europe/Berlin")
    client.force_login(user)

    # When they open their settings
    html = client.get(URL).content.decode()

    # Then their local time reads 11:00 (CEST)
    assert "Wednesday 15 July 2026, 11:00" in html
    assert "(Europe/Berlin)" in html


@pytest.mark.django_db
def test_an_unknown_time_zone_is_refused_next_to_the_field_and_the_input_kept(client):
    # Given a consultant on UTC
    user = factories.consultant(first_name="Old")
    client.force_login(user)

    # When they post a zone that does not exist
    response = client.post(URL, _form(first_name="Typed", time_zone="Europe/Atlantis"))

    # Then nothing is saved, the error sits beside the zone and what they typed is kept
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_time_zone-errors"' in html
    assert "Select a valid choice" in html
    assert 'value="Typed"' in html
    user.refresh_from_db()
    assert (user.first_name, user.time_zone) == ("Old", "UTC")


@pytest.mark.django_db
def test_a_malformed_email_is_refused_next_to_the_field(client):
    # Given a consultant
    user = factories.consultant()
    client.force_login(user)

    # When they type an email address without a domain
    response = client.post(URL, _form(email="ada-at-home"))

    # Then the error sits beside the email field and nothing is saved
    html = response.content.decode()
    assert 'id="id_email-errors"' in html
    assert 'value="ada-at-home"' in html
    user.refresh_from_db()
    assert user.time_zone == "UTC"


@pytest.mark.django_db
def test_an_email_of_another_account_is_refused_by_the_service(client):
    # Given two consultants, one of them already using an address
    factories.consultant(email="taken@firm.test")
    user = factories.consultant()
    client.force_login(user)

    # When the other one tries to take the same address, in other letter case
    response = client.post(URL, _form(email="Taken@Firm.test"))

    # Then the page says so beside the email field and keeps the account unchanged
    html = response.content.decode()
    assert response.status_code == 200
    assert "Another account already uses this email address." in html
    assert 'id="id_email-errors"' in html
    user.refresh_from_db()
    assert user.time_zone == "UTC"


@pytest.mark.django_db
def test_a_client_pmo_lead_may_change_their_own_settings(client):
    # Given a client PMO lead, who may change nothing of the engagements
    user = factories.client_user(factories.make_client(), time_zone="UTC")
    client.force_login(user)

    # When they choose their zone
    response = client.post(URL, _form(email="pmo@client.test", time_zone="America/Chicago"))

    # Then their own account changes
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.time_zone == "America/Chicago"


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client):
    # When someone who has not logged in opens the settings
    response = client.get(URL)

    # Then they are sent to the login page
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
