"""The occurrence tasks, run in-process: the dispatcher and the reminder sender with its retries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, cast

import pytest
from django.core import mail
from pytest_django.fixtures import Settings
from time_machine import TimeMachineFixture

from communications.escalation import NOTICE_REQUEUE_AFTER
from communications.models import Channel, FollowUpNotice, Occurrence
from communications.scheduling import REMINDER_REQUEUE_AFTER
from communications.tasks import (
    REMINDER_BACKOFF_MAX_SECONDS,
    REMINDER_BACKOFF_SECONDS,
    REMINDER_MAX_RETRIES,
    dispatch_occurrences,
    reconcile_outbox,
    send_occurrence_reminder,
)
from pmaas.celery import app as celery_app
from tests import factories
from tests.flaky_mail import FlakyBackend

pytestmark = pytest.mark.django_db

UTC = dt.UTC
AS_OF = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    # Tasks enqueued by the sweep run in-process, so their mail lands in the locmem outbox.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def flaky_mail(settings: Settings) -> type[FlakyBackend]:
    settings.EMAIL_BACKEND = "tests.flaky_mail.FlakyBackend"
    FlakyBackend.fail_next(0)
    return FlakyBackend


def _channel(*, next_due_at: dt.datetime, grace_period: dt.timedelta = dt.timedelta(days=2)) -> Channel:
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    role = factories.make_role(engagement=engagement)
    channel = factories.make_channel(role=role, owner=lead, grace_period=grace_period)
    Channel.objects.filter(pk=channel.pk).update(next_due_at=next_due_at)
    channel.refresh_from_db()
    return channel


def _claimed_occurrence() -> Occurrence:
    due_at = AS_OF + dt.timedelta(hours=3)
    channel = _channel(next_due_at=due_at)
    return Occurrence.objects.create(channel=channel, due_at=due_at, reminder_sent_at=AS_OF)


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
    assert outcome == {"cancelled": 0, "created": 2, "due": 0, "reminded": 1, "missed": 1, "silent": 0}
    assert Occurrence.objects.get(channel=coming).reminder_delivered_at is not None
    assert Occurrence.objects.get(channel=lapsed).status == Occurrence.Status.MISSED
    assert [m.to for m in mail.outbox] == [[coming.owner.email]]
    lapsed.refresh_from_db()
    assert lapsed.next_due_at is not None and lapsed.next_due_at > AS_OF


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
    assert outcome == {"cancelled": 0, "created": 0, "due": 0, "reminded": 0, "missed": 0, "silent": 0}
    assert Occurrence.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_reminder_task_retries_until_the_mail_server_accepts(flaky_mail: type[FlakyBackend]):
    # Given a claimed reminder and a mail server that refuses twice
    occurrence = _claimed_occurrence()
    flaky_mail.fail_next(2)

    # When the send task runs
    result = send_occurrence_reminder.apply(args=(occurrence.pk,))

    # Then it retried, the third attempt delivered one mail and the row says so
    assert result.successful()
    assert flaky_mail.refused == 2
    assert len(mail.outbox) == 1
    occurrence.refresh_from_db()
    assert occurrence.reminder_attempts == 3
    assert occurrence.reminder_error == ""
    assert occurrence.reminder_delivered_at is not None


def test_the_reminder_task_gives_up_after_its_retries_with_the_error_recorded(
    flaky_mail: type[FlakyBackend],
):
    # Given a claimed reminder and a mail server that never accepts
    occurrence = _claimed_occurrence()
    flaky_mail.fail_next(10_000)

    # When the send task runs out of retries
    result = send_occurrence_reminder.apply(args=(occurrence.pk,))

    # Then it failed loudly, every attempt and the last error are on the row for the admin
    assert result.failed()
    assert mail.outbox == []
    occurrence.refresh_from_db()
    assert occurrence.reminder_attempts == REMINDER_MAX_RETRIES + 1
    assert "SMTPServerDisconnected" in occurrence.reminder_error
    assert occurrence.reminder_delivered_at is None


def test_a_delivered_reminder_is_not_sent_again_by_a_redelivered_task(flaky_mail: type[FlakyBackend]):
    # Given a reminder the task has delivered
    occurrence = _claimed_occurrence()
    send_occurrence_reminder.apply(args=(occurrence.pk,))

    # When the broker hands the same task out again
    result = send_occurrence_reminder.apply(args=(occurrence.pk,))

    # Then it sends nothing more
    assert result.get() is False
    assert len(mail.outbox) == 1


def test_the_beat_schedule_runs_the_dispatcher_with_an_expiry_under_its_interval(settings: Settings):
    # Given the settings' beat schedule
    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-occurrences"]

    # When its interval and expiry are compared
    # Then it runs the named task, expires before the next run, and defaults to every minute
    assert entry["task"] == "communications.dispatch_occurrences"
    assert entry["schedule"] == settings.OCCURRENCE_DISPATCH_SECONDS
    assert 0 < entry["options"]["expires"] < entry["schedule"]
    assert entry["task"] in celery_app.tasks


def test_reminder_retries_never_wait_longer_than_a_quarter_of_the_visibility_timeout():
    # Given the send task's backoff cap and the Redis default visibility timeout
    visibility_timeout = 3600

    # When the longest countdown is compared with it
    # Then a retry is never published further ahead than a quarter of it
    assert cast(Any, send_occurrence_reminder).retry_backoff_max == REMINDER_BACKOFF_MAX_SECONDS
    assert visibility_timeout / 4 >= REMINDER_BACKOFF_MAX_SECONDS


def test_a_reminder_is_requeued_only_after_its_whole_retry_chain_could_have_ended():
    # Given the send task's backoff: doubling from its base, capped, for every retry
    longest_chain = sum(
        min(REMINDER_BACKOFF_SECONDS * 2**attempt, REMINDER_BACKOFF_MAX_SECONDS)
        for attempt in range(REMINDER_MAX_RETRIES)
    )

    # When it is compared with the age at which a claimed, undelivered reminder or notice is requeued
    # Then the requeue never overlaps a retry still waiting
    assert dt.timedelta(seconds=longest_chain) < REMINDER_REQUEUE_AFTER
    assert dt.timedelta(seconds=longest_chain) < NOTICE_REQUEUE_AFTER


def test_the_dispatcher_leaves_lost_reminders_to_the_reconciler(
    time_machine: TimeMachineFixture, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a reminder claimed three hours ago whose send task was lost, and a notice never enqueued
    time_machine.move_to(AS_OF, tick=False)
    occurrence = _claimed_occurrence()
    Occurrence.objects.filter(pk=occurrence.pk).update(reminder_sent_at=AS_OF - dt.timedelta(hours=3))
    FollowUpNotice.objects.create(
        recipient=factories.consultant(), kind=FollowUpNotice.Kind.ESCALATION, window_key="1:1"
    )

    # When the dispatcher runs, then the reconciler
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_occurrences.apply()
    sent_by_dispatcher = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = reconcile_outbox.apply().get()

    # Then only the reconciler sent them, each once
    assert sent_by_dispatcher == 0
    assert outcome == {"reminders": 1, "notices": 1}
    assert len(mail.outbox) == 2
    assert FollowUpNotice.objects.undelivered().count() == 0


def test_the_beat_schedule_runs_the_reconciler_with_an_expiry_under_its_interval(settings: Settings):
    # Given the settings' beat schedule
    entry = settings.CELERY_BEAT_SCHEDULE["reconcile-outbox"]

    # When its interval and expiry are compared
    # Then it runs the named task and expires before the next run
    assert entry["task"] == "communications.reconcile_outbox"
    assert entry["schedule"] == settings.OUTBOX_RECONCILE_SECONDS
    assert 0 < entry["options"]["expires"] < entry["schedule"]
    assert entry["task"] in celery_app.tasks
