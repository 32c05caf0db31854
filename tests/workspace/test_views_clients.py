"""A client's settings page: time zone, country and holiday region, and the holidays they bring."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client as WebClient
from django.urls import reverse

from engagements.models import Client
from tests import factories
from workspace.forms.stakeholders import seen_version

pytestmark = pytest.mark.django_db

# Early March 2026: the coming year holds Easter (3 and 6 April) and the August bank holiday.
SPRING = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _form(client: Client, **changes: str) -> dict[str, Any]:
    client.refresh_from_db()
    data = {
        "time_zone": client.time_zone,
        "country": client.country,
        "holiday_subdivision": client.holiday_subdivision,
        "updated_at": seen_version(client.updated_at),
    }
    data.update(changes)
    return data


def _page(web: WebClient, client: Client) -> str:
    response = web.get(reverse("client_settings", kwargs={"pk": client.pk}))
    assert response.status_code == 200
    return response.content.decode()


def test_a_practice_lead_sets_england_and_sees_its_bank_holidays_among_the_coming_years(client: WebClient):
    # Given a British client set to national holidays only, and a practice lead
    british = factories.make_client(name="Thistle & Rowe", country="GB", time_zone="Europe/London")
    Client.objects.filter(pk=british.pk).update(holiday_subdivision="")
    engagement = factories.make_engagement(client=british, country="GB")
    client.force_login(factories.practice_lead())

    with time_machine.travel(SPRING, tick=False):
        # Then the national calendar lacks Easter Monday and the August bank holiday
        national = _page(client, british)
        assert "Fri 3 Apr 2026" in national
        assert "Mon 6 Apr 2026" not in national and "Late Summer Bank Holiday" not in national

        # When she chooses England
        response = client.post(
            reverse("client_settings", kwargs={"pk": british.pk}),
            _form(british, holiday_subdivision="ENG"),
            follow=True,
        )

        # Then it is saved, the year's list has both, and the engagement follows its client's region
        page = response.content.decode()
        assert "Settings of Thistle &amp; Rowe saved." in page
        assert "Mon 6 Apr 2026" in page and "Easter Monday" in page
        assert "Mon 31 Aug 2026" in page
        assert "GB · ENG" in page
    british.refresh_from_db()
    assert british.holiday_subdivision == "ENG"
    overview = client.get(reverse("engagement_detail", kwargs={"pk": engagement.pk})).content.decode()
    assert reverse("client_settings", kwargs={"pk": british.pk}) in overview


def test_a_client_moved_to_britain_without_a_region_gets_england(client: WebClient):
    german = factories.make_client(country="DE")
    client.force_login(factories.practice_lead())
    response = client.post(
        reverse("client_settings", kwargs={"pk": german.pk}),
        _form(german, country="gb", holiday_subdivision="", time_zone="Europe/London"),
    )
    assert response.status_code == 302
    german.refresh_from_db()
    assert (german.country, german.holiday_subdivision, german.time_zone) == ("GB", "ENG", "Europe/London")


def test_a_region_of_another_country_is_a_field_error_and_what_was_typed_stays(client: WebClient):
    # Given a German client, when a practice lead picks Bavaria but types the US as the country
    german = factories.make_client(country="DE")
    client.force_login(factories.practice_lead())
    response = client.post(
        reverse("client_settings", kwargs={"pk": german.pk}),
        _form(german, country="US", holiday_subdivision="BY", time_zone="America/New_York"),
    )

    # Then nothing is saved, the region field says why, and the form keeps the country and zone typed
    assert response.status_code == 200
    page = response.content.decode()
    assert "Not a region of this country" in page
    assert 'value="US"' in page
    assert '<option value="America/New_York" selected>' in page
    # and now offers the regions of the country typed
    assert '<option value="CA">California (CA)</option>' in page
    german.refresh_from_db()
    assert (german.country, german.holiday_subdivision) == ("DE", "")


def test_a_stale_save_is_refused_and_keeps_the_newer_settings(client: WebClient):
    german = factories.make_client(country="DE")
    client.force_login(factories.practice_lead())
    stale = _form(german, holiday_subdivision="BY")
    client.post(reverse("client_settings", kwargs={"pk": german.pk}), _form(german, holiday_subdivision="NW"))
    response = client.post(reverse("client_settings", kwargs={"pk": german.pk}), stale)
    assert response.status_code == 200
    german.refresh_from_db()
    assert german.holiday_subdivision == "NW"


def test_the_team_reads_the_settings_and_only_portfolio_managers_change_them(world: factories.World):
    web = WebClient()
    client = world.mine.engagement.client
    url = reverse("client_settings", kwargs={"pk": client.pk})

    # A consultant on one of its engagements sees the settings without a form, and may not post
    web.force_login(world.consultant)
    page = web.get(url).content.decode()
    assert "Save settings" not in page and "Public holidays in the coming year" in page
    assert web.post(url, _form(client, country="FR")).status_code == 403

    # The client's own PMO lead sees its name, time zone and country, not the firm's calendar work
    web.force_login(world.client_user)
    page = web.get(url).content.decode()
    assert client.time_zone in page
    assert "Holiday region" not in page and "Public holidays in the coming year" not in page
    assert web.post(url, _form(client, country="FR")).status_code == 403
    client.refresh_from_db()
    assert client.country != "FR"


@pytest.mark.parametrize(
    ("typed", "error"), [("UK", "Use the ISO code GB, not UK."), ("XX", "XX is not a country code")]
)
def test_a_country_code_no_calendar_knows_is_a_field_error(client: WebClient, typed: str, error: str):
    german = factories.make_client(country="DE")
    client.force_login(factories.practice_lead())
    response = client.post(reverse("client_settings", kwargs={"pk": german.pk}), _form(german, country=typed))
    assert response.status_code == 200
    assert error in response.content.decode()
    german.refresh_from_db()
    assert german.country == "DE"
