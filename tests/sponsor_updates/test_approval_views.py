"""The team's side of approval: the approval choice, the summary on the preview, waiting updates, history."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from communications.models import Delivery, SponsorSubscription
from notifications.models import OutboxMessage
from pmaas.errors import NotAllowed
from sponsor_updates import services
from sponsor_updates.links import LinkTarget, Purpose, link_url
from tests import factories
from tests.sponsor_updates.conftest import AS_OF, BEFORE, INTERNAL, LATER


def _edit_form(**values: str) -> dict[str, str]:
    return {
        "cadence": "weekly",
        "weekday": "0",
        "local_time": "08:00",
        "time_zone": "Europe/Berlin",
        "is_active": "on",
        **values,
    }


def test_the_team_chooses_approval_per_subscription_and_the_recipient_never_changes_it(due, client: Client):
    subscription = due.subscription
    client.force_login(due.lead)
    url = reverse("subscription_edit", args=[due.engagement.pk, subscription.pk])

    # The form offers both choices as labelled radio buttons
    page = client.get(url).content.decode()
    assert 'type="radio" name="needs_approval" value="needed"' in page
    assert "Send without approval" in page and "Needs approval" in page

    # When the team chooses "needs approval"
    assert client.post(url, _edit_form(needs_approval="needed")).status_code == 302
    subscription.refresh_from_db()
    assert subscription.needs_approval

    # Then the recipient's preferences neither show the choice nor undo it when saved
    token_url = link_url(Purpose.PREFERENCES, LinkTarget(subscription_id=subscription.pk))
    path = token_url.split("://", 1)[1].split("/", 1)[1]
    client.logout()
    preferences = client.get(f"/{path}").content.decode()
    assert "needs_approval" not in preferences
    with time_machine.travel(BEFORE, tick=False):
        assert client.post(f"/{path}", _edit_form(local_time="09:00")).status_code == 302
    subscription.refresh_from_db()
    assert (subscription.local_time, subscription.needs_approval) == (dt.time(9), True)


def test_the_lead_edits_and_approves_the_next_summary_on_the_preview_keeping_input_on_error(
    due, client: Client
):
    subscription = due.subscription
    client.force_login(due.lead)
    preview_url = reverse("subscription_preview", args=[due.engagement.pk, subscription.pk])
    save_url = reverse("subscription_summary", args=[due.engagement.pk, subscription.pk])

    # The preview shows the drafted summary of the next update, ready to edit
    with time_machine.travel(BEFORE, tick=False):
        page = client.get(preview_url).content.decode()
    assert "Summary of the update due Mon 9 Mar 2026 08:00" in page
    assert "We met once this week, on 4 Mar, with you" in page
    assert INTERNAL not in page.split('id="next-summary-title"')[1].split("</section>")[0]

    # A summary too long is refused beside the field, and the text typed stays
    typed = "Kept words. " + "x" * 20_000
    with time_machine.travel(BEFORE, tick=False):
        refused = client.post(save_url, {"summary": typed, "action": "approve"})
    assert refused.status_code == 400
    assert "Keep it under 20000 characters." in refused.content.decode()
    assert "Kept words. xxxx" in refused.content.decode()
    assert not Delivery.objects.exists()

    # When the lead saves and approves a summary
    with time_machine.travel(BEFORE, tick=False):
        done = client.post(save_url, {"summary": "On track for go-live.", "action": "approve"})
        assert done.status_code == 302
        page = client.get(preview_url).content.decode()

    # Then the preview says it is approved, and at its time it goes with those words
    assert "Approved</strong> by Lena Lead" in page and "On track for go-live." in page
    services.updates_sweep(as_of=AS_OF)
    [message] = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE)
    assert "On track for go-live." in message.body_text


def test_a_waiting_update_is_listed_for_the_lead_approved_from_its_page_and_shown_late_in_history(
    due, client: Client
):
    SponsorSubscription.objects.update(needs_approval=True)
    services.updates_sweep(as_of=AS_OF)
    delivery = Delivery.objects.get()
    engagement = due.engagement
    client.force_login(due.lead)

    # The updates page lists it first, since when it waits, with a link to review and approve
    with time_machine.travel(LATER, tick=False):
        page = client.get(reverse("engagement_updates", args=[engagement.pk])).content.decode()
    assert "1 update waiting for approval" in page
    assert "waiting for your approval since Mon 9 Mar 2026 08:00 (Europe/Berlin)" in page
    review_url = reverse("delivery_review", args=[engagement.pk, delivery.pk])
    assert review_url in page
    history_url = reverse("engagement_update_history", args=[engagement.pk])
    assert "Waiting for approval" in client.get(history_url).content.decode()

    # Its page shows the update with its summary and the approval form
    with time_machine.travel(LATER, tick=False):
        review = client.get(review_url).content.decode()
    assert "Waiting for approval since Mon 9 Mar 2026 08:00" in review
    assert "Approve and send now" in review and "We met once this week" in review

    # When the lead approves it from there, twice
    approve_url = reverse("delivery_approve", args=[engagement.pk, delivery.pk])
    with time_machine.travel(LATER, tick=False):
        first = client.post(approve_url, {"summary": "Sorry for the delay.", "action": "approve"})
        second = client.post(approve_url, {"summary": "Sorry for the delay.", "action": "approve"})

    # Then it went once, late, and the history says so
    assert (first.status_code, second.status_code) == (302, 302)
    [message] = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE)
    assert "Sorry for the delay." in message.body_text and "This update was delayed" in message.body_text
    history = client.get(history_url).content.decode()
    assert "sent late, after approval" in history and "Waiting for approval" not in history
    page = client.get(reverse("engagement_updates", args=[engagement.pk])).content.decode()
    assert "waiting for approval" not in page


def test_a_consultant_sees_a_waiting_update_but_cannot_approve_it_and_a_client_user_gets_404(
    due, client: Client
):
    SponsorSubscription.objects.update(needs_approval=True)
    services.updates_sweep(as_of=AS_OF)
    delivery = Delivery.objects.get()
    engagement = due.engagement
    consultant = factories.consultant(username="team-member")
    factories.engagement_services.membership_add(
        actor=factories._system(), engagement=engagement, user=consultant
    )
    approve_url = reverse("delivery_approve", args=[engagement.pk, delivery.pk])
    review_url = reverse("delivery_review", args=[engagement.pk, delivery.pk])
    form = {"summary": "Mine.", "action": "approve"}

    # A consultant on the team sees it wait, without the approval form, and is refused approving it
    client.force_login(consultant)
    page = client.get(reverse("engagement_updates", args=[engagement.pk])).content.decode()
    assert "waiting for approval since" in page and "the engagement lead approves it" in page
    assert approve_url not in client.get(review_url).content.decode()
    assert client.post(approve_url, form).status_code == 403
    summary_url = reverse("subscription_summary", args=[engagement.pk, due.subscription.pk])
    assert client.post(summary_url, form).status_code == 403

    # A client user of the same client finds neither page
    client.force_login(factories.client_user(engagement.client))
    assert client.get(review_url).status_code == 404
    assert client.post(approve_url, form).status_code == 404

    # And nothing went
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE).exists()


def test_only_the_lead_decides_whether_updates_need_approval(due, client: Client):
    # Given updates that need approval, and a team member who is not the lead
    SponsorSubscription.objects.update(needs_approval=True)
    subscription = due.subscription
    member = factories.consultant(username="member-approval")
    factories.engagement_services.membership_add(
        actor=factories._system(), engagement=due.engagement, user=member
    )
    client.force_login(member)
    url = reverse("subscription_edit", args=[due.engagement.pk, subscription.pk])

    # The member's form offers no approval choice, and says who decides
    page = client.get(url).content.decode()
    assert 'name="needs_approval"' not in page
    assert "each update needs the engagement lead's approval. The engagement lead decides this." in page

    # When the member moves the update to Tuesday and slips "not needed" into the request
    response = client.post(url, _edit_form(weekday="1", needs_approval="not_needed"))

    # Then the day changes and the approval stays
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert (subscription.weekday, subscription.needs_approval) == (1, True)
    # And the service itself refuses the change from anyone but those who approve
    spec = services.SubscriptionSchedule("weekly", 1, dt.time(8), "Europe/Berlin", needs_approval=False)
    with pytest.raises(NotAllowed):
        services.subscription_update(
            actor=member, subscription=subscription, spec=spec, is_active=True, as_of=LATER
        )
    services.subscription_update(
        actor=due.lead, subscription=subscription, spec=spec, is_active=True, as_of=LATER
    )
    subscription.refresh_from_db()
    assert not subscription.needs_approval
