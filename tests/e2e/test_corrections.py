"""Browser journeys: correcting a check-in and seeing compliance follow; a follow-up's page with comments;
the client PMO lead's home, without the firm's internal assessments."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from playwright.sync_api import Page, expect

from communications import services
from communications.models import CheckIn, Occurrence, Sentiment
from engagements.models import ChangeRequest
from tests import factories
from tests.e2e.conftest import LogIn


def _weekly_meeting_held_two_days_ago():
    """A lead, a sponsor with a weekly meeting whose last one (two days ago, 09:00 UTC) a check-in held."""
    lead = factories.consultant(username="lena", first_name="Lena", last_name="Vogel", time_zone="UTC")
    client = factories.make_client(name="Rheinland Kliniken", time_zone="UTC")
    engagement = factories.make_engagement(client=client, lead=lead, code="EHR-26", name="EHR rollout")
    sponsor = factories.make_stakeholder(client=client, name="Anna Weber", time_zone="UTC")
    role = factories.make_role(engagement=engagement, stakeholder=sponsor)
    held_on = timezone.now().date() - dt.timedelta(days=2)
    due = dt.datetime.combine(held_on, dt.time(9), tzinfo=dt.UTC)
    channel = factories.make_channel(
        role=role,
        owner=lead,
        title="Weekly sponsor one-to-one",
        recurrence_rule="FREQ=WEEKLY",
        starts_on=held_on,
        local_time=dt.time(9),
        as_of=due - dt.timedelta(days=1),
    )
    check_in = factories.make_check_in(
        engagement=engagement,
        attendees=[sponsor],
        actor=lead,
        occurred_at=due,
        summary="Reviewed the ward plan.",
    )
    assert Occurrence.objects.get(channel=channel, due_at=due).status == Occurrence.Status.HELD
    return lead, engagement, check_in, due


def test_a_lead_edits_a_check_ins_time_and_compliance_follows(page: Page, site: str, log_in: LogIn):
    # Given the weekly meeting held on time by a check-in: the plan says 1 of 1 held on time
    lead, engagement, check_in, due = _weekly_meeting_held_two_days_ago()
    log_in(page, lead)
    page.goto(f"{site}/engagements/{engagement.pk}/plan/")
    expect(page.locator("#plan-compliance")).to_contain_text("1 of 1 held on time")

    # When the lead corrects the check-in on the timeline: it was five days earlier, another conversation
    page.get_by_role("navigation", name="Engagement sections").get_by_role("link", name="Timeline").click()
    page.get_by_role("link", name=f"Edit the check-in of {due:%-d %b %Y}").click()
    expect(page.get_by_role("heading", name="Edit check-in")).to_be_visible()
    earlier = due - dt.timedelta(days=5)
    page.get_by_label("When").fill(earlier.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Summary").fill("Reviewed the ward plan (a corridor chat, not the one-to-one).")
    page.get_by_role("button", name="Save correction").click()

    # Then the timeline shows it edited, with its earlier version a click away
    expect(page.get_by_role("status")).to_contain_text("Check-in corrected")
    entry = page.get_by_role("article").filter(has_text="a corridor chat")
    expect(entry).to_contain_text("edited")
    entry.get_by_role("link", name="see earlier versions").click()
    expect(page.get_by_role("heading", name="Earlier versions")).to_be_visible()
    expect(page.locator(".revisions")).to_contain_text("Reviewed the ward plan.")

    # And the plan now counts the meeting as not held
    page.goto(f"{site}/engagements/{engagement.pk}/plan/")
    expect(page.locator("#plan-compliance")).to_contain_text("0 of 1 held on time")
    assert not Occurrence.objects.filter(check_in=check_in).exists()


def test_a_follow_up_page_shows_its_history_and_takes_a_comment(page: Page, site: str, log_in: LogIn):
    # Given a follow-up from the check-in, re-dated once
    lead, engagement, check_in, _ = _weekly_meeting_held_two_days_ago()
    follow_up = factories.make_follow_up(
        engagement=engagement, owner_user=lead, title="Send the revised cut-over plan"
    )
    services.follow_up_redate(actor=lead, follow_up=follow_up, due_at=follow_up.due_at + dt.timedelta(days=7))
    log_in(page, lead)

    # When the lead opens it from the follow-ups tab
    page.goto(f"{site}/engagements/{engagement.pk}/follow-ups/")
    page.get_by_role("link", name="Send the revised cut-over plan", exact=True).click()

    # Then its page shows the owner, the re-date and no comments yet
    expect(page.get_by_role("heading", name="Send the revised cut-over plan")).to_be_visible()
    expect(page.get_by_role("region", name="Re-dates")).to_contain_text("by Lena Vogel")
    comments = page.get_by_role("region", name="Comments")
    expect(comments).to_contain_text("No comments yet.")

    # When an empty comment is sent, then a real one, shared with the client
    comments.get_by_role("button", name="Add comment").click()
    expect(page.get_by_role("region", name="Comments")).to_contain_text("Write a comment.")
    page.get_by_label("Your comment").fill("Draft is with the ward managers.")
    page.get_by_label("Client sees it").check()
    page.get_by_role("button", name="Add comment").click()

    # Then it is listed, marked shared
    expect(page.get_by_role("status")).to_contain_text("Comment added.")
    listed = page.get_by_role("region", name="Comments").get_by_role("listitem")
    expect(listed).to_contain_text("Draft is with the ward managers.")
    expect(listed).to_contain_text("shared with the client")


def test_a_client_pmo_lead_sees_her_dashboard_and_none_of_the_internal_fields(
    page: Page, site: str, log_in: LogIn
):
    # Given her organisation's engagement with a shared and an internal check-in (both very negative),
    # a change awaiting a decision, and a late item her colleague owes
    lead, engagement, check_in, _ = _weekly_meeting_held_two_days_ago()
    CheckIn.objects.filter(pk=check_in.pk).update(shared_with_client=True, sentiment=Sentiment.VERY_NEGATIVE)
    sponsor = check_in.attendees.get()
    factories.make_check_in(
        engagement=engagement,
        attendees=[sponsor],
        actor=lead,
        summary="Candid: the sponsor is losing patience.",
        sentiment=Sentiment.VERY_NEGATIVE,
    )
    ChangeRequest.objects.create(
        engagement=engagement, title="Add the pharmacy module", raised_on=dt.date(2026, 3, 2), budget_impact=1
    )
    factories.make_follow_up(
        engagement=engagement,
        owner_stakeholder=sponsor,
        title="Sign the data protection addendum",
        due_at=timezone.now() - dt.timedelta(days=2),
    )
    pmo = factories.client_user(engagement.client, username="pmo", first_name="Petra", last_name="Lang")

    # When she logs in
    log_in(page, pmo)

    # Then her home is her organisation's dashboard
    expect(page.get_by_role("heading", name="Your engagements")).to_be_visible()
    expect(page.get_by_role("region", name="Engagements")).to_contain_text("EHR rollout")
    owed = page.get_by_role("region", name="What your people owe")
    expect(owed).to_contain_text("Sign the data protection addendum")
    expect(owed).to_contain_text("1 overdue")
    expect(page.get_by_role("region", name="Change requests awaiting a decision")).to_contain_text(
        "Add the pharmacy module"
    )
    expect(page.get_by_role("region", name="Meeting notes shared with you")).to_contain_text(
        "Reviewed the ward plan."
    )
    # And none of the firm's internal view: no internal note, sentiment, health colour or assessment
    body = page.locator("main")
    for internal in ("Candid", "Sentiment", "Very negative", "Influence", "Interest", "Gone quiet", "budget"):
        expect(body).not_to_contain_text(internal)
