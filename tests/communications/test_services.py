"""Writes to plans, check-ins and follow-ups: bad input gets a clear error and loses nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from pytest_django import DjangoAssertNumQueries
from time_machine import TimeMachineFixture

from communications.models import Channel, CheckIn, FollowUp, FollowUpComment, FollowUpOverdue, Occurrence
from communications.services import (
    FOLLOW_UP_DUE_TIME,
    FollowUpSpec,
    channel_create,
    channel_update,
    check_in_log,
    follow_up_comment_add,
    follow_up_complete,
    follow_up_create,
    follow_up_due_at,
    follow_up_redate,
    follow_up_reopen,
    follow_ups_flag_overdue,
)
from pmaas.errors import NotAllowed, NotFound, TransitionRefused
from tests import factories
from tests.celery_fixtures import wait_until
from tests.factories import World

# A fixed "now" for every call that takes as_of; the world itself is built at the real time.
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)


def written() -> dict[str, int]:
    """Row counts of everything check_in_log, channel_create and the follow-up services write."""
    return {
        "check_ins": CheckIn.objects.count(),
        "attendees": CheckIn.attendees.through.objects.count(),
        "team_attendees": CheckIn.team_attendees.through.objects.count(),
        "follow_ups": FollowUp.objects.count(),
        "comments": FollowUpComment.objects.count(),
        "channels": Channel.objects.count(),
    }


def valid_check_in(world: World, **overrides: Any) -> dict[str, Any]:
    """A check-in on the consultant's engagement that check_in_log accepts as it is."""
    values: dict[str, Any] = {
        "actor": world.consultant,
        "engagement": world.mine.engagement,
        "occurred_at": NOW - timedelta(hours=1),
        "summary": "Walked the sponsor through the cut-over plan.",
        "attendees": [world.mine.stakeholder],
        "team_attendees": [world.consultant],
        "as_of": NOW,
    }
    values.update(overrides)
    return values


def follow_up(**values: Any) -> FollowUpSpec:
    spec: dict[str, Any] = {"title": "Send the revised plan", "due_at": NOW + timedelta(days=3)}
    spec.update(values)
    return FollowUpSpec(**spec)


# --- check_in_log: refusals ------------------------------------------------------------------------


def test_a_valid_check_in_is_logged_with_attendees_and_follow_ups(world: World) -> None:
    # Given a check-in with a stakeholder, a teammate and one follow-up for each side
    before = written()

    # When the consultant logs it
    check_in = check_in_log(
        **valid_check_in(
            world,
            follow_ups=[
                follow_up(owner_user=world.lead),
                follow_up(title="Confirm the budget", owner_stakeholder=world.mine.stakeholder),
            ],
        )
    )

    # Then the check-in, its attendee rows and both follow-ups are written, tied to the check-in
    assert written() == before | {
        "check_ins": before["check_ins"] + 1,
        "attendees": before["attendees"] + 1,
        "team_attendees": before["team_attendees"] + 1,
        "follow_ups": before["follow_ups"] + 2,
    }
    assert list(check_in.attendees.all()) == [world.mine.stakeholder]
    assert set(check_in.follow_ups.values_list("title", "owner_user", "owner_stakeholder")) == {
        ("Send the revised plan", world.lead.pk, None),
        ("Confirm the budget", None, world.mine.stakeholder.pk),
    }
    assert set(check_in.follow_ups.values_list("created_by", flat=True)) == {world.consultant.pk}


CHECK_IN_REFUSALS: list[tuple[str, Callable[[World], dict[str, Any]], str]] = [
    (
        "follow-up due before its check-in",
        lambda w: {
            "follow_ups": [follow_up(due_at=NOW - timedelta(hours=2), owner_user=w.consultant)],
        },
        "follow_ups[0].due_at",
    ),
    (
        "check-in more than a day ahead",
        lambda w: {"occurred_at": NOW + timedelta(days=1, seconds=1)},
        "occurred_at",
    ),
    (
        "attendee from another engagement of the same client",
        lambda w: {"attendees": [w.mine.stakeholder, w.sibling.stakeholder]},
        "attendees",
    ),
    ("attendee of another client", lambda w: {"attendees": [w.other.stakeholder]}, "attendees"),
    ("no attendee", lambda w: {"attendees": []}, "attendees"),
    (
        "follow-up owner from another engagement's team",
        lambda w: {"follow_ups": [follow_up(owner_user=w.outsider_consultant)]},
        "follow_ups[0].owner",
    ),
    (
        "follow-up owed by another engagement's stakeholder",
        lambda w: {"follow_ups": [follow_up(owner_stakeholder=w.other.stakeholder)]},
        "follow_ups[0].owner",
    ),
    (
        "follow-up with two owners",
        lambda w: {"follow_ups": [follow_up(owner_user=w.lead, owner_stakeholder=w.mine.stakeholder)]},
        "follow_ups[0].owner",
    ),
    ("follow-up without an owner", lambda w: {"follow_ups": [follow_up()]}, "follow_ups[0].owner"),
    (
        "follow-up title longer than the column",
        lambda w: {"follow_ups": [follow_up(title="x" * 301, owner_user=w.lead)]},
        "follow_ups[0].title",
    ),
    (
        "second follow-up without a title",
        lambda w: {"follow_ups": [follow_up(owner_user=w.lead), follow_up(title="  ", owner_user=w.lead)]},
        "follow_ups[1].title",
    ),
    ("channel of another engagement", lambda w: {"channel": w.sibling.channel}, "channel"),
    ("teammate from another team", lambda w: {"team_attendees": [w.outsider_consultant]}, "team_attendees"),
    ("empty summary", lambda w: {"summary": "   "}, "summary"),
    ("sentiment out of range", lambda w: {"sentiment": 5}, "sentiment"),
    ("unknown kind", lambda w: {"kind": "carrier_pigeon"}, "kind"),
]


@pytest.mark.parametrize(
    ("case", "overrides", "field"), CHECK_IN_REFUSALS, ids=[case for case, _, _ in CHECK_IN_REFUSALS]
)
def test_check_in_log_refuses_bad_input_under_the_field_and_writes_nothing(
    world: World, case: str, overrides: Callable[[World], dict[str, Any]], field: str
) -> None:
    # Given a check-in with one problem
    before = written()
    due_before = Channel.objects.get(pk=world.mine.channel.pk).next_due_at

    # When the consultant logs it
    with pytest.raises(ValidationError) as refused:
        check_in_log(**valid_check_in(world, **overrides(world)))

    # Then the error names the field, and no row was written or changed
    assert field in refused.value.message_dict, refused.value.message_dict
    assert all(message.strip() for message in refused.value.message_dict[field])
    assert written() == before
    assert Channel.objects.get(pk=world.mine.channel.pk).next_due_at == due_before


def test_check_in_log_reports_every_problem_at_once(world: World) -> None:
    # Given a check-in with an outside attendee, an empty summary and a follow-up due too early
    overrides = {
        "attendees": [world.other.stakeholder],
        "summary": "",
        "follow_ups": [follow_up(due_at=NOW - timedelta(days=1), owner_user=world.lead)],
    }

    # When it is logged
    with pytest.raises(ValidationError) as refused:
        check_in_log(**valid_check_in(world, **overrides))

    # Then each problem is listed under its own field
    assert {"attendees", "summary", "follow_ups[0].due_at"} <= set(refused.value.message_dict)


def test_check_in_may_be_logged_exactly_one_day_ahead(world: World) -> None:
    # Given a call agreed for this time tomorrow
    # When it is logged now
    check_in = check_in_log(**valid_check_in(world, occurred_at=NOW + timedelta(days=1)))

    # Then it is accepted: the limit is inclusive
    assert check_in.occurred_at == NOW + timedelta(days=1)


def test_without_as_of_the_day_ahead_limit_counts_from_the_clock(
    world: World, time_machine: TimeMachineFixture
) -> None:
    # Given the clock at NOW and no as_of passed
    time_machine.move_to(NOW, tick=False)
    values = valid_check_in(world)
    del values["as_of"]

    # When a check-in a day and a second ahead of the clock is logged, then one exactly a day ahead
    with pytest.raises(ValidationError) as refused:
        check_in_log(**values | {"occurred_at": NOW + timedelta(days=1, seconds=1)})
    accepted = check_in_log(**values | {"occurred_at": NOW + timedelta(days=1)})

    # Then the first is refused and the second accepted
    assert "occurred_at" in refused.value.message_dict
    assert accepted.occurred_at == NOW + timedelta(days=1)


def test_follow_up_may_be_due_at_the_moment_of_its_check_in(world: World) -> None:
    # Given a follow-up due at the very time of the check-in
    occurred_at = NOW - timedelta(hours=1)

    # When it is logged
    check_in = check_in_log(
        **valid_check_in(
            world, occurred_at=occurred_at, follow_ups=[follow_up(due_at=occurred_at, owner_user=world.lead)]
        )
    )

    # Then it is accepted
    assert check_in.follow_ups.get().due_at == occurred_at


# --- check_in_log: one transaction -----------------------------------------------------------------


def test_check_in_log_writes_nothing_when_its_last_follow_up_is_invalid(world: World) -> None:
    # Given a check-in whose attendees and first follow-up are fine and whose last follow-up is not
    before = written()
    overrides = {
        "follow_ups": [
            follow_up(owner_user=world.lead),
            follow_up(title="Chase the vendor", owner_user=world.outsider_consultant),
        ]
    }

    # When it is logged
    with pytest.raises(ValidationError) as refused:
        check_in_log(**valid_check_in(world, **overrides))

    # Then no check-in, no follow-up and no attendee row was written
    assert set(refused.value.message_dict) == {"follow_ups[1].owner"}
    assert written() == before


def test_check_in_log_rolls_back_its_inserts_when_the_last_step_fails(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a channel whose last step of logging (moving it on in its plan) fails after the inserts
    def refuse(**kwargs: object) -> None:
        raise ValidationError("The plan cannot move on.")

    monkeypatch.setattr("communications.recurrence.previous_occurrence", refuse)
    channel = Channel.objects.get(pk=world.mine.channel.pk)
    before = written()

    # When a check-in with a follow-up is logged against it
    with CaptureQueriesContext(connection) as queries, pytest.raises(ValidationError):
        check_in_log(**valid_check_in(world, channel=channel, follow_ups=[follow_up(owner_user=world.lead)]))

    # Then the check-in, attendee and follow-up rows had been inserted, and were all rolled back
    inserts = " ".join(q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("INSERT"))
    for table in ("communications_checkin", "communications_checkin_attendees", "communications_followup"):
        assert table in inserts
    assert written() == before


def test_check_in_against_a_channel_with_a_broken_stored_rule_is_logged_and_the_channel_has_no_next_due(
    world: World,
) -> None:
    # Given a channel whose stored rule was broken behind the services' back (it never occurs)
    Channel.objects.filter(pk=world.mine.channel.pk).update(recurrence="FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30")
    channel = Channel.objects.get(pk=world.mine.channel.pk)

    # When a check-in is logged against it
    check_in = check_in_log(**valid_check_in(world, channel=channel))

    # Then the check-in is kept, and the channel has no next due time instead of a guessed one
    assert CheckIn.objects.filter(pk=check_in.pk).exists()
    assert Channel.objects.get(pk=channel.pk).next_due_at is None


# --- check_in_log and channels: the plan moves on ----------------------------------------------------


def plan_weekly_tuesday(world: World, *, as_of: datetime = NOW) -> Channel:
    """A weekly Tuesday 09:00 channel with the Berlin-based sponsor of the consultant's engagement."""
    return channel_create(
        actor=world.consultant,
        engagement=world.mine.engagement,
        stakeholder=world.mine.stakeholder,
        title="Weekly sponsor one-to-one",
        recurrence_rule="FREQ=WEEKLY;BYDAY=TU",
        starts_on=date(2026, 1, 6),
        local_time=time(9, 0),
        owner=world.consultant,
        as_of=as_of,
    )


def test_channel_create_computes_the_first_due_time_in_the_stakeholders_zone(world: World) -> None:
    # Given a sponsor in Berlin (the client's default zone)
    assert world.mine.stakeholder.time_zone == "Europe/Berlin"

    # When a weekly Tuesday 09:00 channel is planned on a Monday in winter and one in summer
    winter = plan_weekly_tuesday(world, as_of=datetime(2026, 3, 2, 12, tzinfo=UTC))
    summer = plan_weekly_tuesday(world, as_of=datetime(2026, 3, 30, 12, tzinfo=UTC))

    # Then each is first due on the next Tuesday at 09:00 Berlin time, in UTC
    assert Channel.objects.get(pk=winter.pk).next_due_at == datetime(2026, 3, 3, 8, tzinfo=UTC)
    assert Channel.objects.get(pk=summer.pk).next_due_at == datetime(2026, 3, 31, 7, tzinfo=UTC)


def test_channel_create_keeps_the_rule_without_its_prefix(world: World) -> None:
    # Given a rule pasted with its RRULE: prefix
    # When a channel is planned with it
    channel = channel_create(
        actor=world.consultant,
        engagement=world.mine.engagement,
        stakeholder=world.mine.stakeholder,
        title="Steering committee",
        recurrence_rule=" RRULE:FREQ=MONTHLY;BYDAY=1TU ",
        starts_on=date(2026, 1, 1),
        local_time=time(9, 0),
        owner=world.lead,
        as_of=NOW,
    )

    # Then the stored rule is the bare value and the next due time is the first Tuesday of April
    assert channel.recurrence == "FREQ=MONTHLY;BYDAY=1TU"
    assert channel.next_due_at == datetime(2026, 4, 7, 7, tzinfo=UTC)


CHANNEL_REFUSALS: list[tuple[str, Callable[[World], dict[str, Any]], str]] = [
    ("rule that does not parse", lambda w: {"recurrence_rule": "every other tuesday"}, "recurrence"),
    ("hourly rule", lambda w: {"recurrence_rule": "FREQ=HOURLY"}, "recurrence"),
    ("rule that never advances", lambda w: {"recurrence_rule": "FREQ=WEEKLY;INTERVAL=0"}, "recurrence"),
    ("stakeholder without a role here", lambda w: {"stakeholder": w.sibling.stakeholder}, "stakeholder"),
    ("owner from another team", lambda w: {"owner": w.outsider_consultant}, "owner"),
    ("empty title", lambda w: {"title": " "}, "title"),
    ("unknown kind", lambda w: {"kind": "fax"}, "kind"),
    ("negative grace period", lambda w: {"grace_period": timedelta(hours=-1)}, "grace_period"),
    (
        "daily rule with two days' grace",
        lambda w: {"recurrence_rule": "FREQ=DAILY", "grace_period": timedelta(days=2)},
        "grace_period",
    ),
    ("weekly rule with ten days' grace", lambda w: {"grace_period": timedelta(days=10)}, "grace_period"),
    ("weekly rule with a week's grace", lambda w: {"grace_period": timedelta(days=7)}, "grace_period"),
    (
        "Monday and Thursday with three days' grace",
        lambda w: {"recurrence_rule": "FREQ=WEEKLY;BYDAY=MO,TH", "grace_period": timedelta(days=3)},
        "grace_period",
    ),
    ("duration of a minute", lambda w: {"duration": timedelta(minutes=1)}, "duration"),
    ("duration of a whole day", lambda w: {"duration": timedelta(days=1)}, "duration"),
]


@pytest.mark.parametrize(
    ("rule", "grace", "expected"),
    [
        pytest.param("FREQ=DAILY", None, timedelta(hours=12), id="daily-default-half-a-day"),
        pytest.param("FREQ=WEEKLY;BYDAY=TU", None, timedelta(days=2), id="weekly-default-two-days"),
        pytest.param("FREQ=DAILY", timedelta(hours=23), timedelta(hours=23), id="daily-just-under-a-day"),
        pytest.param("FREQ=WEEKLY;BYDAY=TU", timedelta(days=6), timedelta(days=6), id="weekly-six-days"),
    ],
)
def test_channel_create_keeps_the_grace_period_shorter_than_the_closest_meetings(
    world: World, rule: str, grace: timedelta | None, expected: timedelta
) -> None:
    # Given a cadence and a grace period shorter than its closest two meetings, or none
    extra: dict[str, Any] = {} if grace is None else {"grace_period": grace}

    # When it is planned
    channel = channel_create(
        actor=world.consultant,
        engagement=world.mine.engagement,
        stakeholder=world.mine.stakeholder,
        title="Stand-up",
        recurrence_rule=rule,
        starts_on=date(2026, 1, 6),
        local_time=time(9, 0),
        owner=world.consultant,
        as_of=NOW,
        **extra,
    )

    # Then it keeps that grace, or a default that ends before the next meeting
    assert channel.grace_period == expected


def test_channel_update_refuses_a_closer_cadence_the_kept_grace_period_would_overlap(world: World) -> None:
    # Given a weekly channel with the default two days' grace
    channel = plan_weekly_tuesday(world, as_of=datetime(2026, 3, 2, 12, tzinfo=UTC))

    # When it is changed to daily, keeping its grace period
    with pytest.raises(ValidationError) as refused:
        channel_update(
            actor=world.consultant,
            channel=channel,
            seen_updated_at=channel.updated_at,
            stakeholder=channel.stakeholder,
            title=channel.title,
            recurrence_rule="FREQ=DAILY",
            starts_on=channel.starts_on,
            local_time=channel.local_time,
            owner=channel.owner,
        )

    # Then the grace period is named, and the channel stays weekly
    assert "grace_period" in refused.value.message_dict
    channel.refresh_from_db()
    assert channel.recurrence == "FREQ=WEEKLY;BYDAY=TU"


@pytest.mark.parametrize(
    ("case", "overrides", "field"), CHANNEL_REFUSALS, ids=[case for case, _, _ in CHANNEL_REFUSALS]
)
def test_channel_create_refuses_bad_input_under_the_field_and_writes_nothing(
    world: World, case: str, overrides: Callable[[World], dict[str, Any]], field: str
) -> None:
    # Given a channel plan with one problem
    values: dict[str, Any] = {
        "actor": world.consultant,
        "engagement": world.mine.engagement,
        "stakeholder": world.mine.stakeholder,
        "title": "Weekly sponsor one-to-one",
        "recurrence_rule": "FREQ=WEEKLY;BYDAY=TU",
        "starts_on": date(2026, 1, 6),
        "local_time": time(9, 0),
        "owner": world.consultant,
        "as_of": NOW,
    }
    values.update(overrides(world))
    before = written()

    # When it is planned
    with pytest.raises(ValidationError) as refused:
        channel_create(**values)

    # Then the error names the field and no channel was written
    assert field in refused.value.message_dict, refused.value.message_dict
    assert written() == before


def test_check_in_on_the_due_occurrence_moves_the_channel_to_the_next_one(world: World) -> None:
    # Given a weekly Tuesday channel due on 3 March 09:00 Berlin (08:00 UTC)
    channel = plan_weekly_tuesday(world, as_of=datetime(2026, 3, 2, 12, tzinfo=UTC))

    # When the meeting is logged an hour after it was due
    check_in_log(**valid_check_in(world, channel=channel, occurred_at=datetime(2026, 3, 3, 9, tzinfo=UTC)))

    # Then the channel is next due the following Tuesday
    channel.refresh_from_db()
    assert channel.next_due_at == datetime(2026, 3, 10, 8, tzinfo=UTC)


def test_check_in_held_early_in_the_cycle_closes_the_coming_occurrence(world: World) -> None:
    # Given a channel due on Tuesday 3 March, the previous occurrence having been 24 February
    channel = plan_weekly_tuesday(world, as_of=datetime(2026, 3, 2, 12, tzinfo=UTC))

    # When the meeting is held the day before it was due
    check_in_log(
        **valid_check_in(world, channel=channel, occurred_at=datetime(2026, 3, 2, 15, tzinfo=UTC), as_of=NOW)
    )

    # Then that occurrence counts as held and the channel is next due a week later
    channel.refresh_from_db()
    assert channel.next_due_at == datetime(2026, 3, 10, 8, tzinfo=UTC)


def test_a_late_check_in_covers_one_occurrence_and_leaves_the_next_owed(world: World) -> None:
    # Given a channel due on 3 March whose meeting was not logged while no sweep ran
    channel = plan_weekly_tuesday(world, as_of=datetime(2026, 3, 2, 12, tzinfo=UTC))

    # When a meeting is logged a week late, on Wednesday 11 March
    occurred_at = datetime(2026, 3, 11, 9, tzinfo=UTC)
    check_in_log(**valid_check_in(world, channel=channel, occurred_at=occurred_at, as_of=occurred_at))

    # Then it holds the 3 March occurrence, late, and the 10 March meeting is still to be held or missed
    held = Occurrence.objects.get(channel=channel)
    assert (held.due_at, held.status, held.held_on_time) == (
        datetime(2026, 3, 3, 8, tzinfo=UTC),
        Occurrence.Status.HELD,
        False,
    )
    channel.refresh_from_db()
    assert channel.next_due_at == datetime(2026, 3, 10, 8, tzinfo=UTC)


def test_check_in_for_an_older_cycle_leaves_the_channel_schedule_alone(world: World) -> None:
    # Given a channel due on 3 March, the previous occurrence having been 24 February
    channel = plan_weekly_tuesday(world, as_of=datetime(2026, 3, 2, 12, tzinfo=UTC))

    # When a meeting from 20 February is logged late
    check_in_log(**valid_check_in(world, channel=channel, occurred_at=datetime(2026, 2, 20, 9, tzinfo=UTC)))

    # Then the channel is still due on 3 March
    channel.refresh_from_db()
    assert channel.next_due_at == datetime(2026, 3, 3, 8, tzinfo=UTC)


# --- permissions -------------------------------------------------------------------------------------


def test_client_user_cannot_log_a_check_in_on_their_own_clients_engagement(world: World) -> None:
    # Given the client's PMO lead, who may see the consultant's engagement
    before = written()

    # When they try to log a check-in on it
    with pytest.raises(NotAllowed):
        check_in_log(**valid_check_in(world, actor=world.client_user))

    # Then it is refused and nothing is written
    assert written() == before


OUT_OF_SCOPE_CALLS: list[tuple[str, Callable[[Any, World], object]]] = [
    (
        "check_in_log",
        lambda actor, w: check_in_log(
            **valid_check_in(w, actor=actor, engagement=w.other.engagement, attendees=[w.other.stakeholder])
        ),
    ),
    (
        "channel_create",
        lambda actor, w: channel_create(
            actor=actor,
            engagement=w.other.engagement,
            stakeholder=w.other.stakeholder,
            title="Sneaky",
            recurrence_rule="FREQ=WEEKLY",
            starts_on=date(2026, 1, 6),
            local_time=time(9, 0),
            owner=w.outsider_consultant,
            as_of=NOW,
        ),
    ),
    (
        "follow_up_create",
        lambda actor, w: follow_up_create(
            actor=actor, engagement=w.other.engagement, spec=follow_up(owner_user=w.outsider_consultant)
        ),
    ),
    ("follow_up_complete", lambda actor, w: follow_up_complete(actor=actor, follow_up=w.other.follow_up)),
    ("follow_up_reopen", lambda actor, w: follow_up_reopen(actor=actor, follow_up=w.other.follow_up)),
    (
        "follow_up_comment_add",
        lambda actor, w: follow_up_comment_add(actor=actor, follow_up=w.other.follow_up, body="Hi"),
    ),
]


@pytest.mark.parametrize("actor_name", ["consultant", "engagement_lead", "client_pmo_lead", "anonymous"])
@pytest.mark.parametrize(
    ("service", "call"), OUT_OF_SCOPE_CALLS, ids=[name for name, _ in OUT_OF_SCOPE_CALLS]
)
def test_services_answer_404_outside_the_actors_scope(
    world: World, actor_name: str, service: str, call: Callable[[Any, World], object]
) -> None:
    # Given a user who cannot see the other client's engagement
    actor = AnonymousUser() if actor_name == "anonymous" else world.users()[actor_name]
    before = written()
    other_follow_up = FollowUp.objects.values().get(pk=world.other.follow_up.pk)

    # When they call a service on it
    with pytest.raises(NotFound):
        call(actor, world)

    # Then it answers as if the engagement did not exist, and nothing changes
    assert written() == before
    assert FollowUp.objects.values().get(pk=world.other.follow_up.pk) == other_follow_up


# --- follow-ups: status ------------------------------------------------------------------------------


def test_follow_up_create_refuses_bad_input_under_unprefixed_fields(world: World) -> None:
    # Given a stand-alone follow-up without a title, owned by someone off the team
    before = written()

    # When it is created
    with pytest.raises(ValidationError) as refused:
        follow_up_create(
            actor=world.consultant,
            engagement=world.mine.engagement,
            spec=follow_up(title="", owner_user=world.outsider_consultant),
        )

    # Then both problems are named without a follow_ups[] prefix and nothing is written
    assert {"title", "owner"} <= set(refused.value.message_dict)
    assert written() == before


def test_completing_a_follow_up_twice_keeps_the_first_completion(world: World) -> None:
    # Given an open follow-up of the consultant's engagement
    item = world.mine.follow_up
    first = datetime(2026, 3, 3, 10, tzinfo=UTC)

    # When the consultant completes it, and the lead completes it again later
    follow_up_complete(actor=world.consultant, follow_up=item, as_of=first)
    again = follow_up_complete(actor=world.lead, follow_up=item, as_of=first + timedelta(hours=5))

    # Then it is done once: the first time and the first person stand
    assert again.status == FollowUp.Status.DONE
    assert again.completed_at == first
    assert again.completed_by == world.consultant
    stored = FollowUp.objects.get(pk=item.pk)
    assert (stored.completed_at, stored.completed_by_id) == (first, world.consultant.pk)


def test_client_user_completes_a_follow_up_they_own_through_their_stakeholder_record(world: World) -> None:
    # Given a follow-up owed by the stakeholder record of the client's PMO lead
    item = world.mine.follow_up
    assert item.owner_stakeholder is not None
    assert item.owner_stakeholder.user == world.client_user

    # When the PMO lead completes it
    done = follow_up_complete(actor=world.client_user, follow_up=item, as_of=NOW)

    # Then it is done, by them
    assert (done.status, done.completed_at, done.completed_by) == (
        FollowUp.Status.DONE,
        NOW,
        world.client_user,
    )


def test_completing_without_as_of_stamps_the_clock_time(
    world: World, time_machine: TimeMachineFixture
) -> None:
    # Given the clock at NOW
    time_machine.move_to(NOW, tick=False)

    # When a follow-up is completed without saying when
    done = follow_up_complete(actor=world.consultant, follow_up=world.mine.follow_up)

    # Then it is completed at the clock's time
    assert done.completed_at == NOW


@pytest.mark.parametrize("whose", ["teammate_on_same_engagement", "stakeholder_on_sibling_engagement"])
def test_client_user_cannot_complete_a_follow_up_owned_by_someone_else(world: World, whose: str) -> None:
    # Given a follow-up the PMO lead can see but does not own
    item = (
        factories.make_follow_up(
            engagement=world.mine.engagement, owner_user=world.lead, shared_with_client=True
        )
        if whose == "teammate_on_same_engagement"
        else world.sibling.follow_up
    )

    # When they try to complete it
    with pytest.raises(NotAllowed):
        follow_up_complete(actor=world.client_user, follow_up=item, as_of=NOW)

    # Then it stays open
    assert FollowUp.objects.get(pk=item.pk).status == FollowUp.Status.OPEN


def test_cancelled_follow_up_cannot_be_completed(world: World) -> None:
    # Given a cancelled follow-up
    item = world.mine.follow_up
    FollowUp.objects.filter(pk=item.pk).update(status=FollowUp.Status.CANCELLED)

    # When someone tries to complete it
    with pytest.raises(TransitionRefused) as refused:
        follow_up_complete(actor=world.consultant, follow_up=item, as_of=NOW)

    # Then it is refused under "status" and stays cancelled, without a completion time
    assert "status" in refused.value.message_dict
    stored = FollowUp.objects.get(pk=item.pk)
    assert (stored.status, stored.completed_at) == (FollowUp.Status.CANCELLED, None)


def test_reopening_a_done_follow_up_clears_its_completion_and_is_idempotent(world: World) -> None:
    # Given a completed follow-up
    item = follow_up_complete(actor=world.consultant, follow_up=world.mine.follow_up, as_of=NOW)

    # When it is reopened twice
    follow_up_reopen(actor=world.consultant, follow_up=item)
    reopened = follow_up_reopen(actor=world.consultant, follow_up=item)

    # Then it is open with no completion recorded
    assert (reopened.status, reopened.completed_at, reopened.completed_by) == (
        FollowUp.Status.OPEN,
        None,
        None,
    )


def test_client_user_comments_on_their_own_follow_up_but_not_on_others(world: World) -> None:
    # Given the PMO lead's own follow-up and one owed by a teammate on the same engagement
    own = world.mine.follow_up
    theirs = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, shared_with_client=True
    )

    # When they comment on both
    comment = follow_up_comment_add(actor=world.client_user, follow_up=own, body="  Sent on Friday.  ")
    with pytest.raises(NotAllowed):
        follow_up_comment_add(actor=world.client_user, follow_up=theirs, body="Me too")

    # Then only the comment on their own item is kept, trimmed
    assert comment.body == "Sent on Friday."
    assert list(FollowUpComment.objects.filter(follow_up=theirs)) == []


def test_empty_comment_is_refused(world: World) -> None:
    # Given a comment of only spaces
    before = written()

    # When it is added
    with pytest.raises(ValidationError) as refused:
        follow_up_comment_add(actor=world.consultant, follow_up=world.mine.follow_up, body="   ")

    # Then it is refused under "body" and nothing is written
    assert "body" in refused.value.message_dict
    assert written() == before


# --- follow-ups: the overdue sweep ---------------------------------------------------------------------


def test_overdue_sweep_flags_exactly_the_open_unflagged_past_due_items_in_one_statement(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Given follow-ups in every state around the sweep time
    as_of = datetime(2026, 6, 1, 12, tzinfo=UTC)
    earlier_flag = as_of - timedelta(days=3)
    engagement = world.mine.engagement

    def make(title: str, due_at: datetime) -> FollowUp:
        return factories.make_follow_up(
            engagement=engagement, owner_user=world.lead, title=title, due_at=due_at
        )

    late_a = make("late a", as_of - timedelta(hours=1))
    late_b = make("late b", as_of - timedelta(days=10))
    due_now = make("due exactly now", as_of)
    future = make("future", as_of + timedelta(hours=1))
    done = make("done", as_of - timedelta(days=1))
    follow_up_complete(actor=world.lead, follow_up=done, as_of=as_of - timedelta(days=2))
    cancelled = make("cancelled", as_of - timedelta(days=1))
    FollowUp.objects.filter(pk=cancelled.pk).update(status=FollowUp.Status.CANCELLED)
    flagged = make("already flagged", as_of - timedelta(days=4))
    FollowUpOverdue.objects.create(follow_up=flagged, overdue_at=earlier_flag)

    # When the sweep runs: one INSERT … SELECT, inside its savepoint
    with django_assert_num_queries(3):
        count = follow_ups_flag_overdue(as_of=as_of)

    # Then only the two open, past-due, unflagged items are stamped with the sweep time
    overdue_at = {f.pk: factories.overdue_at_of(f) for f in FollowUp.objects.all()}
    assert count == 2
    assert {pk for pk, stamp in overdue_at.items() if stamp == as_of} == {late_a.pk, late_b.pk}
    assert overdue_at[flagged.pk] == earlier_flag
    for untouched in (due_now, future, done, cancelled):
        assert overdue_at[untouched.pk] is None


def test_overdue_sweep_run_twice_flags_nothing_more_and_keeps_the_first_time(world: World) -> None:
    # Given a follow-up flagged overdue by a first sweep
    as_of = datetime(2026, 6, 1, 12, tzinfo=UTC)
    late = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, due_at=as_of - timedelta(hours=1)
    )
    assert follow_ups_flag_overdue(as_of=as_of) == 1

    # When the sweep runs again a day later
    again = follow_ups_flag_overdue(as_of=as_of + timedelta(days=1))

    # Then nothing is newly flagged and the first flag time stands
    assert again == 0
    assert factories.overdue_at_of(late) == as_of


def test_completed_follow_up_is_never_flagged_overdue(world: World) -> None:
    # Given a follow-up completed before its due time
    as_of = datetime(2026, 6, 1, 12, tzinfo=UTC)
    item = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, due_at=as_of - timedelta(days=1)
    )
    follow_up_complete(actor=world.lead, follow_up=item, as_of=as_of - timedelta(days=2))

    # When the sweep runs after the due time has passed
    follow_ups_flag_overdue(as_of=as_of)

    # Then the done item is not flagged
    assert factories.overdue_at_of(item) is None


def test_deleting_a_follow_up_takes_its_overdue_stamp_with_it(world: World) -> None:
    # Given a follow-up the overdue scan has stamped
    as_of = datetime(2026, 6, 1, 12, tzinfo=UTC)
    late = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, due_at=as_of - timedelta(hours=1)
    )
    follow_ups_flag_overdue(as_of=as_of)
    assert FollowUpOverdue.objects.filter(follow_up_id=late.pk).exists()

    # When the follow-up is deleted
    late.delete()

    # Then no stamp is left behind
    assert not FollowUpOverdue.objects.filter(follow_up_id=late.pk).exists()


def test_redating_into_the_past_is_refused_and_keeps_the_due_time_and_the_stamp(world: World) -> None:
    # Given a follow-up stamped overdue at a first sweep
    as_of = datetime(2026, 6, 1, 12, tzinfo=UTC)
    late = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, due_at=as_of - timedelta(hours=1)
    )
    follow_ups_flag_overdue(as_of=as_of)

    # When it is re-dated to another past time
    with pytest.raises(ValidationError) as refused:
        follow_up_redate(actor=world.lead, follow_up=late, due_at=as_of - timedelta(hours=3), as_of=as_of)

    # Then the re-date is refused under the due time, and the item is still overdue since the first sweep
    assert refused.value.error_dict["due_at"][0].code == "in_past"
    late.refresh_from_db()
    assert late.due_at == as_of - timedelta(hours=1)
    assert factories.overdue_at_of(late) == as_of
    assert follow_ups_flag_overdue(as_of=as_of + timedelta(hours=1)) == 0


@pytest.mark.django_db(transaction=True)
def test_a_sweep_that_meets_another_sweeps_stamp_mid_statement_keeps_it_and_stamps_the_rest() -> None:
    # Given two overdue follow-ups, committed so that two connections see them
    as_of = datetime(2026, 6, 1, 12, tzinfo=UTC)
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    first, second = (
        factories.make_follow_up(engagement=engagement, owner_user=lead, due_at=as_of - timedelta(hours=h))
        for h in (1, 2)
    )
    earlier = as_of - timedelta(minutes=5)
    outcome: list[Any] = []

    def sweep() -> None:
        try:
            outcome.append(follow_ups_flag_overdue(as_of=as_of))
        except Exception as error:  # noqa: BLE001 - the assertion below reports it
            outcome.append(error)
        finally:
            connection.close()

    # When another sweep has stamped the first item but not yet committed, and this sweep starts
    with transaction.atomic():
        FollowUpOverdue.objects.create(follow_up=first, overdue_at=earlier)
        worker = threading.Thread(target=sweep)
        worker.start()
        if connection.vendor == "postgresql":
            # This sweep's statement is under way, waiting on the first item's key.
            wait_until(_a_statement_waits_on_a_lock, deadline=10, what="the sweep to wait on the stamp")
    worker.join(timeout=30)

    # Then it raised nothing, stamped only the second item, and the first keeps the other sweep's time
    assert outcome == [1]
    assert factories.overdue_at_of(first) == earlier
    assert factories.overdue_at_of(second) == as_of


def _a_statement_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        # pg_locks is read live; pg_stat_activity would answer from this transaction's snapshot.
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return bool(cursor.fetchone()[0])


@pytest.mark.parametrize(
    ("due_on", "expected"),
    [
        (date(2026, 3, 27), datetime(2026, 3, 27, 22, 59, tzinfo=UTC)),
        (date(2026, 3, 30), datetime(2026, 3, 30, 21, 59, tzinfo=UTC)),
    ],
    ids=["winter-time", "summer-time"],
)
def test_a_follow_up_agreed_for_a_date_is_due_at_the_end_of_that_day_where_it_was_agreed(
    due_on: date, expected: datetime
) -> None:
    # Given a date agreed in Berlin, before and after the clocks go forward
    # When its due time is asked for
    due_at = follow_up_due_at(due_on=due_on, time_zone=ZoneInfo("Europe/Berlin"))

    # Then it is 23:59 that day in Berlin, whatever the offset
    assert due_at == expected
    assert due_at.astimezone(ZoneInfo("Europe/Berlin")).time() == FOLLOW_UP_DUE_TIME
