"""A practice lead's review in the browser: the portfolio filtered to red, one engagement, its evidence."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from communications.health import engagement_health_refresh
from communications.models import FollowUp
from tests import factories
from tests.e2e.conftest import LogIn

pytestmark = pytest.mark.e2e


def test_a_practice_lead_filters_to_red_opens_one_and_follows_a_factor_to_its_evidence(
    page: Page, site: str, log_in: LogIn
):
    # Given two engagements: one red for a follow-up overdue four months, one with nothing wrong
    now = timezone.now()
    lead = factories.consultant(first_name="Lukas", last_name="Meyer")
    client = factories.make_client(name="Rheinland Kliniken")
    red = factories.make_engagement(client=client, lead=lead, code="EHR-26", name="EHR rollout")
    green = factories.make_engagement(client=client, lead=lead, code="CRM-26", name="CRM rollout")
    late = factories.make_follow_up(
        engagement=red, owner_user=lead, title="Sign the data processing agreement"
    )
    FollowUp.objects.filter(pk=late.pk).update(due_at=now - dt.timedelta(days=130))
    engagement_health_refresh(engagement_ids=[red.pk, green.pk], as_of=now)
    practice_lead = factories.practice_lead(first_name="Priya", last_name="Shah")

    # When the practice lead logs in, her home is the portfolio; she filters it to red engagements
    log_in(page, practice_lead)
    expect(page.get_by_role("heading", name="Portfolio")).to_be_visible()
    expect(page.get_by_role("link", name="CRM-26")).to_be_visible()
    page.get_by_label("Health").select_option(label="Red")
    page.get_by_role("button", name="Show").click()

    # Then only the red engagement is listed, with its main factor
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name="EHR-26")).to_be_visible()
    expect(table.get_by_role("link", name="CRM-26")).to_have_count(0)
    expect(table.get_by_role("link", name="Overdue follow-ups")).to_be_visible()

    # When she opens it, the header shows the computed health and each factor
    table.get_by_role("link", name="EHR-26").click()
    header = page.locator("#header-health")
    expect(header).to_contain_text("Red")
    expect(header).to_contain_text("1 follow-up overdue, the oldest by about 4 months")

    # And following the factor's link lands on the overdue follow-up itself
    header.get_by_role("link", name="Overdue follow-ups").click()
    expect(page).to_have_url(f"{site}/engagements/{red.pk}/follow-ups/#follow-ups-overdue")
    overdue = page.get_by_role("table", name="Overdue")
    expect(overdue.get_by_role("cell", name="Sign the data processing agreement", exact=True)).to_be_visible()

    # And the portfolio remembers the filter when she comes back to it
    page.get_by_role("link", name="Portfolio", exact=True).click()
    expect(page.get_by_label("Health")).to_have_value("red")
    expect(page.get_by_role("link", name="CRM-26")).to_have_count(0)
