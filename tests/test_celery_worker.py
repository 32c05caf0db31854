"""The periodic sweeps on a real worker and a real broker, against the test database."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from functools import partial
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from communications.models import Channel, FollowUp, Occurrence
from communications.tasks import dispatch_occurrences, sweep_overdue_follow_ups
from tests import factories
from tests.celery_fixtures import RunningWorker, queued_messages

pytestmark = [
    pytest.mark.celery_worker,
    # With --dist loadgroup every test here runs in one xdist process, so one worker serves them all.
    pytest.mark.xdist_group("celery_worker"),
]


class _Rollback(Exception):
    pass


def _enqueue_on_commit(**options: Any) -> None:
    # What the task's apply_async_on_commit() does, spelt out for the type checker.
    transaction.on_commit(partial(sweep_overdue_follow_ups.apply_async, **options))


def _team_follow_ups(*due_in_hours: float) -> list[FollowUp]:
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    now = timezone.now()
    return [
        factories.make_follow_up(
            engagement=engagement, owner_user=lead, due_at=now + dt.timedelta(hours=hours)
        )
        for hours in due_in_hours
    ]


def _snapshot() -> dict[int, Any]:
    return {row["id"]: row for row in FollowUp.objects.values()}


def test_worker_flags_exactly_the_overdue_follow_ups(celery_worker: RunningWorker, transactional_db: None):
    # Given two open follow-ups past due, one due tomorrow and one done although past due
    late_a, late_b, tomorrow, done = _team_follow_ups(-1, -30, 24, -2)
    FollowUp.objects.filter(pk=done.pk).update(status=FollowUp.Status.DONE, completed_at=timezone.now())

    # When the sweep is enqueued once the transaction commits
    task_id = str(uuid.uuid4())
    with transaction.atomic():
        _enqueue_on_commit(queue=celery_worker.queue, task_id=task_id)

    # Then the worker stamps the two overdue ones, in one statement, and nothing else
    # (waiting for the whole sweep: one still escalating when the test database is flushed
    # can deadlock with the flush on PostgreSQL)
    assert celery_worker.wait_for_task(task_id) == "2"
    flagged = set(FollowUp.objects.flagged().values_list("pk", flat=True))
    assert flagged == {late_a.pk, late_b.pk}
    assert factories.overdue_at_of(tomorrow) is None
    assert factories.overdue_at_of(done) is None


def test_running_the_sweep_twice_keeps_the_first_overdue_time(
    celery_worker: RunningWorker, transactional_db: None
):
    # Given an overdue follow-up that the worker has already flagged
    _team_follow_ups(-3, 48)
    first = str(uuid.uuid4())
    with transaction.atomic():
        _enqueue_on_commit(queue=celery_worker.queue, task_id=first)
    assert celery_worker.wait_for_task(first) == "1"
    before = _snapshot()

    # When the sweep runs again
    second = str(uuid.uuid4())
    with transaction.atomic():
        _enqueue_on_commit(queue=celery_worker.queue, task_id=second)

    # Then it flags nothing and changes no row: the first overdue time stays
    assert celery_worker.wait_for_task(second) == "0"
    assert _snapshot() == before


def test_a_sweep_enqueued_in_a_rolled_back_transaction_is_never_published(
    idle_queue: str, transactional_db: None
):
    # Given a transaction that enqueues the sweep on commit
    # When the transaction rolls back
    with contextlib.suppress(_Rollback), transaction.atomic():
        _enqueue_on_commit(queue=idle_queue)
        raise _Rollback

    # Then nothing reached the broker
    assert queued_messages(idle_queue) == 0

    # And the same call in a transaction that commits does reach it
    with transaction.atomic():
        _enqueue_on_commit(queue=idle_queue)
    assert queued_messages(idle_queue) == 1


def test_worker_dispatches_each_coming_occurrence_once(celery_worker: RunningWorker, transactional_db: None):
    # Given two channels due in 36 hours: inside the dispatch horizon, outside the reminder lead time
    lead = factories.consultant()
    role = factories.make_role(engagement=factories.make_engagement(lead=lead))
    channels = [factories.make_channel(role=role, owner=lead, title=f"Channel {n}") for n in range(2)]
    due_at = timezone.now() + dt.timedelta(hours=36)
    Channel.objects.filter(pk__in=[c.pk for c in channels]).update(next_due_at=due_at)

    # When the dispatcher runs on the worker, and then runs again
    outcomes = []
    for _ in range(2):
        task_id = str(uuid.uuid4())
        with transaction.atomic():
            transaction.on_commit(
                partial(dispatch_occurrences.apply_async, queue=celery_worker.queue, task_id=task_id)
            )
        outcomes.append(celery_worker.wait_for_task(task_id))

    # Then the first run created one upcoming occurrence per channel and the second nothing
    assert "'created': 2" in outcomes[0]
    assert "'created': 0" in outcomes[1]
    rows = Occurrence.objects.order_by("channel_id")
    assert [(o.channel_id, o.due_at, o.status) for o in rows] == [
        (c.pk, due_at, Occurrence.Status.UPCOMING) for c in channels
    ]
