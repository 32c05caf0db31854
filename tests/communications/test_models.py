"""Channels, check-ins, follow-ups and sponsor updates: what the database refuses, how rows read,
their properties and the QuerySet vocabulary."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from communications.models import (
    Channel,
    CheckIn,
    CommunicationObligation,
    Delivery,
    FollowUp,
    SponsorSubscription,
)
from notifications.models import OutboxMessage
from tests import factories
from tests.factories import World

Violation = Callable[[World], object]

CONSTRAINT_VIOLATIONS: list[tuple[str, Violation, tuple[str, ...]]] = [
    (
        "follow-up owed by both a teammate and a stakeholder",
        lambda w: FollowUp.objects.filter(pk=w.mine.follow_up.pk).update(owner_user=w.lead),
        ("follow_up_exactly_one_owner",),
    ),
    (
        "follow-up owed by nobody",
        lambda w: FollowUp.objects.filter(pk=w.mine.follow_up.pk).update(owner_stakeholder=None),
        ("follow_up_exactly_one_owner",),
    ),
    (
        "done follow-up without a completion time",
        lambda w: FollowUp.objects.filter(pk=w.mine.follow_up.pk).update(status="done"),
        ("follow_up_completed_at_iff_done",),
    ),
    (
        "open follow-up with a completion time",
        lambda w: FollowUp.objects.filter(pk=w.mine.follow_up.pk).update(completed_at=timezone.now()),
        ("follow_up_completed_at_iff_done",),
    ),
    (
        "cancelled follow-up with a completion time",
        lambda w: FollowUp.objects.filter(pk=w.mine.follow_up.pk).update(
            status="cancelled", completed_at=timezone.now()
        ),
        ("follow_up_completed_at_iff_done",),
    ),
    (
        "second delivery for the same period",
        lambda w: Delivery.objects.create(
            subscription=w.mine.subscription,
            period_start=w.mine.delivery.period_start,
            period_end=w.mine.delivery.period_end,
            scheduled_for=timezone.now(),
        ),
        ("delivery_once_per_period", "communications_delivery.subscription_id"),
    ),
    (
        "sent outbound message without a sending time",
        lambda w: OutboxMessage.objects.create(
            kind=OutboxMessage.Kind.SPONSOR_UPDATE,
            idempotency_key="sponsor_update:unsent",
            to_address="sponsor@example.com",
            subject="Status update",
            body_text="All on track.",
            status=OutboxMessage.Status.SENT,
            created_at=timezone.now(),
        ),
        ("outbox_sent_at_iff_sent",),
    ),
    (
        "second subscription of a sponsor to the same engagement",
        lambda w: SponsorSubscription.objects.create(
            engagement=w.mine.engagement, stakeholder=w.mine.stakeholder, local_time=time(7), time_zone="UTC"
        ),
        ("subscription_once_per_sponsor", "communications_sponsorsubscription.engagement_id"),
    ),
    (
        "subscription on an eighth weekday",
        lambda w: SponsorSubscription.objects.filter(pk=w.mine.subscription.pk).update(weekday=7),
        ("subscription_weekday_0_6",),
    ),
    (
        "check-in sentiment off the scale",
        lambda w: CheckIn.objects.filter(pk=w.mine.check_in.pk).update(sentiment=3),
        ("check_in_sentiment_in_range",),
    ),
    (
        "channel with a negative grace period",
        lambda w: Channel.objects.filter(pk=w.mine.channel.pk).update(grace_period=timedelta(seconds=-1)),
        ("channel_grace_not_negative",),
    ),
    (
        "channel that takes no time",
        lambda w: Channel.objects.filter(pk=w.mine.channel.pk).update(duration=timedelta(0)),
        ("channel_duration_in_range",),
    ),
    (
        "channel that takes more than a working day",
        lambda w: Channel.objects.filter(pk=w.mine.channel.pk).update(duration=timedelta(hours=9)),
        ("channel_duration_in_range",),
    ),
]


@pytest.mark.parametrize(
    ("case", "violate", "evidence"), CONSTRAINT_VIOLATIONS, ids=[case for case, _, _ in CONSTRAINT_VIOLATIONS]
)
def test_database_refuses_rows_that_break_a_constraint(
    world: World, case: str, violate: Violation, evidence: tuple[str, ...]
) -> None:
    # Given a write that goes around the services straight to the database
    # When it is executed
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        violate(world)

    # Then the database refuses it, by the constraint meant for it
    assert any(fragment in str(refused.value) for fragment in evidence), str(refused.value)


def test_database_accepts_the_states_those_constraints_allow(world: World) -> None:
    # Given the world's follow-up, delivery and channel
    now = timezone.now()

    # When each is moved to another allowed state
    FollowUp.objects.filter(pk=world.mine.follow_up.pk).update(status="done", completed_at=now)
    FollowUp.objects.filter(pk=world.sibling.follow_up.pk).update(
        owner_stakeholder=None, owner_user=world.outsider_consultant
    )
    sent = OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.SPONSOR_UPDATE,
        idempotency_key="sponsor_update:sent",
        to_address="sponsor@example.com",
        subject="Status update",
        body_text="All on track.",
        status=OutboxMessage.Status.SENT,
        sent_at=now,
        created_at=now,
    )
    Delivery.objects.filter(pk=world.mine.delivery.pk).update(outbox_message=sent)
    Delivery.objects.create(
        subscription=world.mine.subscription, period_start=date(2026, 3, 9), scheduled_for=now
    )
    Channel.objects.filter(pk=world.mine.channel.pk).update(grace_period=timedelta(0))

    # Then the database stores them
    assert FollowUp.objects.get(pk=world.mine.follow_up.pk).completed_at == now
    assert FollowUp.objects.get(pk=world.sibling.follow_up.pk).owner_user == world.outsider_consultant
    assert world.mine.subscription.deliveries.count() == 2


# --- how rows read ------------------------------------------------------------------------------------


def test_rows_read_as_people_would_name_them(world: World) -> None:
    # Given the plan, check-in, follow-up, comment and sponsor update of the consultant's engagement
    mine = world.mine
    name = mine.stakeholder.name
    when = mine.check_in.occurred_at.astimezone(UTC)

    # When each is turned into text
    # Then it reads as a person would name it
    assert str(mine.channel) == f"Weekly one-to-one with {name}"
    assert str(mine.check_in) == f"Meeting on {when:%Y-%m-%d %H:%M} (EHR-A)"
    assert str(mine.follow_up) == "Approve the data migration plan"
    assert str(mine.comment) == "Comment by factory-admin on Approve the data migration plan"
    assert str(mine.subscription) == f"Weekly update to {name} on EHR-A"
    assert str(mine.delivery) == f"Weekly update to {name} on EHR-A for 2026-03-02 (Pending)"


# --- properties ---------------------------------------------------------------------------------------


def test_owner_name_is_the_stakeholders_or_the_teammates_name(world: World) -> None:
    # Given a follow-up owed by a stakeholder and one owed by the lead
    client_owed = world.mine.follow_up
    team_owed = factories.make_follow_up(engagement=world.mine.engagement, owner_user=world.lead)

    # When their owners are named
    # Then each names its one owner, and says which side owes it
    assert (client_owed.owner_name, client_owed.is_owed_by_client) == (world.mine.stakeholder.name, True)
    assert (team_owed.owner_name, team_owed.is_owed_by_client) == (world.lead.get_full_name(), False)


# --- QuerySet vocabulary ------------------------------------------------------------------------------


def test_due_channels_are_active_and_due_by_the_given_time(world: World) -> None:
    # Given one channel due now, one due tomorrow and a paused one long overdue
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    channels = Channel.objects.filter(engagement=world.mine.engagement)
    Channel.objects.filter(pk=world.mine.channel.pk).update(next_due_at=now)
    later = factories.make_channel(role=world.mine.role, owner=world.lead)
    Channel.objects.filter(pk=later.pk).update(next_due_at=now + timedelta(days=1))
    paused = factories.make_channel(role=world.mine.role, owner=world.lead)
    Channel.objects.filter(pk=paused.pk).update(
        status=Channel.Status.PAUSED, next_due_at=now - timedelta(days=9)
    )

    # When the due channels are asked for now
    due = set(channels.due(as_of=now))

    # Then only the active channel due by now is listed
    assert due == {world.mine.channel}
    assert set(channels.active()) == {world.mine.channel, later}


def test_follow_up_vocabulary_open_overdue_and_who_owes_it(world: World) -> None:
    # Given a stakeholder's follow-up due in two days, a teammate's one overdue and a done one
    now = timezone.now()
    engagement = world.mine.engagement
    late = factories.make_follow_up(
        engagement=engagement, owner_user=world.lead, due_at=now - timedelta(hours=1)
    )
    done = factories.make_follow_up(
        engagement=engagement, owner_user=world.lead, due_at=now - timedelta(days=2)
    )
    FollowUp.objects.filter(pk=done.pk).update(status="done", completed_at=now)
    items = FollowUp.objects.filter(engagement=engagement)

    # When they are filtered by the vocabulary
    # Then each filter picks what its name says
    assert set(items.open()) == {world.mine.follow_up, late}
    assert set(items.overdue(as_of=now)) == {late}
    assert set(items.owed_by_client()) == {world.mine.follow_up}
    assert set(items.owed_by_team()) == {late, done}


@pytest.mark.parametrize("status", ["open", "done", "cancelled"])
@pytest.mark.parametrize("late", [True, False], ids=["past-due", "not-yet-due"])
def test_a_follow_up_is_overdue_only_while_open_and_past_due_in_python_and_sql(
    world: World, status: str, late: bool
) -> None:
    # Given a follow-up in a status, due an hour ago or in an hour
    now = timezone.now()
    item = factories.make_follow_up(
        engagement=world.mine.engagement,
        owner_user=world.lead,
        due_at=now + timedelta(hours=-1 if late else 1),
    )
    FollowUp.objects.filter(pk=item.pk).update(status=status, completed_at=now if status == "done" else None)
    item.refresh_from_db()

    # When "overdue" is asked of the row, of the annotation and of the filter
    in_python = item.is_overdue_at(now)
    annotated = FollowUp.objects.with_is_overdue(as_of=now).get(pk=item.pk).is_overdue  # type: ignore[attr-defined]
    filtered = FollowUp.objects.overdue(as_of=now).filter(pk=item.pk).exists()

    # Then all three agree: open and past due, and nothing else
    assert in_python == annotated == filtered == (status == "open" and late)


@pytest.mark.parametrize("status", ["open", "met", "waived"])
@pytest.mark.parametrize("late", [True, False], ids=["past-deadline", "before-deadline"])
def test_an_obligation_is_overdue_only_while_open_and_past_its_deadline(
    world: World, status: str, late: bool
) -> None:
    # Given the engagement's obligation in a status, its deadline an hour ago or in an hour
    now = timezone.now()
    obligation = world.mine.obligation
    CommunicationObligation.objects.filter(pk=obligation.pk).update(
        status=status,
        deadline=now + timedelta(hours=-1 if late else 1),
        met_at=now if status == "met" else None,
        waived_reason="Told in person" if status == "waived" else "",
    )
    obligation.refresh_from_db()

    # When "overdue" is asked of the row, of the annotation and of the filter
    rows = CommunicationObligation.objects.filter(pk=obligation.pk)
    in_python = obligation.is_overdue_at(now)
    annotated = rows.with_is_overdue(as_of=now).get().is_overdue  # type: ignore[attr-defined]
    filtered = rows.overdue(as_of=now).exists()

    # Then all three agree: open and past the deadline, and nothing else
    assert in_python == annotated == filtered == (status == "open" and late)


def test_check_ins_with_a_stakeholder(world: World) -> None:
    # Given a second check-in on the engagement without the sponsor
    other_person = factories.make_role(engagement=world.mine.engagement).stakeholder
    without = factories.make_check_in(engagement=world.mine.engagement, attendees=[other_person])

    # When the check-ins with the sponsor are asked for
    found = set(CheckIn.objects.with_stakeholder(world.mine.stakeholder))

    # Then only the one they attended is listed
    assert found == {world.mine.check_in}
    assert without not in found


def test_due_subscriptions_and_pending_deliveries(world: World) -> None:
    # Given one active subscription due, one not yet due and one stopped though due
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    SponsorSubscription.objects.filter(pk=world.mine.subscription.pk).update(next_send_at=now)
    SponsorSubscription.objects.filter(pk=world.sibling.subscription.pk).update(
        next_send_at=now + timedelta(minutes=1)
    )
    SponsorSubscription.objects.filter(pk=world.other.subscription.pk).update(
        next_send_at=now - timedelta(days=1), is_active=False
    )
    sent = OutboxMessage.objects.create(
        kind=OutboxMessage.Kind.SPONSOR_UPDATE,
        idempotency_key="sponsor_update:other",
        to_address="sponsor@example.com",
        subject="Status update",
        body_text="All on track.",
        status=OutboxMessage.Status.SENT,
        sent_at=now,
        created_at=now,
    )
    Delivery.objects.filter(pk=world.other.delivery.pk).update(outbox_message=sent)

    # When due subscriptions and pending deliveries are asked for
    due = set(SponsorSubscription.objects.due(as_of=now))
    pending = set(Delivery.objects.pending())

    # Then each lists exactly its rows
    assert due == {world.mine.subscription}
    assert pending == {world.mine.delivery, world.sibling.delivery}
