"""The bell in the browser: unread notifications counted, listed and marked read, JavaScript on and off."""

from __future__ import annotations

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import User
from notifications.models import Notification
from tests import factories
from tests.e2e.conftest import LogIn

pytestmark = pytest.mark.e2e


@pytest.fixture
def consultant_with_two_unread(site: str) -> User:
    consultant = factories.consultant(first_name="Lukas", last_name="Meyer", time_zone="Europe/Berlin")
    client = factories.make_client(name="Rheinland Kliniken", time_zone="Europe/Berlin")
    engagement = factories.make_engagement(client=client, lead=consultant, code="EHR-26", name="EHR rollout")
    factories.make_notification(
        recipient=consultant, engagement=engagement, message="Send the revised cut-over plan is overdue"
    )
    factories.make_notification(
        recipient=consultant,
        engagement=engagement,
        message="Anna Weber has gone quiet",
        event="sponsor_silent",
    )
    return consultant


def _mark_one_read_from_the_bell(page: Page) -> None:
    # The bell says two, in words for a screen reader and as a number on the badge
    bell = page.get_by_role("link", name="Notifications, 2 unread")
    expect(bell).to_be_visible()
    expect(bell).to_contain_text("2")

    # Opening it lists both, unread
    bell.click()
    expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
    rows = page.get_by_role("row").filter(has_text="Unread")
    expect(rows).to_have_count(2)

    # Marking one read leaves one unread and the bell counting one
    page.get_by_role("button", name="Mark read: Anna Weber has gone quiet").click()
    expect(page.get_by_role("button", name="Mark read: Anna Weber has gone quiet")).to_have_count(0)
    expect(rows).to_have_count(1)
    expect(page.get_by_role("link", name="Notifications, 1 unread")).to_contain_text("1")


def test_marking_a_notification_read_in_place_drops_the_bell_to_one(
    page: Page, log_in: LogIn, consultant_with_two_unread: User
) -> None:
    log_in(page, consultant_with_two_unread)
    _mark_one_read_from_the_bell(page)
    assert (
        Notification.objects.filter(recipient=consultant_with_two_unread, read_at__isnull=True).count() == 1
    )


def test_without_javascript_marking_read_reloads_the_list_with_the_bell_at_one(
    no_js_context: BrowserContext, log_in: LogIn, consultant_with_two_unread: User
) -> None:
    page = no_js_context.new_page()
    log_in(page, consultant_with_two_unread)
    _mark_one_read_from_the_bell(page)
    assert (
        Notification.objects.filter(recipient=consultant_with_two_unread, read_at__isnull=True).count() == 1
    )
