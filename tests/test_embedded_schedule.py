"""The embedded default runs the same schedule: the project's beat, on the broker of the run, does its work.

CI runs the suite on PostgreSQL with Redis and on SQLite with the filesystem
broker (the embedded default), so the real-beat test below covers both.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from communications.models import Channel, FollowUp, Occurrence
from tests import factories
from tests.celery_fixtures import (
    RunningWorker,
    celery_env,
    forget_queue,
    start_worker,
    stop_process,
    wait_until,
)
from tests.fresh_process import json_from_fresh_process

# The shortest interval pmaas/settings.py accepts for each beat entry, so the test waits as little as it can.
FAST_SCHEDULE = {
    "FOLLOW_UP_SCAN_SECONDS": "10",
    "OCCURRENCE_DISPATCH_SECONDS": "10",
    "SILENCE_SCAN_SECONDS": "10",
    "OUTBOX_RECONCILE_SECONDS": "10",
    "SPONSOR_UPDATE_SCAN_SECONDS": "10",
    "HEALTH_SCAN_SECONDS": "10",
    "ROLLUP_SCAN_SECONDS": "10",
}
# Beat sends each entry one interval after it starts; the worker then needs a few seconds more.
BEAT_DEADLINE = 60.0
ENTRIES = {
    "sweep-overdue-follow-ups": "communications.sweep_overdue_follow_ups",
    "send-daily-digests": "communications.send_daily_digests",
    "dispatch-occurrences": "communications.dispatch_occurrences",
    "flag-silent-stakeholders": "communications.flag_silent_stakeholders",
    "flag-raid-reviews": "communications.flag_raid_reviews",
    "reconcile-outbox": "notifications.reconcile_outbox",
    "send-sponsor-updates": "sponsor_updates.send_sponsor_updates",
    "recompute-engagement-health": "communications.recompute_engagement_health",
    "refresh-weekly-rollups": "communications.refresh_weekly_rollups",
}

_PRINT_SCHEDULE = """
import json
import django
django.setup()
from django.conf import settings
from pmaas.celery import app
app.loader.import_default_modules()
print(json.dumps({
    "schedule": {
        name: {
            "task": entry["task"],
            "every": float(entry["schedule"]),
            "expires": entry["options"]["expires"],
        }
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
    },
    "registered": sorted(
        name
        for name in app.tasks
        if name.startswith(("communications.", "notifications.", "sponsor_updates."))
    ),
}))
"""


def _schedule_under(env: dict[str, str], var_dir: Path) -> dict[str, Any]:
    return json_from_fresh_process(_PRINT_SCHEDULE, var_dir=var_dir, env=env)


def test_the_beat_schedule_does_not_depend_on_the_broker(tmp_path):
    # Given the settings of the embedded default (SQLite, filesystem broker)
    # and of production (PostgreSQL, Redis)
    embedded = _schedule_under({}, tmp_path / "embedded")
    production = _schedule_under(
        {
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/pmaas",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        },
        tmp_path / "production",
    )

    # Then both run the same entries, with the same tasks, intervals and expiry
    assert embedded["schedule"] == production["schedule"]
    assert {name: entry["task"] for name, entry in embedded["schedule"].items()} == ENTRIES
    # And every task named is one the worker knows, and each copy expires before the next is sent
    for entry in embedded["schedule"].values():
        assert entry["task"] in embedded["registered"]
        assert 0 < entry["expires"] < entry["every"]


def test_fast_intervals_from_the_environment_reach_every_entry(tmp_path):
    fast = _schedule_under(FAST_SCHEDULE, tmp_path)

    assert {name: entry["every"] for name, entry in fast["schedule"].items()} == dict.fromkeys(ENTRIES, 10.0)


class RunningBeat:
    def __init__(self, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process = process
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"celery beat exited with {self.process.returncode}:\n{self.log()}")

    def stop(self) -> None:
        stop_process(self.process)


def _start_beat(*, queue: str, tmp_path: Path) -> RunningBeat:
    """The project's beat as the Procfile starts it, publishing to ``queue`` on the test run's broker."""
    env = celery_env(FAST_SCHEDULE)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "pmaas",
        "beat",
        "--loglevel",
        "INFO",
        "--schedule",
        str(tmp_path / "celerybeat-schedule"),
        # Another beat or worker on the same broker never sees these messages, nor this beat theirs.
        "--",
        f"task.default_queue={queue}",
    ]
    log_path = tmp_path / "beat.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    return RunningBeat(process, log_path)


@pytest.fixture
def beat_and_worker(transactional_db: None, tmp_path: Path) -> Iterator[tuple[RunningBeat, RunningWorker]]:
    queue = f"test-beat-{uuid.uuid4().hex[:12]}"
    worker = start_worker(
        queue=queue,
        log_path=tmp_path / "worker.log",
        extra_env=FAST_SCHEDULE,
        # What the sweeps enqueue (the outbox's send tasks) stays on this queue too.
        extra_config=(f"task.default_queue={queue}",),
    )
    beat = None
    try:
        beat = _start_beat(queue=queue, tmp_path=tmp_path)
        yield beat, worker
    finally:
        if beat is not None:
            beat.stop()
        worker.stop()
        forget_queue(queue)


@pytest.mark.celery_worker
def test_a_real_beat_runs_every_entry_of_the_projects_schedule(beat_and_worker):
    beat, worker = beat_and_worker
    # Given an active channel due an hour ago with no occurrence yet, and an open follow-up past due
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    channel = factories.make_channel(role=factories.make_role(engagement=engagement), owner=lead)
    due_at = (timezone.now() - dt.timedelta(hours=1)).replace(microsecond=0)
    Channel.objects.filter(pk=channel.pk).update(next_due_at=due_at)
    late = factories.make_follow_up(
        engagement=engagement, owner_user=lead, due_at=timezone.now() - dt.timedelta(hours=2)
    )

    def alive() -> None:
        beat.check_alive()
        worker.check_alive()

    # When beat and the worker run on their own, then the dispatcher creates the channel's occurrence
    def occurrence_created() -> bool:
        alive()
        return Occurrence.objects.filter(channel=channel, due_at=due_at).exists()

    wait_until(occurrence_created, deadline=BEAT_DEADLINE, what="beat's dispatcher to create the occurrence")

    # And the overdue scan flags the follow-up
    def follow_up_flagged() -> bool:
        alive()
        return FollowUp.objects.filter(pk=late.pk).flagged().exists()

    wait_until(follow_up_flagged, deadline=BEAT_DEADLINE, what="beat's overdue scan to flag the follow-up")

    # And beat sent every entry of the schedule, each taken by the worker on this run's broker
    def every_entry_received() -> bool:
        alive()
        beat_log, worker_log = beat.log(), worker.log()
        return all(
            f"Sending due task {name} ({task})" in beat_log and f"Task {task}[" in worker_log
            for name, task in ENTRIES.items()
        )

    wait_until(every_entry_received, deadline=BEAT_DEADLINE, what="every beat entry on the worker")
