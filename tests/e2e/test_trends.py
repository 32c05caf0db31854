"""Trend charts and the cadence heat map in a real browser: phone-sized, named, and their tables behind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, expect

from communications.rollups import weekly_rollups_refresh
from tests import factories
from tests.e2e.conftest import LogIn
from tests.e2e.test_journeys import PHONE_WIDTH, Team
from tests.e2e.test_journeys import team as team  # noqa: F401 (the fixture, shared with the journeys)

pytestmark = pytest.mark.e2e


def test_trends_and_the_heat_map_fit_a_phone_and_name_their_charts(
    phone_context: BrowserContext, site: str, log_in: LogIn, team: Team
) -> None:
    # Given a lead whose sponsor meeting was held a week ago and missed the week before
    now = timezone.now()
    channel = team.sponsor.stakeholder.channels.get()
    factories.make_occurrence(channel=channel, due_at=now - dt.timedelta(weeks=1))
    factories.make_occurrence(channel=channel, due_at=now - dt.timedelta(weeks=2), outcome="missed")
    weekly_rollups_refresh(
        engagement_ids=[team.engagement.pk],
        moments=[now, now - dt.timedelta(weeks=1), now - dt.timedelta(weeks=2)],
        as_of=now,
    )
    page = phone_context.new_page()
    log_in(page, team.lead)

    # When they open the trends on a 375 px wide phone
    page.goto(f"{site}{reverse('trends')}")

    # Then four charts are there by name, the page does not scroll sideways, and each has its figures
    for name in ("Meetings per week", "Cadence compliance per week", "Average sentiment per week"):
        expect(page.get_by_role("img", name=name)).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.get_by_text("Cadence compliance per week: the figures").click()
    figures = page.get_by_role("table").filter(has=page.get_by_role("columnheader", name="Held on time (%)"))
    expect(figures.get_by_role("cell", name="0%", exact=True).first).to_be_visible()

    # When they open the engagement's heat map
    page.goto(f"{site}{reverse('cadence_heat_map')}?engagement={team.engagement.pk}")

    # Then the sponsor's missed week is told in words, not by colour alone
    expect(page.get_by_role("img", name="Cadence heat map")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    page.get_by_text("Cadence heat map: every week in words").click()
    expect(page.get_by_role("cell", name="0 of 1 held, 1 missed")).to_have_count(1)
