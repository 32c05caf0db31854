"""A sponsor's signed-link pages in a real browser, with JavaScript on and off, and on a phone.

No login: the signed link is the permission. Each journey starts from the
link the mail carries, as the sponsor would, and checks what the sponsor
sees and what the database recorded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from accounts.models import User
from communications.models import Delivery, SponsorSubscription
from notifications.models import Notification, OutboxMessage
from sponsor_updates import services
from sponsor_updates.links import LinkTarget, Purpose, link_max_age, link_token
from stakeholders.models import StakeholderRole
from tests import factories

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 375
BERLIN = ZoneInfo("Europe/Berlin")
_ROUTES = {
    Purpose.VIEW: "sponsor_update_online",
    Purpose.PREFERENCES: "sponsor_update_preferences",
    Purpose.UNSUBSCRIBE: "sponsor_update_unsubscribe",
    Purpose.ACKNOWLEDGE: "sponsor_update_acknowledge",
}


@dataclasses.dataclass
class Sponsor:
    site: str
    lead: User
    subscription: SponsorSubscription
    delivery: Delivery

    def link(self, purpose: Purpose, *, signed_days_ago: int = 0) -> str:
        """The page a signed link of the mail opens, on the live server; signed that many days ago."""
        target = LinkTarget(subscription_id=self.subscription.pk, delivery_id=self.delivery.pk)
        if purpose in (Purpose.PREFERENCES, Purpose.UNSUBSCRIBE):
            target = LinkTarget(subscription_id=self.subscription.pk)
        with time_machine.travel(timezone.now() - dt.timedelta(days=signed_days_ago)):
            token = link_token(purpose, target)
        return self.site + reverse(_ROUTES[purpose], kwargs={"token": token})


@pytest.fixture
def sponsor(site: str) -> Sponsor:
    """Anna Weber, sponsor of an engagement in Berlin, subscribed by default and sent one update."""
    lead = factories.consultant(first_name="Lukas", last_name="Meyer", time_zone="Europe/Berlin")
    client = factories.make_client(name="Rheinland Kliniken", time_zone="Europe/Berlin")
    engagement = factories.make_engagement(client=client, lead=lead, code="EHR-26", name="EHR rollout")
    factories.make_role(
        engagement=engagement,
        stakeholder=factories.make_stakeholder(
            client=client, name="Anna Weber", email="anna.weber@kliniken.test", time_zone="Europe/Berlin"
        ),
        kind=StakeholderRole.Kind.SPONSOR,
    )
    now = timezone.now()
    services.subscriptions_ensure_for_sponsors(as_of=now, engagement_ids=[engagement.pk])
    subscription = SponsorSubscription.objects.get(engagement=engagement)
    delivery = services.update_send_now(actor=lead, subscription=subscription, request_key="first", as_of=now)
    OutboxMessage.objects.filter(delivery=delivery).update(status="sent", sent_at=now)
    return Sponsor(site=site, lead=lead, subscription=subscription, delivery=delivery)


def _saved(page: Page, text: str) -> None:
    expect(page.locator(".messages")).to_contain_text(text)


def change_preferences_pause_unsubscribe_and_resume(page: Page, sponsor: Sponsor) -> None:
    """The sponsor's whole preferences journey, from the link in the mail."""
    page.goto(sponsor.link(Purpose.PREFERENCES))
    expect(page.get_by_role("heading", name="Your status updates of EHR rollout")).to_be_visible()
    expect(page.get_by_text("The next one comes")).to_be_visible()

    # Every other week, on Thursdays at 17:30 Berlin time
    page.get_by_label("How often").select_option(label="Every two weeks")
    page.get_by_label("Day").select_option(label="Thursday")
    page.get_by_label("Local time").fill("17:30")
    page.get_by_role("button", name="Save").click()
    _saved(page, "Your preferences are saved.")
    expect(page.get_by_label("How often")).to_have_value("fortnightly")
    expect(page.get_by_text("(Europe/Berlin)")).to_be_visible()
    subscription = SponsorSubscription.objects.get(pk=sponsor.subscription.pk)
    assert (subscription.cadence, subscription.weekday, subscription.local_time) == (
        "fortnightly",
        3,
        dt.time(17, 30),
    )
    assert subscription.next_send_at is not None
    local = subscription.next_send_at.astimezone(BERLIN)
    assert (local.weekday(), local.hour, local.minute) == (3, 17, 30)

    # Paused for two weeks: nothing goes out up to that day
    pause_end = timezone.now().astimezone(BERLIN).date() + dt.timedelta(days=14)
    page.get_by_label("Paused until").fill(pause_end.isoformat())
    page.get_by_role("button", name="Save").click()
    _saved(page, "Your preferences are saved.")
    expect(page.get_by_label("Paused until")).to_have_value(pause_end.isoformat())
    assert SponsorSubscription.objects.get(pk=sponsor.subscription.pk).paused_until == pause_end

    # A pause that ended before today is refused on the form, in words
    page.get_by_label("Paused until").fill("2020-01-01")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Choose today or a later day")).to_be_visible()
    assert SponsorSubscription.objects.get(pk=sponsor.subscription.pk).paused_until == pause_end

    # Unsubscribed with one button, and back again
    page.get_by_role("button", name="Unsubscribe").click()
    _saved(page, "You are unsubscribed: no more updates will come.")
    expect(page.get_by_text("These updates are off")).to_be_visible()
    subscription = SponsorSubscription.objects.get(pk=sponsor.subscription.pk)
    assert (subscription.is_active, subscription.stopped_by, subscription.next_send_at) == (
        False,
        "recipient",
        None,
    )
    page.get_by_role("button", name="Start them again").click()
    _saved(page, "Your updates will come again.")
    expect(page.get_by_role("button", name="Unsubscribe")).to_be_visible()
    subscription = SponsorSubscription.objects.get(pk=sponsor.subscription.pk)
    assert subscription.is_active and subscription.next_send_at is not None
    assert subscription.cadence == "fortnightly" and subscription.paused_until == pause_end


def test_a_sponsor_changes_pauses_unsubscribes_and_resumes_from_the_link(
    page: Page, sponsor: Sponsor
) -> None:
    change_preferences_pause_unsubscribe_and_resume(page, sponsor)


def test_the_preferences_work_with_javascript_off(no_js_context: BrowserContext, sponsor: Sponsor) -> None:
    change_preferences_pause_unsubscribe_and_resume(no_js_context.new_page(), sponsor)


def test_a_sponsor_acknowledges_with_one_click_then_adds_a_comment_and_asks_for_a_call(
    page: Page, sponsor: Sponsor
) -> None:
    # Given the acknowledge link of the update; opening it records nothing
    page.goto(sponsor.link(Purpose.ACKNOWLEDGE))
    expect(page.get_by_role("heading", name="Status update of EHR rollout")).to_be_visible()
    assert Delivery.objects.get(pk=sponsor.delivery.pk).acknowledged_at is None

    # When the sponsor clicks once
    page.get_by_role("button", name="I have read it").click()

    # Then it is recorded, the page thanks them, and the lead is told in the app
    expect(page.get_by_text("Thank you: you acknowledged it on")).to_be_visible()
    delivery = Delivery.objects.get(pk=sponsor.delivery.pk)
    assert delivery.acknowledged_at is not None and (delivery.comment, delivery.wants_call) == ("", False)
    assert Notification.objects.filter(recipient=sponsor.lead, event="update_acknowledged").count() == 1

    # When, later, they add a comment and ask for a call through the same link
    page.goto(sponsor.link(Purpose.ACKNOWLEDGE))
    page.get_by_label("A comment for the team (optional)").fill("Please walk me through the go-live plan.")
    page.get_by_label("I would like a call").check()
    page.get_by_role("button", name="Save my answer").click()

    # Then the change is shown and recorded, the first time kept, and the lead told once more
    _saved(page, "Your answer is changed, and the team has been told.")
    expect(page.get_by_text("You asked for a call; the team will be in touch.")).to_be_visible()
    expect(page.locator("blockquote")).to_have_text("Please walk me through the go-live plan.")
    changed = Delivery.objects.get(pk=sponsor.delivery.pk)
    assert changed.acknowledged_at == delivery.acknowledged_at
    assert (changed.comment, changed.wants_call) == ("Please walk me through the go-live plan.", True)
    notices = Notification.objects.filter(recipient=sponsor.lead, event="update_acknowledged")
    assert notices.count() == 2

    # And sending the same answer again changes nothing and tells nobody
    page.get_by_role("button", name="Save my answer").click()
    _saved(page, "Your answer was already recorded as it is.")
    assert notices.count() == 2


def test_a_sponsor_acknowledges_with_a_comment_and_a_call_with_javascript_off(
    no_js_context: BrowserContext, sponsor: Sponsor
) -> None:
    page = no_js_context.new_page()
    page.goto(sponsor.link(Purpose.ACKNOWLEDGE))
    page.get_by_label("A comment for the team (optional)").fill("Looks good.")
    page.get_by_label("I would like a call").check()
    page.get_by_role("button", name="I have read it").click()

    expect(page.get_by_text("Thank you: you acknowledged it on")).to_be_visible()
    expect(page.get_by_text("You asked for a call; the team will be in touch.")).to_be_visible()
    expect(page.locator("blockquote")).to_have_text("Looks good.")
    delivery = Delivery.objects.get(pk=sponsor.delivery.pk)
    assert (delivery.comment, delivery.wants_call) == ("Looks good.", True)

    # And the call can be taken back later
    page.get_by_label("I would like a call").uncheck()
    page.get_by_role("button", name="Save my answer").click()
    _saved(page, "Your answer is changed")
    expect(page.get_by_text("You asked for a call")).to_have_count(0)
    assert Delivery.objects.get(pk=sponsor.delivery.pk).wants_call is False


def test_a_tampered_link_says_so_and_a_new_link_can_be_asked_for_by_address(
    page: Page, sponsor: Sponsor
) -> None:
    # Given a preferences link cut short when it was copied
    link = sponsor.link(Purpose.PREFERENCES)
    response = page.goto(link[:-6] + "/")

    # Then a page in the site's layout says what happened, not an error page
    assert response is not None and response.status == 400
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    expect(page.get_by_text("The link is incomplete or was changed")).to_be_visible()

    # When the sponsor asks for a new link with their address
    page.get_by_label("Your email address").fill("anna.weber@kliniken.test")
    page.get_by_role("button", name="Send me a new link").click()

    # Then they are told to check their mail, and a fresh preferences link is on its way
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    [sent] = OutboxMessage.objects.filter(idempotency_key__startswith="sponsor_update_link:")
    assert (
        sent.to_address.endswith("<anna.weber@kliniken.test>") and "/updates/preferences/" in sent.body_text
    )


def test_an_expired_link_offers_a_new_one_in_one_click_with_javascript_off(
    no_js_context: BrowserContext, sponsor: Sponsor
) -> None:
    # Given an acknowledge link signed longer ago than links last
    page = no_js_context.new_page()
    response = page.goto(sponsor.link(Purpose.ACKNOWLEDGE, signed_days_ago=link_max_age().days + 1))

    # Then the page says it expired, and asks for no address: the old link names the subscription
    assert response is not None and response.status == 410
    expect(page.get_by_text("The link has expired")).to_be_visible()
    expect(page.get_by_label("Your email address")).to_have_count(0)
    assert Delivery.objects.get(pk=sponsor.delivery.pk).acknowledged_at is None

    # When the sponsor asks for a new link
    page.get_by_role("button", name="Send me a new link").click()

    # Then a fresh link goes to the subscription's address
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    [sent] = OutboxMessage.objects.filter(idempotency_key__startswith="sponsor_update_link:")
    assert sent.about == {"subscription": sponsor.subscription.pk, "link": "preferences"}


@pytest.mark.parametrize("purpose", [Purpose.PREFERENCES, Purpose.ACKNOWLEDGE, Purpose.VIEW])
def test_the_signed_pages_fit_a_phone(
    phone_context: BrowserContext, sponsor: Sponsor, purpose: Purpose
) -> None:
    page = phone_context.new_page()
    page.goto(sponsor.link(purpose))
    expect(page.locator("main h1")).to_be_visible()
    # Nothing wider than the screen: no sideways scrolling to reach a field or a button
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
    for button in page.get_by_role("button").all():
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH
