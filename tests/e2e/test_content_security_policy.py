"""The Content-Security-Policy holds in a real browser: no page or htmx swap trips it."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Page, expect

from sponsor_updates.links import Purpose, link_max_age
from tests.e2e.conftest import LogIn
from tests.e2e.test_journeys import Team, complete_a_follow_up, log_check_in_from_my_week
from tests.e2e.test_journeys import team as team  # noqa: F401 (the fixture, shared with the journeys)
from tests.e2e.test_sponsor_update_pages import Sponsor
from tests.e2e.test_sponsor_update_pages import sponsor as sponsor  # noqa: F401 (the fixture)

pytestmark = pytest.mark.e2e


def _is_violation(message: ConsoleMessage) -> bool:
    # Chromium reports each refused script, style or handler as a console error naming the policy.
    return "Content Security Policy" in message.text


def test_no_page_of_the_journey_trips_the_content_security_policy(
    page: Page, site: str, log_in: LogIn, team: Team
) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if _is_violation(message) else None)

    # Given the login and password-reset pages, seen before logging in
    for name in ("login", "password_reset"):
        page.goto(f"{site}{reverse(name)}")
        expect(page.locator("main h1")).to_be_visible()

    # When the engagement lead logs in, logs a check-in (htmx adds a follow-up row)
    # and completes a follow-up in place
    log_in(page, team.lead)
    log_check_in_from_my_week(page, team)
    complete_a_follow_up(page)

    # And opens every main page
    pk = team.engagement.pk
    paths = [
        reverse("home"),
        reverse("engagement_list"),
        reverse("compliance_portfolio"),
        reverse("trends"),
        f"{reverse('cadence_heat_map')}?engagement={team.engagement.pk}",
        f"{reverse('search')}?q=Anna",
        reverse("check_in_create"),
        reverse("notification_list"),
        reverse("notification_preferences"),
        reverse("account_settings"),
        reverse("calendar_feeds"),
        reverse("stakeholder_detail", args=[team.sponsor.stakeholder.pk]),
        f"{reverse('raid_item_create', args=[team.engagement.pk])}?kind=risk",
    ]
    page.goto(f"{site}{reverse('engagement_detail', args=[pk])}")
    sections = page.get_by_role("navigation", name="Engagement sections").get_by_role("link").all()
    paths += [str(link.get_attribute("href")) for link in sections]
    for path in paths:
        page.goto(f"{site}{path}")
        expect(page.locator("main h1")).to_be_visible()

    # Then the browser refused nothing
    assert len(paths) >= 15, paths
    assert violations == []


def test_no_signed_page_of_a_sponsor_trips_the_content_security_policy(page: Page, sponsor: Sponsor) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if _is_violation(message) else None)

    # Given each page a sponsor reaches from an update's links, with no login
    for purpose in (Purpose.VIEW, Purpose.PREFERENCES, Purpose.ACKNOWLEDGE, Purpose.UNSUBSCRIBE):
        page.goto(sponsor.link(purpose))
        expect(page.locator("main h1")).to_be_visible()

    # And the pages their forms lead to: saved preferences, an acknowledgement, a new link
    page.goto(sponsor.link(Purpose.PREFERENCES))
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_be_visible()
    page.goto(sponsor.link(Purpose.ACKNOWLEDGE))
    page.get_by_role("button", name="I have read it").click()
    expect(page.get_by_text("Thank you: you acknowledged it on")).to_be_visible()
    page.goto(sponsor.link(Purpose.UNSUBSCRIBE))
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_text("You are unsubscribed")).to_be_visible()

    # And the pages of a tampered and an expired link, and the answer to asking for a new one
    page.goto(sponsor.link(Purpose.PREFERENCES)[:-6] + "/")
    expect(page.locator("main h1")).to_have_text("This link does not work")
    page.goto(sponsor.link(Purpose.VIEW, signed_days_ago=link_max_age().days + 1))
    page.get_by_role("button", name="Send me a new link").click()
    expect(page.locator("main h1")).to_have_text("Check your mail")

    # Then the browser refused nothing
    assert violations == []
