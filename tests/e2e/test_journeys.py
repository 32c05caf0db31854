"""Journeys a consultant makes in the browser, with JavaScript on and off, and on a phone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, BrowserContext, Page, expect

from accounts.models import User
from communications.health import engagement_health_refresh
from communications.models import Channel, CheckIn, FollowUp
from engagements.models import Engagement
from stakeholders.models import StakeholderRole
from tests import factories
from tests.e2e.conftest import LogIn

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 375
PHONE_HEIGHT = 667
# An engagement tab's own content starts in the top three eighths of a phone's first screen.
TAB_CONTENT_STARTS_WITHIN = 250

# The top of the first thing drawn after the engagement's tabs: the tab's own content.
_TOP_OF_THE_TABS_CONTENT = """() => {
    let node = document.querySelector('nav[aria-label="Engagement sections"]').nextElementSibling;
    while (node && !node.getBoundingClientRect().height) node = node.nextElementSibling;
    return node ? node.getBoundingClientRect().top : Infinity;
}"""


@dataclasses.dataclass
class Team:
    lead: User
    engagement: Engagement
    sponsor: StakeholderRole


@pytest.fixture
def team(site: str) -> Team:
    """A consultant in Berlin who leads one engagement with a sponsor on a weekly one-to-one.

    The weekly channel is always due within the week ahead, so it shows on My week.
    """
    lead = factories.consultant(first_name="Lukas", last_name="Meyer", time_zone="Europe/Berlin")
    client = factories.make_client(name="Rheinland Kliniken", time_zone="Europe/Berlin")
    engagement = factories.make_engagement(client=client, lead=lead, code="EHR-26", name="EHR rollout")
    sponsor = factories.make_role(
        engagement=engagement,
        stakeholder=factories.make_stakeholder(client=client, name="Anna Weber", time_zone="Europe/Berlin"),
        kind=StakeholderRole.Kind.SPONSOR,
        relationship_owner=lead,
    )
    factories.make_channel(role=sponsor, owner=lead, title="Weekly sponsor one-to-one")
    return Team(lead=lead, engagement=engagement, sponsor=sponsor)


def _due_in(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def _yesterday_at_nine_in_berlin() -> dt.datetime:
    berlin = ZoneInfo("Europe/Berlin")
    yesterday = timezone.now().astimezone(berlin).date() - dt.timedelta(days=1)
    return dt.datetime.combine(yesterday, dt.time(9, 0), tzinfo=berlin)


def log_check_in_from_my_week(page: Page, team: Team) -> None:
    """From My week: log the due check-in with two follow-ups and land on the timeline."""
    page.get_by_role("link", name="My week").click()
    expect(page.get_by_role("heading", name="My week")).to_be_visible()
    due = page.get_by_role("region", name="Check-ins due")
    due_row = due.get_by_role("row").filter(has_text="Weekly sponsor one-to-one")
    due_row.get_by_role("link", name="Log check-in with Anna Weber").click()

    expect(page.get_by_role("heading", name="Log check-in")).to_be_visible()
    expect(page.get_by_label("Engagement")).to_have_value(str(team.engagement.pk))
    expect(page.get_by_label("Anna Weber")).to_be_checked()
    page.get_by_label("When").fill(_yesterday_at_nine_in_berlin().strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Summary").fill("Walked through the **go-live sequence** ward by ward.")
    page.get_by_label("Positive", exact=True).check()
    page.get_by_label("Decisions").fill("Ward 3 goes first.")
    page.get_by_label("What (follow-up 1)").fill("Send the revised cut-over plan")
    page.get_by_label("Owner (follow-up 1)").select_option(label="Lukas Meyer")
    page.get_by_label("Due (follow-up 1)").fill(_due_in(3))

    page.get_by_role("button", name="Add another follow-up").click()
    second = page.get_by_label("What (follow-up 2)")
    expect(second).to_be_visible()
    # The first row survives the re-render, whether htmx or a full page redrew it.
    expect(page.get_by_label("What (follow-up 1)")).to_have_value("Send the revised cut-over plan")
    second.fill("Approve the ward 3 go-live date")
    page.get_by_label("Owner (follow-up 2)").select_option(label="Anna Weber")
    page.get_by_label("Due (follow-up 2)").fill(_due_in(5))
    page.get_by_role("button", name="Save check-in").click()

    expect(page.get_by_role("status")).to_contain_text(f"Check-in logged on {team.engagement.code}")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    entry = page.get_by_role("article").filter(has_text="go-live sequence")
    # Typed and shown in the consultant's own zone, whatever the offset to UTC that day.
    expect(entry.locator("time").first).to_contain_text("09:00")
    expect(entry).to_contain_text("Sentiment: Positive")
    expect(entry).to_contain_text("Anna Weber")
    expect(entry.locator("strong")).to_have_text("go-live sequence")
    expect(entry).to_contain_text("Send the revised cut-over plan")
    expect(entry).to_contain_text("Approve the ward 3 go-live date")


def complete_a_follow_up(page: Page) -> None:
    page.get_by_role("navigation", name="Engagement sections").get_by_role("link", name="Follow-ups").click()
    row = page.get_by_role("row").filter(has_text="Send the revised cut-over plan")
    row.get_by_role("button", name="Complete: Send the revised cut-over plan").click()
    expect(page.get_by_role("row").filter(has_text="Send the revised cut-over plan")).to_contain_text("Done")


def move_the_one_to_one_to_fortnightly_thursdays(page: Page) -> None:
    sections = page.get_by_role("navigation", name="Engagement sections")
    sections.get_by_role("link", name="Communication plan").click()
    page.get_by_role("link", name="Edit: Weekly sponsor one-to-one").click()
    page.get_by_role("combobox", name="Cadence").select_option(label="Every other week on the weekday below")
    page.get_by_label("Weekday").select_option(label="Thursday")
    page.get_by_label("Local time").fill("10:30")
    page.get_by_role("button", name="Save changes").click()

    expect(page.get_by_role("heading", name="Communication plan")).to_be_visible()
    channels = page.get_by_role("table", name="Communication plan")
    row = channels.get_by_role("row").filter(has_text="Weekly sponsor one-to-one")
    expect(row).to_contain_text("every other Thursday at 10:30 Europe/Berlin")


def _assert_saved(team: Team) -> None:
    check_in = CheckIn.objects.get(engagement=team.engagement)
    assert list(check_in.attendees.values_list("name", flat=True)) == ["Anna Weber"]
    assert check_in.sentiment == 1
    assert check_in.occurred_at == _yesterday_at_nine_in_berlin()
    follow_ups = dict(check_in.follow_ups.values_list("title", "status"))
    assert follow_ups == {
        "Send the revised cut-over plan": FollowUp.Status.DONE,
        "Approve the ward 3 go-live date": FollowUp.Status.OPEN,
    }
    channel = team.engagement.channels.get()
    assert channel.recurrence == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"
    assert channel.local_time == dt.time(10, 30)


def test_a_consultant_logs_a_check_in_completes_a_follow_up_and_edits_the_plan(
    page: Page, log_in: LogIn, team: Team
):
    # Given the engagement lead, logged in through the login form
    log_in(page, team.lead)

    # When they log the due check-in from My week with two follow-ups
    log_check_in_from_my_week(page, team)
    # And complete one of the follow-ups
    complete_a_follow_up(page)
    # And move the sponsor's one-to-one to every other Thursday
    move_the_one_to_one_to_fortnightly_thursdays(page)

    # Then each step was saved as the pages said
    _assert_saved(team)


def test_the_same_journey_works_with_javascript_off(no_js_context: BrowserContext, log_in: LogIn, team: Team):
    # Given the engagement lead in a browser without JavaScript
    page = no_js_context.new_page()
    log_in(page, team.lead)

    # When they make the whole journey with plain forms
    log_check_in_from_my_week(page, team)
    complete_a_follow_up(page)
    move_the_one_to_one_to_fortnightly_thursdays(page)

    # Then every step was saved all the same
    _assert_saved(team)


def test_my_week_and_the_engagement_pages_fit_a_phone(
    phone_context: BrowserContext, site: str, log_in: LogIn, team: Team
):
    # Given the engagement lead on a 375 × 667 phone, with a check-in and follow-ups on record,
    # one of them overdue, so the header carries the health and the reasons for it
    factories.make_check_in(
        engagement=team.engagement,
        attendees=[team.sponsor.stakeholder],
        actor=team.lead,
        summary="Agreed the **training plan** for the super-users.",
        follow_ups=[],
    )
    factories.make_follow_up(engagement=team.engagement, owner_user=team.lead)
    late = factories.make_follow_up(engagement=team.engagement, owner_user=team.lead, title="Sign the DPA")
    FollowUp.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(days=40))
    engagement_health_refresh(engagement_ids=[team.engagement.pk], as_of=timezone.now())
    factories.make_raid_item(engagement=team.engagement, actor=team.lead, review_on=timezone.localdate())
    page = phone_context.new_page()
    log_in(page, team.lead)
    pk = team.engagement.pk
    pages = {
        "My week": reverse("home"),
        "Engagements": reverse("engagement_list"),
        "Log check-in": reverse("check_in_create"),
        "Attention": reverse("attention"),
        "Notifications": reverse("notification_list"),
        "Search": reverse("search") + "?q=training",
        "Your settings": reverse("account_settings"),
        "Where you are logged in": reverse("account_sessions"),
        "Engagement": reverse("engagement_detail", args=[pk]),
    }
    page.goto(f"{site}{pages['Engagement']}")
    sections = page.get_by_role("navigation", name="Engagement sections")
    for link in sections.get_by_role("link").all():
        pages[link.inner_text()] = str(link.get_attribute("href"))

    # When each page is opened
    too_wide, starts_below_the_screen, current_tab_hidden, tab_content_low = {}, {}, [], {}
    for name, path in pages.items():
        page.goto(f"{site}{path}")
        heading = page.locator("main h1").first
        expect(heading).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE_WIDTH:
            too_wide[name] = width
        top = heading.bounding_box()
        assert top is not None
        if top["y"] >= PHONE_HEIGHT:
            starts_below_the_screen[name] = top["y"]
        current = sections.locator('[aria-current="page"]')
        if current.count():
            # The tabs scroll sideways on one line, opened on the current one.
            box, strip = current.bounding_box(), sections.bounding_box()
            assert box is not None and strip is not None
            if box["x"] < strip["x"] - 1 or box["x"] + box["width"] > strip["x"] + strip["width"] + 1:
                current_tab_hidden.append(name)
            # Under the engagement's header and tabs, the tab's own content leaves room to be read.
            content_top = page.evaluate(_TOP_OF_THE_TABS_CONTENT)
            if content_top >= TAB_CONTENT_STARTS_WITHIN:
                tab_content_low[name] = content_top

    # Then none of them scrolls sideways, each page's own content starts on the first screen,
    # an engagement tab's content in its top part, and the current tab is in view
    assert len(pages) >= 13, pages
    assert too_wide == {}
    assert starts_below_the_screen == {}
    assert tab_content_low == {}
    assert current_tab_hidden == []
    page.goto(f"{site}{pages['Engagement']}")
    assert sections.locator("li").count() >= 7
    tab_tops = {round(box["y"]) for box in (li.bounding_box() for li in sections.locator("li").all()) if box}
    assert len(tab_tops) == 1, "the tabs wrapped onto more than one line"

    # The header's facts are folded, not lost: one tap shows the health's reasons and the dates
    header = page.locator("header.engagement-header")
    expect(header.get_by_text("Dates", exact=True)).to_be_hidden()
    header.get_by_text("Details", exact=True).click()
    expect(header.get_by_role("link", name="Overdue follow-ups")).to_be_visible()
    expect(header.get_by_text("Dates", exact=True)).to_be_visible()

    # The risk matrix's figures stay a grid on the phone: each impact's five counts on one line
    page.goto(f"{site}{pages['RAID log']}")
    matrix = page.get_by_role("table", name="Open risks by impact (rows) and likelihood (columns)")
    row = matrix.get_by_role("row").filter(has=page.get_by_role("rowheader", name="4"))
    cells = row.get_by_role("cell").all()
    cell_tops = {round(box["y"]) for box in (cell.bounding_box() for cell in cells) if box}
    assert row.get_by_role("cell").count() == 5
    assert len(cell_tops) == 1, "the matrix's cells were stacked one under another"
    expect(row).not_to_contain_text(":")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH


def test_on_a_wide_screen_every_engagement_tab_shows_without_scrolling(
    browser: Browser, browser_context_args: dict[str, Any], site: str, log_in: LogIn, team: Team
):
    # Given the lead on a 1280 px wide screen, on an engagement with every tab
    factories.make_check_in(engagement=team.engagement, attendees=[team.sponsor.stakeholder], actor=team.lead)
    context = browser.new_context(**{**browser_context_args, "viewport": {"width": 1280, "height": 800}})
    page = context.new_page()
    log_in(page, team.lead)
    page.goto(f"{site}{reverse('engagement_detail', args=[team.engagement.pk])}")
    sections = page.get_by_role("navigation", name="Engagement sections")
    hrefs = [str(link.get_attribute("href")) for link in sections.get_by_role("link").all()]
    assert len(hrefs) >= 9, hrefs
    # With the room for them, the header's facts show open, without a Details control to tap
    header = page.locator("header.engagement-header")
    expect(header.get_by_text("Dates", exact=True)).to_be_visible()
    expect(header.get_by_text("Budget", exact=True)).to_be_visible()
    expect(header.get_by_text("Details", exact=True)).to_be_hidden()
    # The engagement's own pages (Trends leads to a page of its own), and a channel's edit form with the tabs
    paths = [href for href in hrefs if href.startswith(f"/engagements/{team.engagement.pk}/")]
    paths.append(reverse("channel_edit", args=[Channel.objects.get(engagement=team.engagement).pk]))

    # When each tab is opened, the Communication plan among them
    hidden: dict[str, list[str]] = {}
    for path in paths:
        page.goto(f"{site}{path}")
        strip = sections.bounding_box()
        assert strip is not None
        for link in sections.get_by_role("link").all():
            box = link.bounding_box()
            assert box is not None
            if box["x"] < strip["x"] - 1 or box["x"] + box["width"] > strip["x"] + strip["width"] + 1:
                hidden.setdefault(path, []).append(link.inner_text())

    # Then every tab is whole within the strip on every page: nothing scrolled out of view
    context.close()
    assert hidden == {}


def test_a_checkbox_sits_before_its_words_at_the_left(page: Page, site: str, log_in: LogIn, team: Team):
    # Given the lead, a follow-up on record
    follow_up = factories.make_follow_up(engagement=team.engagement, owner_user=team.lead)
    log_in(page, team.lead)
    where = """box => {
        const label = box.labels[0];
        const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
        let node = walker.nextNode();
        while (node && !node.textContent.trim()) node = walker.nextNode();
        const range = document.createRange();
        range.selectNodeContents(node);
        const words = range.getBoundingClientRect(), tick = box.getBoundingClientRect();
        const field = box.closest(".field").getBoundingClientRect();
        return {gap: words.left - tick.right, indent: tick.left - field.left,
                sameLine: tick.top < words.bottom && words.top < tick.bottom};
    }"""
    new_risk = f"/engagements/{team.engagement.pk}/raid/new/?kind=risk"
    boxes = [
        (new_risk, "Anna Weber"),
        (new_risk, "Share with the client"),
        (reverse("follow_up_detail", args=[follow_up.pk]), "Client sees it"),
        (reverse("follow_up_create", args=[team.engagement.pk]), "Client sees it"),
    ]
    # When a form with a list of stakeholders to tick, or one box to tick, is opened
    for path, name in boxes:
        page.goto(f"{site}{path}")
        checkbox = page.get_by_role("checkbox", name=name, exact=True)

        # Then each box comes first, on the line of its words, at the field's left edge
        place = checkbox.evaluate(where)
        assert place["sameLine"], (name, place)
        assert 0 <= place["gap"] <= 16, (name, place)
        assert place["indent"] <= 40, (name, place)


def test_a_client_users_fewer_tabs_open_on_the_current_one_on_a_phone(
    phone_context: BrowserContext, site: str, log_in: LogIn, team: Team
):
    # Given the client's PMO lead, who sees seven of the engagement's tabs, on a phone
    item = factories.make_raid_item(engagement=team.engagement, actor=team.lead, shared_with_client=True)
    person = factories.client_user(team.engagement.client)
    page = phone_context.new_page()
    log_in(page, person)
    page.goto(f"{site}{reverse('engagement_detail', args=[team.engagement.pk])}")
    sections = page.get_by_role("navigation", name="Engagement sections")
    paths = [str(link.get_attribute("href")) for link in sections.get_by_role("link").all()]
    paths.append(reverse("raid_item_detail", args=[item.pk]))

    # When each is opened
    hidden = []
    for path in paths:
        page.goto(f"{site}{path}")
        box, strip = sections.locator('[aria-current="page"]').bounding_box(), sections.bounding_box()
        assert box is not None and strip is not None
        if box["x"] < strip["x"] - 1 or box["x"] + box["width"] > strip["x"] + strip["width"] + 1:
            hidden.append(path)

    # Then the current tab is whole in view on every one (the line once snapped past it to its end)
    assert len(paths) >= 6
    assert hidden == []


@pytest.mark.parametrize("javascript", [True, False], ids=["with JavaScript", "without JavaScript"])
def test_the_phone_menu_opens_from_one_control_with_and_without_javascript(
    request: pytest.FixtureRequest, site: str, log_in: LogIn, team: Team, javascript: bool
):
    # Given the lead on a phone, where the header shows the brand and one Menu control
    context = request.getfixturevalue("phone_context" if javascript else "no_js_phone_context")
    page = context.new_page()
    log_in(page, team.lead)
    header = page.locator("header.site-header").bounding_box()
    assert header is not None and header["height"] < 80
    main_menu = page.get_by_role("navigation", name="Main")
    expect(main_menu.get_by_role("link", name="Engagements")).to_be_hidden()

    # When they open it from the keyboard
    page.locator("summary", has_text="Menu").focus()
    page.keyboard.press("Enter")

    # Then the navigation, search and their account show, and a link there leads on
    expect(main_menu.get_by_role("link", name="Engagements")).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search")).to_be_visible()
    page.locator("summary", has_text="Lukas Meyer · Engagement lead").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    main_menu.get_by_role("link", name="Engagements").click()
    expect(page.get_by_role("heading", name="Engagements", level=1)).to_be_visible()


def test_on_a_phone_escape_closes_the_open_menu_and_gives_the_focus_back_to_its_control(
    phone_context: BrowserContext, log_in: LogIn, team: Team
):
    # Given the lead on a phone, the menu open and in it their account menu
    page = phone_context.new_page()
    log_in(page, team.lead)
    menu = page.locator("summary", has_text="Menu")
    account = page.locator("summary", has_text="Lukas Meyer · Engagement lead")
    engagements = page.get_by_role("navigation", name="Main").get_by_role("link", name="Engagements")
    menu.click()
    account.click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()

    # When they press Escape, the account menu closes and the main menu stays open
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    expect(engagements).to_be_visible()
    expect(account).to_be_focused()

    # And a second Escape closes the menu, the focus back on its control
    page.keyboard.press("Escape")
    expect(engagements).to_be_hidden()
    expect(menu).to_be_focused()

    # When they open it again and tap the page outside it (the page's margin, under the menu's
    # panel), it closes too, and the page stays where it was
    menu.click()
    expect(engagements).to_be_visible()
    url = page.url
    page.mouse.click(5, PHONE_HEIGHT - 5)
    expect(engagements).to_be_hidden()
    assert page.url == url


def test_a_user_logs_in_and_chooses_their_time_zone(page: Page, site: str, log_in: LogIn):
    # Given a consultant on UTC, logged in through the login form
    user = factories.consultant(first_name="Joana", last_name="Silva")
    log_in(page, user)

    # When they open their settings from the header and choose Lisbon
    page.locator("summary", has_text="Joana Silva · Consultant").click()
    page.get_by_role("link", name="Your settings").click()
    page.get_by_label("Time zone").select_option("Europe/Lisbon")
    page.get_by_role("button", name="Save settings").click()

    # Then the page confirms it and shows the local time in that zone
    expect(page.get_by_role("status")).to_contain_text("Your settings are saved.")
    expect(page.get_by_text("(Europe/Lisbon)")).to_be_visible()
    user.refresh_from_db()
    assert user.time_zone == "Europe/Lisbon"
