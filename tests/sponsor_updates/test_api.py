"""Sponsor updates through the API: where each stands, and the lead's approval."""

from __future__ import annotations

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from communications.models import Delivery, SponsorSubscription
from notifications.models import OutboxMessage
from sponsor_updates import services
from tests import factories
from tests.sponsor_updates.conftest import AS_OF, BEFORE, LATER


@pytest.fixture
def waiting(due):
    """The sponsor's update came due without the approval it needs, and waits."""
    SponsorSubscription.objects.update(needs_approval=True)
    services.updates_sweep(as_of=AS_OF)
    return due


def _approve(client: Client, delivery: Delivery, body: dict[str, object]):
    return client.post(
        reverse("v1:delivery-approve", args=[delivery.pk]), body, content_type="application/json"
    )


def test_the_list_tells_a_draft_and_a_waiting_update_from_a_pending_message(waiting, client: Client):
    # Given a held update, and the lead's draft of the next one
    waiting.subscription.refresh_from_db()
    services.update_next_summary_save(
        actor=waiting.lead,
        subscription=waiting.subscription,
        summary="Next week.",
        approve=False,
        as_of=LATER,
    )
    client.force_login(waiting.lead)

    # When the lead lists the updates
    rows = client.get(reverse("v1:delivery-list")).json()["results"]

    # Then each says where it stands, with its period and summary
    states = {row["period_end"]: (row["state"], row["summary"], row["sent_on_request"]) for row in rows}
    assert states["2026-03-09"][0] == "waiting_for_approval"
    assert states["2026-03-16"] == ("draft", "Next week.", False)


def test_the_lead_approves_a_waiting_update_with_new_words_and_it_goes_at_once(waiting, client: Client):
    delivery = Delivery.objects.get()
    client.force_login(waiting.lead)

    # When the lead approves it through the API with a summary of their own
    with time_machine.travel(LATER, tick=False):
        response = _approve(client, delivery, {"summary": "Go-live holds; sign the plan by Friday."})

    # Then it is approved and its message is in the outbox, opening with those words, marked late
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["summary"]) == ("pending", "Go-live holds; sign the plan by Friday.")
    assert body["approved_at"] is not None and body["held_at"] is not None
    message = OutboxMessage.objects.get(kind=OutboxMessage.Kind.SPONSOR_UPDATE)
    assert "Go-live holds; sign the plan by Friday." in message.body_text
    assert "This update was delayed" in message.body_text

    # And approving again sends nothing more
    assert _approve(client, delivery, {}).status_code == 200
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE).count() == 1


def test_an_empty_summary_is_a_field_error_and_nothing_goes(waiting, client: Client):
    delivery = Delivery.objects.get()
    client.force_login(waiting.lead)

    response = _approve(client, delivery, {"summary": "   "})

    assert response.status_code == 400
    assert "summary" in response.json()
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE).exists()


def test_only_the_lead_approves_and_outsiders_do_not_see_the_update(waiting, client: Client):
    delivery = Delivery.objects.get()
    member = factories.consultant(username="member-api")
    factories.engagement_services.membership_add(
        actor=factories._system(), engagement=waiting.engagement, user=member
    )

    # A team member who is not the lead may see it but not approve it
    client.force_login(member)
    assert _approve(client, delivery, {}).status_code == 403
    # Someone outside the engagement, and a client user, do not see it at all
    client.force_login(factories.consultant(username="outsider-api"))
    assert _approve(client, delivery, {}).status_code == 404
    client.force_login(factories.client_user(waiting.engagement.client))
    assert _approve(client, delivery, {}).status_code == 404

    assert Delivery.objects.get().approved_at is None
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE).exists()


def test_before_its_time_an_approved_draft_waits_for_the_sweep(due, client: Client):
    # Given the lead's draft of the next update, approved through the API before its time
    SponsorSubscription.objects.update(needs_approval=True)
    draft = services.update_next_draft(actor=due.lead, subscription=due.subscription, as_of=BEFORE)
    client.force_login(due.lead)
    with time_machine.travel(BEFORE, tick=False):
        response = _approve(client, draft, {})

    # Then it is an approved draft, and nothing has gone yet
    assert response.status_code == 200
    assert response.json()["state"] == "draft" and response.json()["approved_at"] is not None
    assert not OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE).exists()
