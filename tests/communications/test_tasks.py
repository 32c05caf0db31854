"""The domain's periodic tasks, run in-process: each takes the current time and calls its sweep.

The mail the sweeps decide on goes through the outbox, whose tasks are
tested in tests/notifications/test_tasks.py; here the send task runs eagerly,
so a sweep's mail lands in Django's locmem outbox.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from pytest_django.fixtures import Settings
from time_machine import TimeMachineFixture

from accounts.models import User
from communications.escalation import at_once_key, digest_key
from communications.models import Channel, FollowUp, Occurrence, SilenceFlag
from communications.scheduling import reminder_key
from communications.tasks import (
    dispatch_occurrences,
    flag_silent_stakeholders,
    legacy_flag_overdue_follow_ups,
    send_daily_digests,
    sweep_overdue_follow_ups,
)
from notifications.models import Notification, NotificationEvent, OutboxMessage
from notifications.services import notification_preference_save
from pmaas.celery import app as celery_app
from stakeholders.models import StakeholderRole
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# Tuesday 10 March 2026, midday.
AS_OF = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
# The next day after the digest time (08:00 in the recipients' default zone, UTC).
NEXT_DAY = AS_OF + dt.timedelta(days=1)


def _channel(*, next_due_at: dt.datetime, grace_period: dt.timedelta = dt.timedelta(days=2)) -> Channel:
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    role = factories.make_role(engagement=engagement)
    channel = factories.make_channel(role=role, owner=lead, grace_period=grace_period)
    Channel.objects.filter(pk=channel.pk).update(next_due_at=next_due_at)
    channel.refresh_from_db()
    return channel


def _reminder_of(channel: Channel) -> OutboxMessage:
    return OutboxMessage.objects.get(idempotency_key=reminder_key(Occurrence.objects.get(channel=channel).pk))


def _overdue_follow_up(*, overdue_for: dt.timedelta) -> tuple[FollowUp, User, User]:
    """An open follow-up of a team member, ``overdue_for`` past due at AS_OF; with its owner and the lead."""
    lead = factories.consultant()
    owner = factories.consultant()
    engagement = factories.make_engagement(lead=lead, members=(owner,))
    follow_up = factories.make_follow_up(engagement=engagement, owner_user=owner, due_at=AS_OF - overdue_for)
    return follow_up, owner, lead


def test_the_dispatcher_task_runs_every_step_at_the_current_time(
    time_machine: TimeMachineFixture, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given it is AS_OF, a channel due in three hours and one whose grace ran out yesterday
    time_machine.move_to(AS_OF, tick=False)
    coming = _channel(next_due_at=AS_OF + dt.timedelta(hours=3))
    lapsed = _channel(next_due_at=AS_OF - dt.timedelta(days=3), grace_period=dt.timedelta(days=2))

    # When the periodic task runs
    with django_capture_on_commit_callbacks(execute=True):
        outcome = dispatch_occurrences.apply().get()

    # Then both got rows, the coming one's owner was reminded and the lapsed one was missed
    assert outcome == {"cancelled": 0, "created": 2, "due": 0, "reminded": 1, "missed": 1}
    assert _reminder_of(coming).status == OutboxMessage.Status.SENT
    assert Occurrence.objects.get(channel=lapsed).status == Occurrence.Status.MISSED
    assert [m.to for m in mail.outbox] == [[coming.owner.email]]
    lapsed.refresh_from_db()
    # Its next meeting, this morning, is still within its grace and owed
    assert lapsed.next_due_at is not None and lapsed.next_due_at > AS_OF - lapsed.grace_period
    # And the silence sweep, now a task of its own, finds nobody gone quiet at the same moment
    assert flag_silent_stakeholders.apply().get() == 0


def test_the_dispatcher_task_twice_creates_and_sends_nothing_more(
    time_machine: TimeMachineFixture, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a channel coming due and the dispatcher already run once
    time_machine.move_to(AS_OF, tick=False)
    _channel(next_due_at=AS_OF + dt.timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_occurrences.apply()

    # When a second beat runs it again
    with django_capture_on_commit_callbacks(execute=True):
        outcome = dispatch_occurrences.apply().get()

    # Then it found nothing to do
    assert outcome == {"cancelled": 0, "created": 0, "due": 0, "reminded": 0, "missed": 0}
    assert Occurrence.objects.count() == 1
    assert OutboxMessage.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_overdue_sweep_task_flags_tells_and_escalates_at_the_current_time(
    time_machine: TimeMachineFixture, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given it is AS_OF, an open follow-up a month overdue, and a lead who wants escalations at once
    time_machine.move_to(AS_OF, tick=False)
    follow_up, owner, lead = _overdue_follow_up(overdue_for=dt.timedelta(days=30))
    notification_preference_save(user=lead, follow_up_escalated_at_once=True)

    # When the periodic task runs
    with django_capture_on_commit_callbacks(execute=True):
        flagged = sweep_overdue_follow_ups.apply().get()

    # Then it flagged the item now, told its owner in the app and escalated it to the lead by mail
    assert flagged == 1
    assert factories.overdue_at_of(follow_up) == AS_OF
    assert Notification.objects.filter(
        recipient=owner,
        event=NotificationEvent.FOLLOW_UP_OVERDUE,
        key=f"follow_up:{follow_up.pk}",
    ).exists()
    escalated = OutboxMessage.objects.get(kind=OutboxMessage.Kind.AT_ONCE)
    assert escalated.idempotency_key == at_once_key(recipient_id=lead.pk, as_of=AS_OF)
    assert escalated.status == OutboxMessage.Status.SENT
    assert [m.to for m in mail.outbox] == [[lead.email]]

    # And a second beat flags, tells and mails nothing more
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_overdue_follow_ups.apply().get() == 0
    assert len(mail.outbox) == 1


def test_the_digest_task_mails_each_digest_once_its_time_has_passed(
    time_machine: TimeMachineFixture, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a follow-up flagged overdue at AS_OF, whose owner's digest comes at 08:00 the next day
    time_machine.move_to(AS_OF, tick=False)
    follow_up, owner, _ = _overdue_follow_up(overdue_for=dt.timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_overdue_follow_ups.apply().get() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert send_daily_digests.apply().get() == 0

    # When the digest task runs the next day, and again
    time_machine.move_to(NEXT_DAY, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        written = send_daily_digests.apply().get()
    with django_capture_on_commit_callbacks(execute=True):
        again = send_daily_digests.apply().get()

    # Then the owner's digest of that day was written and mailed once
    assert (written, again) == (1, 0)
    digest = OutboxMessage.objects.get(kind=OutboxMessage.Kind.OVERDUE_DIGEST)
    assert digest.idempotency_key == digest_key(recipient_id=owner.pk, window="2026-03-11")
    assert digest.about["follow_up_ids"] == [follow_up.pk]
    assert digest.status == OutboxMessage.Status.SENT
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_the_legacy_overdue_task_runs_the_sweep_and_the_digests(
    time_machine: TimeMachineFixture, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a follow-up an hour overdue, and a copy of the previous release's beat task still queued
    time_machine.move_to(AS_OF, tick=False)
    follow_up, owner, _ = _overdue_follow_up(overdue_for=dt.timedelta(hours=1))
    assert (
        celery_app.tasks["communications.flag_overdue_follow_ups"].name == legacy_flag_overdue_follow_ups.name
    )

    # When it runs now, and again the next day
    with django_capture_on_commit_callbacks(execute=True):
        first = legacy_flag_overdue_follow_ups.apply().get()
    time_machine.move_to(NEXT_DAY, tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        second = legacy_flag_overdue_follow_ups.apply().get()

    # Then the first run flagged the item and the second mailed the owner's digest of it, once
    assert (first, second) == (1, 0)
    assert factories.overdue_at_of(follow_up) == AS_OF
    digest = OutboxMessage.objects.get(kind=OutboxMessage.Kind.OVERDUE_DIGEST)
    assert digest.about["follow_up_ids"] == [follow_up.pk]
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_the_silence_task_flags_a_sponsor_gone_quiet_at_the_current_time(time_machine: TimeMachineFixture):
    # Given a sponsor with a weekly meeting from Tuesday 6 January, last met then
    first_meeting = dt.datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
    time_machine.move_to(first_meeting - dt.timedelta(days=1), tick=False)
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    role = factories.make_role(
        engagement=engagement, kind=StakeholderRole.Kind.SPONSOR, relationship_owner=lead
    )
    factories.make_channel(role=role, owner=lead)
    time_machine.move_to(first_meeting, tick=False)
    factories.make_check_in(
        engagement=engagement, attendees=[role.stakeholder], actor=lead, occurred_at=first_meeting
    )

    # When the periodic task runs inside one and a half weeks, then just after
    time_machine.move_to(first_meeting + dt.timedelta(days=10), tick=False)
    inside = flag_silent_stakeholders.apply().get()
    time_machine.move_to(first_meeting + dt.timedelta(days=10, hours=12, minutes=1), tick=False)
    after = flag_silent_stakeholders.apply().get()

    # Then only the second run flagged the sponsor
    assert (inside, after) == (0, 1)
    assert list(SilenceFlag.objects.values_list("stakeholder_id", flat=True)) == [role.stakeholder_id]


@pytest.mark.parametrize(
    ("name", "task", "interval"),
    [
        ("sweep-overdue-follow-ups", "communications.sweep_overdue_follow_ups", "FOLLOW_UP_SCAN_SECONDS"),
        ("send-daily-digests", "communications.send_daily_digests", "FOLLOW_UP_SCAN_SECONDS"),
        ("dispatch-occurrences", "communications.dispatch_occurrences", "OCCURRENCE_DISPATCH_SECONDS"),
        ("flag-silent-stakeholders", "communications.flag_silent_stakeholders", "SILENCE_SCAN_SECONDS"),
    ],
)
def test_the_beat_schedule_runs_each_sweep_with_an_expiry_under_its_interval(
    settings: Settings, name: str, task: str, interval: str
):
    # Given the settings' beat schedule
    entry = settings.CELERY_BEAT_SCHEDULE[name]

    # When its interval and expiry are compared
    # Then it runs the named task, expires before the next run, at the interval its setting gives
    assert entry["task"] == task
    assert entry["schedule"] == getattr(settings, interval)
    assert 0 < entry["options"]["expires"] < entry["schedule"]
    assert entry["task"] in celery_app.tasks
