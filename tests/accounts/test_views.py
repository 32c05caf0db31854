from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
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
def test_the_zone_list_is_grouped_by_region_and_the_users_place_is_selected(client):
    # Given a consultant in Lisbon
    client.force_login(factories.consultant(time_zone="Europe/Lisbon"))

    # When they open their settings
    html = client.get(URL).content.decode()

    # Then the zones are grouped by region, named as places, Lisbon chosen among Europe's
    found = re.search(r'<select [^>]*name="time_zone"[^>]*>.*?</select>', html, re.S)
    assert found is not None
    select = found.group(0)
    assert 'aria-describedby="id_time_zone_helptext"' in select
    europe = select[select.index('<optgroup label="Europe">') :]
    assert '<option value="Europe/Lisbon" selected>Lisbon</option>' in europe[: europe.index("</optgroup>")]
    assert select.count(" selected") == 1
    assert 'value="US/Eastern"' not in select and 'value="Etc/GMT+5"' not in select


@pytest.mark.django_db
def test_a_zone_saved_as_an_alias_stays_selected_and_saves_unchanged(client):
    # Given a consultant whose zone was saved as an alias before the list left aliases out
    user = factories.consultant(time_zone="US/Eastern")
    client.force_login(user)

    # When they open their settings, and save them with a new first name
    html = client.get(URL).content.decode()
    response = client.post(URL, _form(first_name="Ada", time_zone="US/Eastern"))

    # Then the alias showed selected, and it is kept
    assert '<option value="US/Eastern" selected>US/Eastern</option>' in html
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.first_name, user.time_zone) == ("Ada", "US/Eastern")


@pytest.mark.django_db
def test_saving_settings_changes_the_account_and_redirects(client):
    # Given a consultant on UTC
    user = factories.consultant()
    email_before = user.email
    client.force_login(user)

    # When they choose Berlin and a new name and email
    response = client.post(URL, _form())

    # Then the account holds the new name and zone, the address waits for its confirmation
    assert response.status_code == 302
    assert response["Location"] == URL
    user.refresh_from_db()
    assert (user.first_name, user.last_name, user.email, user.time_zone) == (
        "Ada",
        "Byron",
        email_before,
        "Europe/Berlin",
    )
    page = client.get(URL).content.decode()
    assert "Your settings are saved." in page
    assert "We sent a link to ada@firm.test" in page


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


def _link_in(message: mail.EmailMessage) -> str:
    match = re.search(r"https?://\S+(/account/email/confirm/\S+/)", str(message.body))
    assert match is not None, message.body
    return match.group(1)


@pytest.mark.django_db
def test_the_page_answers_alike_whether_or_not_another_account_uses_the_address(
    client, django_capture_on_commit_callbacks
):
    # Given two consultants, one of them already using an address
    factories.consultant(email="taken@firm.test")
    user = factories.consultant()
    email_before = user.email
    client.force_login(user)

    # When the other one asks for that address (in other letter case), and then for a free one
    with django_capture_on_commit_callbacks(execute=True):
        taken = client.post(URL, _form(email="Taken@Firm.test"), follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        free = client.post(URL, _form(email="free@firm.test"), follow=True)

    # Then both answers read the same but for the address typed, neither names the other account,
    # the account keeps its address, and each address got a link to confirm it
    def answer(response: object, address: str) -> list[str]:
        return [str(m).replace(address, "ADDRESS") for m in response.context["messages"]]  # type: ignore[attr-defined]

    assert answer(taken, "Taken@Firm.test") == answer(free, "free@firm.test")
    assert "another account" not in taken.content.decode().lower()
    user.refresh_from_db()
    assert user.email == email_before
    assert [m.to for m in mail.outbox] == [["Taken@Firm.test"], ["free@firm.test"]]


@pytest.mark.django_db
def test_the_link_mailed_to_the_new_address_makes_it_the_accounts_after_a_confirmation(
    client, django_capture_on_commit_callbacks
):
    # Given a consultant who asked for a new address
    user = factories.consultant()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, _form(email="new@firm.test"))
    link = _link_in(mail.outbox[0])

    # When they open the link, then confirm
    asked = client.get(link)
    user.refresh_from_db()
    email_while_asking = user.email
    confirmed = client.post(link)

    # Then opening it changed nothing, and confirming made the address theirs, once
    assert asked.status_code == 200
    assert "new@firm.test" in asked.content.decode()
    assert email_while_asking != "new@firm.test"
    assert confirmed.status_code == 302
    user.refresh_from_db()
    assert user.email == "new@firm.test"
    assert client.post(link).status_code == 400


@pytest.mark.django_db
def test_a_link_is_refused_for_another_account_and_for_an_address_taken_meanwhile(
    client, django_capture_on_commit_callbacks
):
    # Given a consultant's link to an address, and another consultant
    user = factories.consultant()
    other = factories.consultant()
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, _form(email="shared@firm.test"))
    link = _link_in(mail.outbox[0])

    # When the other consultant opens it, and when the address is taken before the owner confirms
    client.force_login(other)
    foreign = client.post(link)
    factories.consultant(email="SHARED@firm.test")
    client.force_login(user)
    late = client.post(link)

    # Then neither changes an address
    assert (foreign.status_code, late.status_code) == (400, 400)
    user.refresh_from_db()
    other.refresh_from_db()
    assert "shared@firm.test" not in (user.email.lower(), other.email.lower())


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
