"""Occurrences: dispatch, due and missed sweeps, held check-ins, reminders and compliance."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.fixtures import Settings

from accounts.models import User
from communications import scheduling
from communications import services as communication_services
from communications.models import Channel, Occurrence
from communications.scheduling import Compliance
from notifications.models import Notification, NotificationEvent, OutboxMessage
from notifications.outbox import outbox_reconcile, outbox_send
from notifications.services import notification_preference_save
from notifications.timing import LONGEST_REMINDER_LEAD
from stakeholders.models import StakeholderRole
from tests import factories
from tests.flaky_mail import FlakyBackend

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# A Tuesday, well inside the factories' engagement dates.
AS_OF = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
# Mark, read the newly missed, their owners, the notifications; the weeks they fell in and
# their roll-ups (zones, check-ins, who took part in them, occurrences, overdue follow-ups of
# the one week, the person rows replaced, the upsert); then a savepoint, the stuck channels,
# their new due times and the release.
MISSED_SWEEP_QUERIES = 18


def _role(*, time_zone: str = "UTC") -> tuple[StakeholderRole, User]:
    lead = factories.consultant(time_zone=time_zone)
    engagement = factories.make_engagement(lead=lead)
    stakeholder = factories.make_stakeholder(client=engagement.client, time_zone=time_zone)
    return factories.make_role(engagement=engagement, stakeholder=stakeholder), lead


def _channel(*, next_due_at: dt.datetime | None, time_zone: str = "UTC", **kwargs: Any) -> Channel:
    role, lead = _role(time_zone=time_zone)
    channel = factories.make_channel(role=role, owner=lead, **kwargs)
    Channel.objects.filter(pk=channel.pk).update(next_due_at=next_due_at)
    channel.refresh_from_db()
    return channel


def _channels(count: int, *, next_due_at: dt.datetime) -> list[Channel]:
    role, lead = _role()
    made = [factories.make_channel(role=role, owner=lead, title=f"Channel {n}") for n in range(count)]
    Channel.objects.filter(pk__in=[c.pk for c in made]).update(next_due_at=next_due_at)
    return made


def test_dispatch_creates_one_occurrence_per_channel_due_within_the_horizon():
    # Given a channel due in an hour, one already past due, one due in a week and a paused one due soon
    soon = _channel(next_due_at=AS_OF + dt.timedelta(hours=1))
    late = _channel(next_due_at=AS_OF - dt.timedelta(hours=1))
    _channel(next_due_at=AS_OF + dt.timedelta(days=7))
    paused = _channel(next_due_at=AS_OF + dt.timedelta(hours=1))
    Channel.objects.filter(pk=paused.pk).update(status=Channel.Status.PAUSED)

    # When the dispatcher runs with its horizon (the longest reminder lead, six days)
    created = scheduling.occurrences_dispatch(as_of=AS_OF)

    # Then exactly the two active channels due within it have a row, at their due time
    assert created == 2
    rows = {o.channel_id: o for o in Occurrence.objects.all()}
    assert set(rows) == {soon.pk, late.pk}
    assert rows[soon.pk].due_at == soon.next_due_at
    assert rows[soon.pk].status == Occurrence.Status.UPCOMING
    assert rows[late.pk].status == Occurrence.Status.DUE


def test_dispatching_twice_or_from_two_dispatchers_creates_nothing_twice():
    # Given three channels coming due
    _channels(3, next_due_at=AS_OF + dt.timedelta(hours=5))

    # When one dispatcher runs, then a second right after it, then the first again later
    first = scheduling.occurrences_dispatch(as_of=AS_OF)
    second = scheduling.occurrences_dispatch(as_of=AS_OF)
    again = scheduling.occurrences_dispatch(as_of=AS_OF + dt.timedelta(minutes=1))

    # Then there is one row per channel and due time
    assert (first, second, again) == (3, 0, 0)
    assert Occurrence.objects.count() == 3


def test_dispatch_works_through_channels_in_batches():
    # Given more due channels than one batch holds
    _channels(7, next_due_at=AS_OF + dt.timedelta(hours=1))

    # When the dispatcher runs with batches of three
    created = scheduling.occurrences_dispatch(as_of=AS_OF, batch_size=3)

    # Then every channel got its row
    assert created == 7
    assert Occurrence.objects.count() == 7


def _dispatch_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        scheduling.occurrences_dispatch(as_of=AS_OF)
    return len(queries)


def test_dispatch_query_count_does_not_grow_with_the_number_of_due_channels():
    # Given ten due channels, dispatched
    _channels(10, next_due_at=AS_OF + dt.timedelta(hours=1))
    for_ten = _dispatch_queries()
    assert Occurrence.objects.count() == 10

    # When there are a hundred due channels without rows
    Occurrence.objects.all().delete()
    _channels(90, next_due_at=AS_OF + dt.timedelta(hours=1))
    for_hundred = _dispatch_queries()

    # Then the same queries did it: a savepoint, one SELECT, one INSERT, its release
    # (SQLite's 999-parameter limit makes Django split an INSERT of many rows; PostgreSQL has none)
    assert Occurrence.objects.count() == 100
    fields = [f for f in Occurrence._meta.concrete_fields if not f.primary_key]
    inserts = math.ceil(100 / connection.ops.bulk_batch_size(fields, [None] * 100))
    assert for_hundred == for_ten - 1 + inserts
    assert for_ten == 4


def test_mark_due_moves_only_upcoming_occurrences_whose_time_has_come():
    # Given an upcoming occurrence at noon and one an hour later
    now_due = _channel(next_due_at=AS_OF)
    later = _channel(next_due_at=AS_OF + dt.timedelta(hours=1))
    scheduling.occurrences_dispatch(as_of=AS_OF - dt.timedelta(days=1))

    # When the due sweep runs at noon, twice
    moved = scheduling.occurrences_mark_due(as_of=AS_OF)
    moved_again = scheduling.occurrences_mark_due(as_of=AS_OF)

    # Then only the noon one is due, once
    assert (moved, moved_again) == (1, 0)
    assert Occurrence.objects.get(channel=now_due).status == Occurrence.Status.DUE
    assert Occurrence.objects.get(channel=later).status == Occurrence.Status.UPCOMING


def test_mark_missed_after_the_grace_period_and_moves_the_channel_to_the_next_meeting_still_owed():
    # Given a weekly Tuesday 09:00 UTC channel with two days' grace, due a week before AS_OF
    due_at = dt.datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    channel = _channel(next_due_at=due_at, grace_period=dt.timedelta(days=2))
    scheduling.occurrences_dispatch(as_of=due_at)

    # When the sweep runs inside the grace period
    inside = scheduling.occurrences_mark_missed(as_of=due_at + dt.timedelta(days=1))

    # Then nothing is missed yet
    assert inside == 0
    assert Occurrence.objects.get(channel=channel).status == Occurrence.Status.DUE

    # When it runs after the grace period, twice
    missed = scheduling.occurrences_mark_missed(as_of=AS_OF)
    missed_again = scheduling.occurrences_mark_missed(as_of=AS_OF)

    # Then the occurrence is missed once and the channel moves to this morning's meeting,
    # three hours past due and still within its two days' grace
    assert (missed, missed_again) == (1, 0)
    occurrence = Occurrence.objects.get(channel=channel)
    assert occurrence.status == Occurrence.Status.MISSED
    assert occurrence.missed_at == AS_OF
    channel.refresh_from_db()
    assert channel.next_due_at == dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)

    # And once its grace has run out unobserved, the sweep moves past it to the next one still owed
    scheduling.occurrences_dispatch(as_of=AS_OF)
    scheduling.occurrences_mark_missed(as_of=dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    channel.refresh_from_db()
    assert channel.next_due_at == dt.datetime(2026, 3, 24, 9, 0, tzinfo=UTC)


def test_a_held_occurrence_is_never_marked_missed():
    # Given a due occurrence that a check-in held late
    due_at = dt.datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    channel = _channel(next_due_at=due_at, grace_period=dt.timedelta(hours=1))
    scheduling.occurrences_dispatch(as_of=due_at)
    factories.make_check_in(
        engagement=channel.engagement,
        attendees=[channel.stakeholder],
        channel=channel,
        occurred_at=due_at + dt.timedelta(days=2),
        as_of=due_at + dt.timedelta(days=2),
    )

    # When the missed sweep runs long after the grace period
    missed = scheduling.occurrences_mark_missed(as_of=AS_OF)

    # Then the occurrence stays held, late
    assert missed == 0
    occurrence = Occurrence.objects.get(channel=channel, due_at=due_at)
    assert occurrence.status == Occurrence.Status.HELD
    assert occurrence.held_on_time is False


def test_due_and_missed_follow_local_time_across_the_march_dst_change():
    # Given a Monday 09:00 Europe/Berlin channel whose 23 March (CET, 08:00 UTC) occurrence passed unheld
    channel = _channel(
        next_due_at=dt.datetime(2026, 3, 23, 8, 0, tzinfo=UTC),
        time_zone="Europe/Berlin",
        recurrence_rule="FREQ=WEEKLY;BYDAY=MO",
        starts_on=dt.date(2026, 1, 5),
        local_time=dt.time(9, 0),
        grace_period=dt.timedelta(days=1),
    )
    scheduling.occurrences_dispatch(as_of=dt.datetime(2026, 3, 23, 8, 0, tzinfo=UTC))

    # When the missed sweep runs after the clocks went forward
    scheduling.occurrences_mark_missed(as_of=dt.datetime(2026, 3, 29, 12, 0, tzinfo=UTC))

    # Then the next occurrence is 09:00 CEST, 07:00 UTC
    channel.refresh_from_db()
    assert channel.next_due_at == dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC)

    # And its row is created ahead, falls due at 07:00 UTC and not a minute before
    scheduling.occurrences_dispatch(as_of=dt.datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    assert scheduling.occurrences_mark_due(as_of=dt.datetime(2026, 3, 30, 6, 59, tzinfo=UTC)) == 0
    assert scheduling.occurrences_mark_due(as_of=dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC)) == 1
    assert Occurrence.objects.get(channel=channel, due_at=channel.next_due_at).status == Occurrence.Status.DUE


@pytest.mark.parametrize(
    ("after_due", "on_time"),
    [
        (dt.timedelta(hours=-3), True),
        (dt.timedelta(hours=1), True),
        (dt.timedelta(days=2), True),
        (dt.timedelta(days=2, minutes=1), False),
    ],
)
def test_a_check_in_holds_the_occurrence_on_time_within_the_grace_period(
    after_due: dt.timedelta, on_time: bool
):
    # Given a channel due on Tuesday at 09:00 UTC with two days' grace, and its row dispatched
    due_at = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    channel = _channel(next_due_at=due_at, grace_period=dt.timedelta(days=2))
    scheduling.occurrences_dispatch(as_of=due_at - dt.timedelta(days=1))

    # When a check-in is logged against the channel
    occurred_at = due_at + after_due
    check_in = factories.make_check_in(
        engagement=channel.engagement,
        attendees=[channel.stakeholder],
        channel=channel,
        occurred_at=occurred_at,
        as_of=occurred_at,
    )

    # Then that occurrence is held by it, on time or late, and the channel moved on as before
    occurrence = Occurrence.objects.get(channel=channel)
    assert occurrence.status == Occurrence.Status.HELD
    assert occurrence.held_on_time is on_time
    assert occurrence.held_at == occurred_at
    assert occurrence.check_in == check_in
    channel.refresh_from_db()
    assert channel.next_due_at == dt.datetime(2026, 3, 17, 9, 0, tzinfo=UTC)


def test_a_check_in_before_the_dispatcher_ran_creates_the_held_occurrence():
    # Given a channel due at 09:00 with no occurrence row yet
    due_at = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    channel = _channel(next_due_at=due_at)

    # When a check-in is logged against it, and then the dispatcher runs
    factories.make_check_in(
        engagement=channel.engagement,
        attendees=[channel.stakeholder],
        channel=channel,
        occurred_at=due_at,
        as_of=due_at,
    )
    scheduling.occurrences_dispatch(as_of=due_at)

    # Then the held row exists once: the dispatcher added no second row for that due time
    held = Occurrence.objects.get(channel=channel, due_at=due_at)
    assert held.status == Occurrence.Status.HELD
    assert held.held_on_time is True
    assert Occurrence.objects.filter(channel=channel).count() == 1


def test_a_check_in_for_an_older_cycle_holds_nothing():
    # Given a channel due on 10 March whose previous occurrence was 3 March
    due_at = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    channel = _channel(next_due_at=due_at)
    scheduling.occurrences_dispatch(as_of=due_at)

    # When a check-in from before 3 March is logged against it
    factories.make_check_in(
        engagement=channel.engagement,
        attendees=[channel.stakeholder],
        channel=channel,
        occurred_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        as_of=due_at,
    )

    # Then the 10 March occurrence is still due
    assert Occurrence.objects.get(channel=channel).status == Occurrence.Status.DUE


def test_transitions_are_declared_and_held_and_missed_are_final():
    # Given the declared transitions
    # When asked about each move
    # Then open states may close, held and missed never move, cancelled only back to upcoming
    assert Occurrence.TRANSITIONS.can_move(Occurrence.Status.UPCOMING, Occurrence.Status.DUE)
    assert Occurrence.TRANSITIONS.can_move(Occurrence.Status.DUE, Occurrence.Status.MISSED)
    assert not Occurrence.TRANSITIONS.can_move(Occurrence.Status.UPCOMING, Occurrence.Status.MISSED)
    for final in (Occurrence.Status.HELD, Occurrence.Status.MISSED):
        assert not Occurrence.TRANSITIONS[final]
    assert Occurrence.TRANSITIONS[Occurrence.Status.CANCELLED] == {Occurrence.Status.UPCOMING}


def test_a_reminder_is_claimed_and_mailed_once(eager_tasks: None, django_capture_on_commit_callbacks: Any):
    # Given an occurrence due in three hours, one due in two days and one already past due
    soon = _channel(next_due_at=AS_OF + dt.timedelta(hours=3), details="Room 4.12 <script>x</script>")
    _channel(next_due_at=AS_OF + dt.timedelta(days=2))
    _channel(next_due_at=AS_OF - dt.timedelta(minutes=5))
    scheduling.occurrences_dispatch(as_of=AS_OF)

    # When the reminder sweep runs twice
    with django_capture_on_commit_callbacks(execute=True):
        first = scheduling.occurrences_send_reminders(as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        second = scheduling.occurrences_send_reminders(as_of=AS_OF)

    # Then the owner of the one coming due got exactly one mail, in text and HTML
    assert (first, second) == (1, 0)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    assert message.to == [soon.owner.email]
    assert soon.title in message.subject
    assert "Room 4.12" in message.body
    assert "2 days" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "Room 4.12" in str(html)
    assert "<script>" not in str(html)
    occurrence = Occurrence.objects.get(channel=soon)
    sent = OutboxMessage.objects.get(idempotency_key=scheduling.reminder_key(occurrence.pk))
    assert (sent.status, sent.attempts, sent.created_at) == (OutboxMessage.Status.SENT, 1, AS_OF)
    assert sent.recipient_id == soon.owner_id


def test_the_reminder_shows_the_due_time_in_the_owners_time_zone(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an owner in New York and an occurrence due at 14:00 UTC, after the US clocks went forward
    channel = _channel(next_due_at=dt.datetime(2026, 3, 10, 14, 0, tzinfo=UTC), time_zone="America/New_York")
    scheduling.occurrences_dispatch(as_of=AS_OF)

    # When the reminder goes out
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.occurrences_send_reminders(as_of=AS_OF)

    # Then it gives the local time, 10:00 EDT
    assert len(mail.outbox) == 1
    assert "10:00" in mail.outbox[0].body
    assert "America/New_York" in mail.outbox[0].body
    assert channel.owner.time_zone == "America/New_York"


def test_a_reminder_withdrawn_by_a_check_in_held_before_it_left_is_not_mailed(
    django_capture_on_commit_callbacks: Any,
):
    # Given a reminder written for a check-in due in two hours, whose send task has not run yet
    channel = _channel(next_due_at=AS_OF + dt.timedelta(hours=2))
    scheduling.occurrences_dispatch(as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=False):
        scheduling.occurrences_send_reminders(as_of=AS_OF)
    occurrence = Occurrence.objects.get(channel=channel)
    key = scheduling.reminder_key(occurrence.pk)

    # When the check-in is logged first, and then the send task runs (and one for a reminder never written)
    check_in = factories.make_check_in(
        engagement=channel.engagement, attendees=[channel.stakeholder], occurred_at=AS_OF
    )
    scheduling.occurrence_mark_held(channel=channel, due_at=occurrence.due_at, check_in=check_in)
    sent = [outbox_send(key=key), outbox_send(key=scheduling.reminder_key(occurrence.pk + 1000))]

    # Then nothing is sent, and the reminder says it was withdrawn
    assert sent == [False, False]
    assert mail.outbox == []
    assert OutboxMessage.objects.get(idempotency_key=key).status == OutboxMessage.Status.CANCELLED


def _claimed_occurrence(callbacks: Any) -> Occurrence:
    channel = _channel(next_due_at=AS_OF + dt.timedelta(hours=3))
    scheduling.occurrences_dispatch(as_of=AS_OF)
    with callbacks(execute=False):
        scheduling.occurrences_send_reminders(as_of=AS_OF)
    return Occurrence.objects.get(channel=channel)


def test_a_failing_mail_server_records_the_error_and_the_sender_raises(
    settings: Settings, django_capture_on_commit_callbacks: Any
):
    # Given a claimed occurrence and a mail server that refuses once
    occurrence = _claimed_occurrence(django_capture_on_commit_callbacks)
    settings.EMAIL_BACKEND = "tests.flaky_mail.FlakyBackend"
    FlakyBackend.fail_next(1)

    # When the sender tries
    with pytest.raises(OSError):
        outbox_send(key=scheduling.reminder_key(occurrence.pk))

    # Then the attempt and its error are on the message, and it is not marked sent
    message = OutboxMessage.objects.get(idempotency_key=scheduling.reminder_key(occurrence.pk))
    assert message.attempts == 1
    assert "SMTPServerDisconnected" in message.last_error
    assert message.status == OutboxMessage.Status.PENDING
    assert mail.outbox == []


def test_compliance_is_held_on_time_over_due_in_the_window():
    # Given a channel's occurrences in March: two held on time, one held late, one missed,
    # one due, one upcoming, one cancelled; and one held on time in February
    channel = _channel(next_due_at=None)
    states = [
        (1, Occurrence.Status.HELD, True),
        (2, Occurrence.Status.HELD, True),
        (3, Occurrence.Status.HELD, False),
        (4, Occurrence.Status.MISSED, None),
        (5, Occurrence.Status.DUE, None),
        (6, Occurrence.Status.UPCOMING, None),
        (7, Occurrence.Status.CANCELLED, None),
    ]
    for day, status, on_time in states:
        due_at = dt.datetime(2026, 3, day, 9, 0, tzinfo=UTC)
        Occurrence.objects.create(
            channel=channel,
            due_at=due_at,
            status=status,
            held_at=due_at if status == Occurrence.Status.HELD else None,
            held_on_time=on_time,
            missed_at=due_at if status == Occurrence.Status.MISSED else None,
        )
    Occurrence.objects.create(
        channel=channel,
        due_at=dt.datetime(2026, 2, 20, 9, 0, tzinfo=UTC),
        status=Occurrence.Status.HELD,
        held_at=dt.datetime(2026, 2, 20, 9, 0, tzinfo=UTC),
        held_on_time=True,
    )
    march = {
        "window_start": dt.datetime(2026, 3, 1, tzinfo=UTC),
        "window_end": dt.datetime(2026, 4, 1, tzinfo=UTC),
    }

    # When compliance is computed over March, overall and grouped
    with CaptureQueriesContext(connection) as queries:
        overall = scheduling.cadence_compliance(occurrences_queryset=Occurrence.objects.all(), **march)
    by_channel = scheduling.cadence_compliance_by_channel(
        occurrences_queryset=Occurrence.objects.all(), **march
    )
    by_stakeholder = scheduling.cadence_compliance_by_stakeholder(
        occurrences_queryset=Occurrence.objects.all(), **march
    )
    by_engagement = scheduling.cadence_compliance_by_engagement(
        occurrences_queryset=Occurrence.objects.all(), **march
    )
    by_owner = scheduling.cadence_compliance_by_owner(occurrences_queryset=Occurrence.objects.all(), **march)

    # Then five were due and two held on time, in one query
    expected = Compliance(due=5, held_on_time=2, ratio=0.4)
    assert overall == expected
    assert len(queries) == 1
    assert by_channel == {channel.pk: expected}
    assert by_stakeholder == {channel.stakeholder_id: expected}
    assert by_engagement == {channel.engagement_id: expected}
    assert by_owner == {channel.owner_id: expected}


def test_compliance_groups_in_one_query_each_and_with_nothing_due_has_no_ratio():
    # Given two channels of different owners, one with a held-on-time occurrence, one with only upcoming
    kept = _channel(next_due_at=None)
    quiet = _channel(next_due_at=None)
    Occurrence.objects.create(
        channel=kept, due_at=AS_OF, status=Occurrence.Status.HELD, held_at=AS_OF, held_on_time=True
    )
    Occurrence.objects.create(channel=quiet, due_at=AS_OF, status=Occurrence.Status.UPCOMING)
    window = {"window_start": AS_OF - dt.timedelta(days=1), "window_end": AS_OF + dt.timedelta(days=1)}

    # When compliance is grouped by owner
    with CaptureQueriesContext(connection) as queries:
        by_owner = scheduling.cadence_compliance_by_owner(
            occurrences_queryset=Occurrence.objects.all(), **window
        )

    # Then each owner has a figure from the one query, and nothing due means no ratio
    assert len(queries) == 1
    assert by_owner == {
        kept.owner_id: Compliance(due=1, held_on_time=1, ratio=1.0),
        quiet.owner_id: Compliance(due=0, held_on_time=0, ratio=None),
    }


def test_occurrences_are_visible_only_with_their_channels_engagement():
    # Given occurrences of two engagements
    mine = _channel(next_due_at=AS_OF + dt.timedelta(hours=1))
    _channel(next_due_at=AS_OF + dt.timedelta(hours=1))
    scheduling.occurrences_dispatch(as_of=AS_OF)

    # When the first engagement's lead lists occurrences
    visible = scheduling.occurrence_list(user=mine.owner)

    # Then only their channel's occurrence is there
    assert [o.channel_id for o in visible] == [mine.pk]


def test_pausing_a_channel_cancels_its_open_occurrence_and_resuming_reinstates_it():
    # Given a channel due tomorrow with its occurrence dispatched
    channel = _channel(next_due_at=dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    scheduling.occurrences_dispatch(as_of=dt.datetime(2026, 3, 9, 9, 0, tzinfo=UTC))
    admin = factories.administrator()

    # When the channel is paused and the plan is followed
    communication_services.channel_pause(actor=admin, channel=channel)
    cancelled = scheduling.occurrences_follow_the_plan()

    # Then the occurrence is cancelled: neither reminded, nor missed, nor counted as due
    occurrence = Occurrence.objects.get(channel=channel)
    assert (cancelled, occurrence.status) == (1, Occurrence.Status.CANCELLED)
    assert scheduling.occurrences_send_reminders(as_of=dt.datetime(2026, 3, 9, 10, 0, tzinfo=UTC)) == 0
    assert scheduling.occurrences_mark_missed(as_of=dt.datetime(2026, 3, 20, tzinfo=UTC)) == 0

    # When it is resumed before that due time and the plan is followed again
    communication_services.channel_resume(
        actor=admin, channel=channel, as_of=dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    )
    again = scheduling.occurrences_follow_the_plan()

    # Then the same row is upcoming again, and nothing more is cancelled
    occurrence.refresh_from_db()
    assert (again, occurrence.status) == (0, Occurrence.Status.UPCOMING)
    assert Occurrence.objects.filter(channel=channel).count() == 1


def test_a_reminder_never_delivered_is_requeued_once_when_its_claim_is_old(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given reminders written three hours and one hour ago whose tasks were lost, and one sent long ago
    lost = _channel(next_due_at=AS_OF + dt.timedelta(hours=10))
    recent = _channel(next_due_at=AS_OF + dt.timedelta(hours=10))
    delivered = _channel(next_due_at=AS_OF + dt.timedelta(hours=10))
    scheduling.occurrences_dispatch(as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=False):
        scheduling.occurrences_send_reminders(as_of=AS_OF - dt.timedelta(hours=3))
    OutboxMessage.objects.filter(recipient=recent.owner).update(enqueued_at=AS_OF - dt.timedelta(hours=1))
    OutboxMessage.objects.filter(recipient=delivered.owner).update(
        status=OutboxMessage.Status.SENT, sent_at=AS_OF - dt.timedelta(hours=3)
    )

    # When the reconciler runs twice
    with django_capture_on_commit_callbacks(execute=True):
        first = outbox_reconcile(as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=True):
        second = outbox_reconcile(as_of=AS_OF)

    # Then only the old lost one is sent, once, and its claim is renewed
    assert (first, second) == (1, 0)
    assert [m.to for m in mail.outbox] == [[lost.owner.email]]
    message = OutboxMessage.objects.get(recipient=lost.owner)
    assert message.enqueued_at == AS_OF
    assert message.status == OutboxMessage.Status.SENT


def test_a_reminder_still_unsent_at_its_check_ins_time_expires_instead_of_going_late(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a reminder written two hours before its check-in, whose task the broker lost
    channel = _channel(next_due_at=AS_OF + dt.timedelta(hours=2))
    scheduling.occurrences_dispatch(as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=False):
        scheduling.occurrences_send_reminders(as_of=AS_OF)

    # When the reconciler first runs after the check-in's time
    with django_capture_on_commit_callbacks(execute=True):
        enqueued = outbox_reconcile(as_of=AS_OF + dt.timedelta(hours=2, minutes=1))

    # Then the reminder is not sent: it expired
    assert enqueued == 0
    assert mail.outbox == []
    assert OutboxMessage.objects.get(recipient=channel.owner).status == OutboxMessage.Status.EXPIRED


def test_the_dispatcher_creates_rows_as_far_ahead_as_the_longest_reminder_lead():
    # Given a channel due just inside the longest lead a user can choose, and one just outside it
    inside = _channel(next_due_at=AS_OF + LONGEST_REMINDER_LEAD)
    _channel(next_due_at=AS_OF + LONGEST_REMINDER_LEAD + dt.timedelta(minutes=1))

    # When the dispatcher runs
    scheduling.occurrences_dispatch(as_of=AS_OF)

    # Then the first has its row, so its reminder has something to hang on
    assert list(Occurrence.objects.values_list("channel_id", flat=True)) == [inside.pk]


def _remind(as_of: dt.datetime, callbacks: Any) -> int:
    scheduling.occurrences_dispatch(as_of=as_of)
    with callbacks(execute=True):
        return scheduling.occurrences_send_reminders(as_of=as_of)


def test_each_owner_is_reminded_at_their_own_lead_time(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given two check-ins due on Thursday at noon, one owner wanting an hour's notice,
    # the other two working days'
    due_at = dt.datetime(2026, 3, 12, 12, 0, tzinfo=UTC)
    hour_before = _channel(next_due_at=due_at)
    two_days_before = _channel(next_due_at=due_at)
    notification_preference_save(user=hour_before.owner, reminder_lead="1h")
    notification_preference_save(user=two_days_before.owner, reminder_lead="2wd")

    # When the reminder sweep runs on Tuesday at noon, on Thursday at 10:59 and at 11:00
    tuesday = _remind(AS_OF, django_capture_on_commit_callbacks)
    early = _remind(due_at - dt.timedelta(hours=1, minutes=1), django_capture_on_commit_callbacks)
    on_time = _remind(due_at - dt.timedelta(hours=1), django_capture_on_commit_callbacks)

    # Then each owner got one reminder, at the time they chose
    assert (tuesday, early, on_time) == (1, 0, 1)
    assert [m.to for m in mail.outbox] == [[two_days_before.owner.email], [hour_before.owner.email]]
    claimed = dict(OutboxMessage.objects.values_list("recipient_id", "created_at"))
    assert claimed == {
        two_days_before.owner_id: AS_OF,
        hour_before.owner_id: due_at - dt.timedelta(hours=1),
    }


@pytest.mark.parametrize(
    ("zone", "due_at", "remind_at"),
    [
        # Monday 30 March 2026 09:00 CEST, after the clocks went forward; one working day
        # before is Friday 27 March 09:00 CET: 08:00 UTC, not 07:00.
        (
            "Europe/Berlin",
            dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
            dt.datetime(2026, 3, 27, 8, 0, tzinfo=UTC),
        ),
        # Monday 9 March 2026 09:00 EDT; Friday 6 March 09:00 EST is 14:00 UTC, not 13:00.
        (
            "America/New_York",
            dt.datetime(2026, 3, 9, 13, 0, tzinfo=UTC),
            dt.datetime(2026, 3, 6, 14, 0, tzinfo=UTC),
        ),
    ],
)
def test_a_monday_check_in_is_reminded_at_the_same_local_time_on_friday_across_a_dst_change(
    zone: str,
    due_at: dt.datetime,
    remind_at: dt.datetime,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
):
    # Given an owner in ``zone`` with the default lead of one working day and a check-in due Monday 09:00
    channel = _channel(next_due_at=due_at, time_zone=zone)

    # When the sweep runs a minute before the Friday reminder time, and at it
    early = _remind(remind_at - dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    on_time = _remind(remind_at, django_capture_on_commit_callbacks)

    # Then the owner is reminded once, on Friday at 09:00 local time
    assert (early, on_time) == (0, 1)
    assert [m.to for m in mail.outbox] == [[channel.owner.email]]
    assert OutboxMessage.objects.get(recipient=channel.owner).created_at == remind_at


def test_the_reminder_is_told_in_app_with_the_stakeholder_channel_and_local_due_time(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an owner in New York with a meeting due at 14:00 UTC
    channel = _channel(next_due_at=dt.datetime(2026, 3, 10, 14, 0, tzinfo=UTC), time_zone="America/New_York")

    # When the reminder sweep runs twice
    _remind(AS_OF, django_capture_on_commit_callbacks)
    _remind(AS_OF + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)

    # Then one in-app notification names the stakeholder, the channel and 10:00 New York time,
    # and links to the brief before that meeting
    occurrence = Occurrence.objects.get(channel=channel)
    notification = Notification.objects.get(
        recipient=channel.owner, event=NotificationEvent.CHECK_IN_REMINDER
    )
    assert notification.key == f"occurrence:{occurrence.pk}"
    assert str(channel.stakeholder) in notification.message
    assert channel.get_kind_display() in notification.message
    assert "10:00 (America/New_York)" in notification.message
    assert notification.url == reverse("channel_brief", kwargs={"pk": channel.pk})
    assert notification.engagement_id == channel.engagement_id


def test_an_owner_who_turned_reminder_email_off_is_told_in_app_only_and_never_requeued(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an owner who wants reminders in-app but not by email, with a check-in due in three hours
    channel = _channel(next_due_at=AS_OF + dt.timedelta(hours=3))
    notification_preference_save(user=channel.owner, check_in_reminder_email=False)

    # When the reminder sweep runs, twice, and the reconciler long after
    claimed = _remind(AS_OF, django_capture_on_commit_callbacks)
    again = _remind(AS_OF + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        requeued = outbox_reconcile(as_of=AS_OF + dt.timedelta(hours=2, minutes=30))

    # Then the reminder is claimed and shown in-app, and no mail is ever sent
    assert (claimed, again, requeued) == (1, 0, 0)
    assert not OutboxMessage.objects.exists()
    assert Notification.objects.filter(
        recipient=channel.owner, event=NotificationEvent.CHECK_IN_REMINDER
    ).exists()
    assert mail.outbox == []


def test_a_missed_check_in_is_told_to_its_owner_once():
    # Given a channel whose grace period ran out
    due_at = dt.datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    channel = _channel(next_due_at=due_at, grace_period=dt.timedelta(days=2))
    scheduling.occurrences_dispatch(as_of=due_at)

    # When the missed sweep runs twice
    scheduling.occurrences_mark_missed(as_of=AS_OF)
    scheduling.occurrences_mark_missed(as_of=AS_OF + dt.timedelta(minutes=1))

    # Then the owner has one notification of it, linking to the check-in form
    occurrence = Occurrence.objects.get(channel=channel, due_at=due_at)
    [notification] = Notification.objects.filter(event=NotificationEvent.CHECK_IN_MISSED)
    assert (notification.recipient_id, notification.key) == (channel.owner_id, f"occurrence:{occurrence.pk}")
    assert "missed" in notification.message and channel.title in notification.message
    assert notification.email is True
    assert notification.created_at == AS_OF


@pytest.mark.parametrize(
    ("kind", "title", "named"),
    [
        ("steering_committee", "Steering committee", "Steering committee with {person} due"),
        ("steering_committee", "Monthly steering committee", "Monthly steering committee with {person} due"),
        ("call", "Monthly check-in call", "Monthly check-in call with {person} due"),
        ("meeting", "Sponsor one-to-one", "Meeting with {person} (Sponsor one-to-one) due"),
        ("call", "Recall readiness review", "Call with {person} (Recall readiness review) due"),
    ],
    ids=[
        "title is the kind",
        "title ends in the kind",
        "title names the kind",
        "title apart",
        "kind inside a word",
    ],
)
def test_a_missed_check_in_names_its_kind_once_and_its_day_unpadded(kind: str, title: str, named: str):
    # Given a channel whose meeting on Tuesday 3 March was not held within its grace period
    due_at = dt.datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    channel = _channel(next_due_at=due_at, grace_period=dt.timedelta(days=2), kind=kind, title=title)
    scheduling.occurrences_dispatch(as_of=due_at)

    # When the missed sweep tells its owner
    scheduling.occurrences_mark_missed(as_of=AS_OF)

    # Then the notice says the kind once, whether in the title or before the person, and "3 Mar"
    [notification] = Notification.objects.filter(event=NotificationEvent.CHECK_IN_MISSED)
    person = channel.stakeholder
    assert notification.message == f"{named.format(person=person)} Tue 3 Mar 2026, 09:00 (UTC) was missed."


def _sweep_queries(sweep: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        sweep()
    return len(queries)


@pytest.mark.parametrize("owners", [2, 20])
def test_the_reminder_sweep_runs_a_fixed_number_of_queries(owners: int):
    # Given check-ins coming due in three hours, each with an owner of its own, dispatched
    for _ in range(owners):
        _channel(next_due_at=AS_OF + dt.timedelta(hours=3))
    scheduling.occurrences_dispatch(as_of=AS_OF)

    # When the reminder sweep runs (the send tasks wait for a commit that never comes here)
    queries = _sweep_queries(lambda: scheduling.occurrences_send_reminders(as_of=AS_OF))

    # Then a savepoint, the locked read, the owners, the notifications (the claim), the briefs
    # (roles, what each side owes, obligations, RAID items: no check-in on record), the outbox and the
    # release did it
    assert (
        OutboxMessage.objects.filter(created_at=AS_OF, kind=OutboxMessage.Kind.CHECK_IN_REMINDER).count()
        == owners
    )
    assert queries == 11


@pytest.mark.parametrize("owners", [2, 20])
def test_the_missed_sweep_runs_a_fixed_number_of_queries(owners: int):
    # Given check-ins whose grace period ran out, each with an owner of its own
    due_at = dt.datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    for _ in range(owners):
        _channel(next_due_at=due_at, grace_period=dt.timedelta(days=2))
    scheduling.occurrences_dispatch(as_of=due_at)

    # When the missed sweep runs
    queries = _sweep_queries(lambda: scheduling.occurrences_mark_missed(as_of=AS_OF))

    # Then the same queries did it whatever the number: mark, read, owners, notify, move the channels on
    assert Notification.objects.filter(event=NotificationEvent.CHECK_IN_MISSED).count() == owners
    assert queries == MISSED_SWEEP_QUERIES


@pytest.mark.parametrize("lost", [2, 20])
def test_requeueing_lost_reminders_runs_a_fixed_number_of_queries(
    lost: int, django_capture_on_commit_callbacks: Any
):
    # Given reminders written three hours ago and never delivered
    for _ in range(lost):
        _channel(next_due_at=AS_OF + dt.timedelta(hours=10))
    scheduling.occurrences_dispatch(as_of=AS_OF)
    with django_capture_on_commit_callbacks(execute=False):
        scheduling.occurrences_send_reminders(as_of=AS_OF - dt.timedelta(hours=3))

    # When the reconciler runs (the send tasks wait for a commit that never comes here)
    queries = _sweep_queries(lambda: outbox_reconcile(as_of=AS_OF))

    # Then a savepoint, the locked read, the claim and the release did it
    assert OutboxMessage.objects.filter(enqueued_at=AS_OF).count() == lost
    assert queries == 4


# Four weeks in Berlin across the end of March: the clocks go forward on Sunday 29 March 2026,
# and Good Friday (3 April) and Easter Monday (6 April) are public holidays in Germany.
SIMULATION_START = dt.datetime(2026, 3, 16, 0, 0, tzinfo=UTC)
SIMULATION_DAYS = 28


def _berlin_channel(*, rule: str, grace: dt.timedelta, skip_non_working_days: bool = False) -> Channel:
    role, lead = _role(time_zone="Europe/Berlin")
    if skip_non_working_days:
        role.engagement.__class__.objects.filter(pk=role.engagement_id).update(
            skip_non_working_days=True, country="DE"
        )
        role.engagement.refresh_from_db()
    channel = factories.make_channel(
        role=role,
        owner=lead,
        recurrence_rule=rule,
        starts_on=dt.date(2026, 1, 5),
        local_time=dt.time(9, 0),
        grace_period=grace,
    )
    # Planned as the simulation begins, as channel_create would have from that moment.
    Channel.objects.filter(pk=channel.pk).update(
        next_due_at=scheduling.channel_compute_next_due(channel=channel, after=SIMULATION_START)
    )
    return channel


def _dispatch_hourly(*, days: int) -> None:
    for hour in range(days * 24 + 1):
        scheduling.occurrences_sweep(as_of=SIMULATION_START + dt.timedelta(hours=hour))


def _planned(channel: Channel, *, days: int) -> list[dt.datetime]:
    """Every due time the rule plans in the window, walked from the rule itself."""
    planned, after = [], SIMULATION_START
    while (due := scheduling.channel_compute_next_due(channel=channel, after=after)) is not None:
        if due >= SIMULATION_START + dt.timedelta(days=days):
            break
        planned.append(due)
        after = due
    return planned


def test_every_planned_meeting_becomes_an_occurrence_under_an_hourly_dispatcher():
    # Given channels with no check-ins and the longest grace each cadence allows: daily at
    # 09:00 Berlin with 23 hours (the clock change makes one day 23 hours long), weekly with
    # six days, and weekdays skipping German holidays with 23 hours
    daily = _berlin_channel(rule="FREQ=DAILY", grace=dt.timedelta(hours=23))
    weekly = _berlin_channel(rule="FREQ=WEEKLY;BYDAY=MO", grace=dt.timedelta(days=6))
    working = _berlin_channel(
        rule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", grace=dt.timedelta(hours=23), skip_non_working_days=True
    )

    # When the dispatcher runs every hour for four weeks
    _dispatch_hourly(days=SIMULATION_DAYS)

    # Then each planned meeting has its occurrence, none passed over or cancelled
    for channel, expected in ((daily, 28), (weekly, 4), (working, 18)):
        planned = _planned(channel, days=SIMULATION_DAYS)
        assert len(planned) == expected
        occurrences = Occurrence.objects.filter(
            channel=channel, due_at__lt=planned[-1] + dt.timedelta(seconds=1)
        )
        assert list(occurrences.values_list("due_at", flat=True)) == planned, channel.recurrence
        assert not occurrences.filter(status=Occurrence.Status.CANCELLED).exists()
    # And every one whose grace ran out was missed, so compliance counts all of them as due
    daily_rows = Occurrence.objects.filter(channel=daily)
    assert daily_rows.filter(status=Occurrence.Status.MISSED).count() == 27
    assert not Occurrence.objects.filter(channel=working, due_at__date=dt.date(2026, 4, 3)).exists()


def test_a_check_in_a_day_late_on_a_daily_channel_covers_one_occurrence():
    # Given a daily 09:00 Berlin channel with half a day's grace, dispatched hourly for a day
    # (16 March missed at 21:00) and then not until the next check-in
    channel = _berlin_channel(rule="FREQ=DAILY", grace=dt.timedelta(hours=12))
    _dispatch_hourly(days=1)
    channel.refresh_from_db()
    assert channel.next_due_at == dt.datetime(2026, 3, 17, 8, 0, tzinfo=UTC)

    # When the meeting of 17 March is logged a day late, on the 18th, and the dispatcher runs on
    held_at = dt.datetime(2026, 3, 18, 9, 0, tzinfo=UTC)
    factories.make_check_in(
        engagement=channel.engagement,
        attendees=[channel.stakeholder],
        channel=channel,
        occurred_at=held_at,
        as_of=held_at,
    )
    for hour in range(1, 24 * 2):
        scheduling.occurrences_sweep(as_of=held_at + dt.timedelta(hours=hour))

    # Then it holds the 17 March occurrence, late, and the 18th is still a meeting of its own, missed
    rows = dict(Occurrence.objects.filter(channel=channel).values_list("due_at", "status"))
    days = [dt.datetime(2026, 3, day, 8, 0, tzinfo=UTC) for day in range(16, 20)]
    assert [rows.get(day) for day in days] == [
        Occurrence.Status.MISSED,
        Occurrence.Status.HELD,
        Occurrence.Status.MISSED,
        Occurrence.Status.MISSED,
    ]
    assert Occurrence.objects.get(channel=channel, status=Occurrence.Status.HELD).held_on_time is False
