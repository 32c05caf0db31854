"""Searching from the header, as a consultant does: words in, ranked and highlighted results out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from communications import services as communication_services
from stakeholders.models import StakeholderRole
from tests import factories
from tests.e2e.conftest import LogIn

pytestmark = pytest.mark.e2e


def test_a_consultant_finds_a_meeting_by_its_words_and_opens_it(page: Page, site: str, log_in: LogIn):
    # Given a consultant's engagement with a check-in and a follow-up about super-user training,
    # and another team's check-in about the same thing
    lead = factories.consultant(first_name="Lukas", last_name="Meyer")
    client = factories.make_client(name="Rheinland Kliniken")
    engagement = factories.make_engagement(client=client, lead=lead, code="EHR-26", name="EHR rollout")
    sponsor = factories.make_role(
        engagement=engagement,
        stakeholder=factories.make_stakeholder(client=client, name="Anna Weber"),
        kind=StakeholderRole.Kind.SPONSOR,
        relationship_owner=lead,
    )
    check_in = factories.make_check_in(
        engagement=engagement,
        attendees=[sponsor.stakeholder],
        actor=lead,
        summary="Agreed the nurse super-user training for ward <b>7</b>.",
        follow_ups=[
            communication_services.FollowUpSpec(
                title="Book rooms for the nurse training",
                due_at=timezone.now() + dt.timedelta(days=3),
                owner_user=lead,
            )
        ],
    )
    elsewhere = factories.make_engagement(
        client=factories.make_client(name="Contoso"), lead=factories.consultant(), code="ERP-9", name="ERP"
    )
    factories.make_check_in(
        engagement=elsewhere,
        attendees=[factories.make_role(engagement=elsewhere).stakeholder],
        summary="Nurse training elsewhere.",
    )
    log_in(page, lead)

    # When they type two of its words into the header's search box
    page.get_by_role("search").first.get_by_label("Search").fill("nurse training")
    page.keyboard.press("Enter")

    # Then both of their items are listed, the follow-up named after the words first, the words marked,
    # the markup in the summary shown as typed, and nothing of the other team's engagement
    results = page.get_by_role("list", name="Results, best match first").get_by_role("listitem")
    expect(results).to_have_count(2)
    expect(results.nth(0)).to_contain_text("Follow-up")
    expect(results.nth(0)).to_contain_text("Book rooms for the nurse training")
    expect(results.nth(1)).to_contain_text("Check-in")
    expect(results.nth(1).locator("mark").first).to_have_text("nurse")
    expect(results.nth(1)).to_contain_text("ward <b>7</b>")
    expect(page.get_by_text("ERP-9")).to_have_count(0)

    # When they narrow the search to check-ins and open the one found
    page.get_by_role("navigation", name="Narrow the search").get_by_role("link", name="Check-ins").click()
    expect(results).to_have_count(1)
    results.first.get_by_role("link").click()

    # Then the engagement's timeline opens at that check-in
    expect(page).to_have_url(f"{site}/engagements/{engagement.pk}/timeline/#check-in-{check_in.pk}")
    expect(page.locator(f"#check-in-{check_in.pk}")).to_contain_text("nurse super-user training")
