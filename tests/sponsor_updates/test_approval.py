"""An update that needs approval waits for the lead, is never sent unapproved, and goes once, late."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from communications.models import Delivery, SponsorSubscription
from notifications.models import Notification, NotificationEvent, OutboxMessage
from pmaas.errors import NotAllowed, NotFound
from sponsor_updates import services
from sponsor_updates.rendering import update_preview
from tests import factories
from tests.sponsor_updates.conftest import AS_OF, BEFORE, DUE, INTERNAL, LATER, UTC

DELAYED = "This update was delayed"


def _needs_approval(sponsored) -> None:
    SponsorSubscription.objects.update(needs_approval=True)
    sponsored.subscription.refresh_from_db()


def _updates() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind=OutboxMessage.Kind.SPONSOR_UPDATE))


def test_an_update_needing_approval_waits_tells_the_lead_once_and_sends_nothing(due):
    _needs_approval(due)

    # When the sweep reaches its send time, twice
    assert services.updates_sweep(as_of=AS_OF) == 0
    assert services.updates_sweep(as_of=AS_OF + dt.timedelta(minutes=5)) == 0

    # Then nothing went to the sponsor; the period's row waits, held at the first sweep
    assert _updates() == []
    delivery = Delivery.objects.get()
    assert (delivery.period_end, delivery.held_at, delivery.outbox_message) == (
        dt.date(2026, 3, 9),
        AS_OF,
        None,
    )
    assert delivery.is_waiting
    # And the lead was told once, in the app and by a mail of its own, already counted as mailed
    [notice] = Notification.objects.filter(event=NotificationEvent.UPDATE_APPROVAL_NEEDED)
    assert notice.recipient == due.lead and notice.mailed_at == AS_OF
    assert "Ana Ruiz" in notice.message and notice.url.endswith(f"/updates/deliveries/{delivery.pk}/")
    [mail] = OutboxMessage.objects.filter(kind=OutboxMessage.Kind.AT_ONCE)
    assert mail.to_address == due.lead.email and mail.recipient == due.lead
    assert mail.idempotency_key == services.approval_needed_key(delivery_id=delivery.pk, user_id=due.lead.pk)
    assert "needs your approval" in mail.body_text and f"/updates/deliveries/{delivery.pk}/" in mail.body_text
    # And the schedule moved on as usual
    due.subscription.refresh_from_db()
    assert due.subscription.next_send_at == dt.datetime(2026, 3, 16, 7, tzinfo=UTC)


def test_approving_a_waiting_update_sends_it_once_marked_late(due):
    _needs_approval(due)
    services.updates_sweep(as_of=AS_OF)
    delivery = Delivery.objects.get()

    # When the lead approves it, twice, and the sweep runs again
    services.delivery_approve(actor=due.lead, delivery=delivery, as_of=LATER)
    services.delivery_approve(actor=due.lead, delivery=delivery, as_of=LATER + dt.timedelta(minutes=1))
    services.updates_sweep(as_of=LATER)

    # Then one update went, with the drafted summary, saying it was delayed, and the row shows it late
    [message] = _updates()
    delivery.refresh_from_db()
    assert delivery.outbox_message == message and delivery.is_late and not delivery.is_waiting
    assert (delivery.approved_at, delivery.approved_by) == (LATER, due.lead)
    assert DELAYED in message.body_text and DELAYED in message.body_html
    assert "SUMMARY\nWe met once this week, on 4 Mar" in message.body_text
    assert INTERNAL not in message.body_text


def test_an_update_approved_in_advance_goes_at_its_time_with_the_leads_summary(due):
    _needs_approval(due)

    # Given the lead writes and approves Monday's summary on the Friday before
    draft = services.update_next_summary_save(
        actor=due.lead,
        subscription=due.subscription,
        summary="  On track for go-live.  ",
        approve=True,
        as_of=BEFORE,
    )
    assert (draft.summary, draft.summary_by, draft.approved_at) == ("On track for go-live.", due.lead, BEFORE)
    assert _updates() == []

    # When the sweep reaches the send time
    assert services.updates_sweep(as_of=AS_OF) == 1

    # Then it went on time, with the lead's words, not delayed, and nobody was asked to approve
    [message] = _updates()
    assert "On track for go-live." in message.body_text and DELAYED not in message.body_text
    assert not Delivery.objects.get().is_late
    assert not Notification.objects.filter(event=NotificationEvent.UPDATE_APPROVAL_NEEDED).exists()


def test_without_approval_the_update_carries_the_leads_summary_if_written_else_the_draft(due, sponsored):
    # Given the lead wrote the next summary but did not approve it (none is needed)
    services.update_next_summary_save(
        actor=due.lead,
        subscription=due.subscription,
        summary="Written by the lead.",
        approve=False,
        as_of=BEFORE,
    )
    # And a second sponsor whose summary nobody wrote
    other = factories.make_role(
        engagement=due.engagement,
        kind="sponsor",
        stakeholder=factories.make_stakeholder(client=due.engagement.client, email="bo@client.test"),
    )
    services.subscriptions_ensure_for_sponsors(as_of=BEFORE)
    SponsorSubscription.objects.update(next_send_at=DUE)

    # When the sweep sends both
    assert services.updates_sweep(as_of=AS_OF) == 2

    # Then each opens with its summary: the lead's words, or the draft of the week
    texts = {m.to_address.split("<")[-1].rstrip(">"): m.body_text for m in _updates()}
    assert "Written by the lead." in texts["ana@client.test"]
    assert "We met once this week" in texts[other.stakeholder.email]


def test_changing_the_text_after_approval_takes_the_approval_back(due):
    _needs_approval(due)
    subscription = due.subscription
    services.update_next_summary_save(
        actor=due.lead, subscription=subscription, summary="First words.", approve=True, as_of=BEFORE
    )

    # When the lead edits it again without approving
    draft = services.update_next_summary_save(
        actor=due.lead, subscription=subscription, summary="Second words.", approve=False, as_of=BEFORE
    )

    # Then it is no longer approved, so at its time it waits instead of going
    assert draft.approved_at is None
    services.updates_sweep(as_of=AS_OF)
    assert _updates() == [] and Delivery.objects.get().is_waiting


def test_a_sweep_and_an_approval_of_the_same_period_write_one_message_whichever_comes_first(due):
    _needs_approval(due)
    services.updates_sweep(as_of=AS_OF)
    delivery = Delivery.objects.get()
    services.delivery_approve(actor=due.lead, delivery=delivery, as_of=LATER)

    # When a second sweep is due for the very same period (a schedule moved back to it)
    SponsorSubscription.objects.update(next_send_at=DUE)
    services.updates_sweep(as_of=LATER)

    # Then the period still has one row and one message
    assert Delivery.objects.count() == 1 and len(_updates()) == 1


def test_a_consultant_who_is_not_lead_a_client_user_and_an_outsider_cannot_approve(due):
    _needs_approval(due)
    services.updates_sweep(as_of=AS_OF)
    delivery = Delivery.objects.get()
    consultant = factories.consultant(username="not-the-lead")
    factories.engagement_services.membership_add(
        actor=factories._system(), engagement=due.engagement, user=consultant
    )

    with pytest.raises(NotAllowed):
        services.delivery_approve(actor=consultant, delivery=delivery, as_of=LATER)
    # (A client user stands inside the engagement but outside the policy; its pages answer 404.)
    with pytest.raises(NotAllowed):
        services.delivery_approve(
            actor=factories.client_user(due.engagement.client), delivery=delivery, as_of=LATER
        )
    with pytest.raises(NotFound):
        services.delivery_approve(
            actor=factories.consultant(username="outsider"), delivery=delivery, as_of=LATER
        )
    with pytest.raises(NotAllowed):
        services.update_next_summary_save(
            actor=consultant, subscription=due.subscription, summary="Mine.", approve=True, as_of=LATER
        )

    # And nothing went
    assert _updates() == [] and Delivery.objects.get().approved_at is None


def test_moving_the_schedule_moves_the_draft_takes_its_approval_back_and_tells_the_lead(due):
    subscription = due.subscription
    services.update_next_summary_save(
        actor=due.lead, subscription=subscription, summary="Kept words.", approve=True, as_of=BEFORE
    )

    # When the team moves the update from Monday to Tuesday
    spec = services.SubscriptionSchedule("weekly", 1, dt.time(8), "Europe/Berlin", needs_approval=True)
    services.subscription_update(
        actor=due.lead, subscription=subscription, spec=spec, is_active=True, as_of=BEFORE
    )

    # Then the draft follows it, keeps its words, and needs approving again
    draft = Delivery.objects.get()
    assert (draft.period_end, draft.summary, draft.approved_at) == (dt.date(2026, 3, 10), "Kept words.", None)
    # And the lead is told at once, with a link to approve it again
    [told] = Notification.objects.filter(recipient=due.lead, event=NotificationEvent.UPDATE_APPROVAL_NEEDED)
    assert "moved to Tue 10 Mar 2026 08:00 (Europe/Berlin)" in told.message
    assert "approve its summary again" in told.message
    assert told.url.endswith(f"/updates/deliveries/{draft.pk}/")

    # And moving it back to Monday tells the lead nothing more: it was not approved again
    services.subscription_update(
        actor=due.lead,
        subscription=subscription,
        spec=dataclasses.replace(spec, weekday=0),
        is_active=True,
        as_of=BEFORE,
    )
    assert Notification.objects.filter(event=NotificationEvent.UPDATE_APPROVAL_NEEDED).count() == 1


def test_a_new_time_on_the_day_an_update_went_sends_nothing_more_that_day(due):
    # Given Monday's update went at 08:00 Berlin, and the lead drafted the next Monday's
    services.updates_sweep(as_of=AS_OF)
    due.subscription.refresh_from_db()
    draft = services.update_next_summary_save(
        actor=due.lead, subscription=due.subscription, summary="Next week.", approve=False, as_of=AS_OF
    )
    assert draft.period_end == dt.date(2026, 3, 16)

    # When the team moves the time to 09:00 the same Monday, so the next send is later that day
    spec = services.SubscriptionSchedule("weekly", 0, dt.time(9), "Europe/Berlin")
    services.subscription_update(
        actor=due.lead, subscription=due.subscription, spec=spec, is_active=True, as_of=AS_OF
    )
    services.updates_sweep(as_of=AS_OF + dt.timedelta(hours=1))

    # Then that day keeps its one update, and the next goes next Monday at 09:00 with the lead's draft
    assert len(_updates()) == 1
    due.subscription.refresh_from_db()
    assert due.subscription.next_send_at == dt.datetime(2026, 3, 16, 8, tzinfo=UTC)
    moved = Delivery.objects.get(outbox_message__isnull=True)
    assert (moved.period_end, moved.scheduled_for, moved.summary) == (
        dt.date(2026, 3, 16),
        dt.datetime(2026, 3, 16, 8, tzinfo=UTC),
        "Next week.",
    )


def test_send_now_opens_with_the_summary_the_lead_wrote_for_the_next_update(due):
    # Given the lead wrote the summary of the next update, not yet approved
    services.update_next_summary_save(
        actor=due.lead,
        subscription=due.subscription,
        summary="From the lead: go-live holds.",
        approve=False,
        as_of=BEFORE,
    )

    # When the team previews and sends the update now
    preview = update_preview(subscription=due.subscription, as_of=BEFORE)
    sent = services.update_send_now(
        actor=due.lead, subscription=due.subscription, request_key="now-1", as_of=BEFORE
    )

    # Then both open with the lead's words, not a draft
    [message] = _updates()
    assert preview.summary == sent.summary == "From the lead: go-live holds."
    assert "From the lead: go-live holds." in message.body_text
    assert "We met once this week" not in message.body_text
    # And the lead's draft is used up: the scheduled update will not say the same again
    assert not Delivery.objects.filter(ad_hoc_key="", summary="From the lead: go-live holds.").exists()
