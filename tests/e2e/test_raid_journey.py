"""The RAID log in the browser: add and review a risk, file and correct decisions; JavaScript on and off."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from communications.models import CheckIn, RaidItem
from tests.e2e import test_journeys
from tests.e2e.conftest import LogIn
from tests.e2e.test_journeys import Team

# The journeys' engagement: a lead in Berlin with a sponsor, Anna Weber, on a weekly channel.
team = test_journeys.team

pytestmark = pytest.mark.e2e


def _in_days(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _an_hour_ago_in_berlin() -> str:
    moment = timezone.now() - dt.timedelta(hours=1)
    return moment.astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%dT%H:%M")


def raid_journey(page: Page, site: str, team: Team) -> None:
    # From the engagement's page, the RAID log tab
    page.goto(f"{site}/engagements/{team.engagement.pk}/")
    page.get_by_role("navigation", name="Engagement sections").get_by_role("link", name="RAID log").click()
    expect(page.get_by_role("heading", name="Risks, assumptions, issues and decisions")).to_be_visible()
    expect(page.get_by_text("The RAID log is empty.")).to_be_visible()

    # Add a risk
    page.get_by_role("link", name="risk", exact=True).click()
    expect(page.get_by_role("heading", name="New risk")).to_be_visible()
    page.get_by_label("Title").fill("Nurses cannot be released for training")
    page.get_by_label("Likelihood").select_option("4")
    page.get_by_label("Impact").select_option("3")
    page.get_by_label("Trend").select_option("rising")
    page.get_by_label("Next review").fill(_in_days(7))
    page.get_by_label("Anna Weber").check()
    page.get_by_role("button", name="Add risk").click()
    expect(page.get_by_text("Added the risk")).to_be_visible()
    expect(page.get_by_text("4 × 3 = 12")).to_be_visible()

    # Review it: lower, falling, next look in two weeks
    review = page.get_by_role("region", name="Review this risk")
    review.get_by_label("Likelihood").select_option("2")
    review.get_by_label("Trend").select_option("falling")
    review.get_by_label("Next review").fill(_in_days(14))
    review.get_by_role("button", name="Record review").click()
    expect(page.get_by_text("Reviewed “Nurses cannot be released for training”")).to_be_visible()
    expect(page.get_by_text("2 × 3 = 6", exact=True)).to_be_visible()
    expect(page.get_by_role("region", name="Reviews")).to_contain_text("4 × 3 = 12 → 2 × 3 = 6, falling")

    # The matrix counts it where it now sits
    page.get_by_role("link", name="RAID log").first.click()
    expect(page.get_by_role("img", name="Risk matrix: open risks by likelihood and impact")).to_be_visible()
    matrix = page.get_by_role("table", name="Open risks by impact (rows) and likelihood (columns)")
    expect(matrix.get_by_role("row").filter(has=page.get_by_role("rowheader", name="3"))).to_contain_text("1")

    # File a check-in's decisions in the log in one step
    page.goto(f"{site}/check-ins/new/?engagement={team.engagement.pk}")
    page.get_by_label("Anna Weber").check()
    page.get_by_label("When").fill(_an_hour_ago_in_berlin())
    page.get_by_label("Summary").fill("Steering call on the go-live.")
    page.get_by_label("Decisions", exact=True).fill("Go-live moves to 4 May\nPharmacy joins wave 2")
    page.get_by_label("File them in the RAID log").check()
    page.get_by_role("button", name="Save check-in").click()
    expect(page.get_by_text("2 decisions filed in the RAID log")).to_be_visible()

    page.goto(f"{site}/engagements/{team.engagement.pk}/raid/?kind=decision")
    expect(page.get_by_role("link", name="Go-live moves to 4 May")).to_be_visible()
    expect(page.get_by_role("link", name="Pharmacy joins wave 2")).to_be_visible()

    # Correct a decision on the check-in: the log follows the new wording, nothing is filed twice
    page.goto(f"{site}/check-ins/{CheckIn.objects.latest('pk').pk}/edit/")
    expect(page.get_by_label("File them in the RAID log")).to_be_checked()
    page.get_by_label("Decisions", exact=True).fill("Go-live moves to 11 May\nPharmacy joins wave 2")
    page.get_by_role("button", name="Save correction").click()
    expect(page.get_by_text("1 decision reworded in the RAID log to match")).to_be_visible()
    page.goto(f"{site}/engagements/{team.engagement.pk}/raid/?kind=decision")
    expect(page.get_by_role("link", name="Go-live moves to 11 May")).to_be_visible()
    expect(page.get_by_role("link", name="Go-live moves to 4 May")).to_have_count(0)


def test_a_consultant_adds_and_reviews_a_risk_and_files_decisions(
    page: Page,
    site: str,
    log_in: LogIn,
    team: Team,
):
    log_in(page, team.lead)
    raid_journey(page, site, team)
    risk = RaidItem.objects.get(kind="risk")
    assert (risk.score, risk.trend, risk.last_reviewed_at is not None) == (6, "falling", True)
    assert RaidItem.objects.filter(kind="decision").count() == 2


def test_the_raid_journey_works_with_javascript_off(
    no_js_context: BrowserContext,
    site: str,
    log_in: LogIn,
    team: Team,
):
    page = log_in(no_js_context.new_page(), team.lead)
    raid_journey(page, site, team)
    assert RaidItem.objects.filter(kind="decision").count() == 2
