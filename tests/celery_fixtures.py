"""A real Celery worker on the configured broker, sharing the test database.

The worker runs in a subprocess with the test settings, the broker from the
settings (Redis in CI, the filesystem broker locally) and a DATABASE_URL that
points at pytest-django's test database, so what a test commits the worker
sees, and what the worker writes the test can read. Tests that use it need
``transactional_db``: rows inside the usual test transaction are invisible to
another process.

Each session consumes its own queue, so a worker of ``./run`` or of another
test run on the same broker never takes these tasks, and this worker never
takes theirs.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connections
from kombu import Exchange, Queue

from pmaas.celery import app as celery_app

READY_DEADLINE = 30.0
# A worker takes 5-8 s to stop after SIGTERM on the filesystem broker.
STOP_DEADLINE = 15.0
TASK_DEADLINE = 20.0


def wait_until(condition: Callable[[], Any], *, deadline: float = TASK_DEADLINE, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy, or fail after ``deadline`` seconds."""
    give_up = time.monotonic() + deadline
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > give_up:
            pytest.fail(f"gave up after {deadline:.0f} s waiting for {what}")
        time.sleep(0.05)


def database_url_for_subprocess() -> str:
    """The URL of the database this test process uses, for a subprocess."""
    db = connections["default"].settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RuntimeError("a worker subprocess needs the SQLite test database in a file")
        return f"sqlite:///{Path(name).resolve()}"
    if db["ENGINE"] == "django.db.backends.postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "localhost"
        port = f":{db['PORT']}" if db["PORT"] else ""
        return f"postgres://{credentials}@{host}{port}/{quote(db['NAME'], safe='')}"
    raise RuntimeError(f"no worker support for {db['ENGINE']}")


def queued_messages(queue: str) -> int:
    """How many messages wait in ``queue`` on the broker (none are consumed here)."""
    with celery_app.connection_for_write() as connection:
        channel: Any = connection.default_channel
        return int(channel.queue_declare(queue=queue).message_count)


def forget_queue(queue: str) -> None:
    """Drop a test queue's messages and its binding from the broker."""
    with celery_app.connection_for_write() as connection:
        bound = Queue(queue, Exchange(queue), routing_key=queue)(connection.default_channel)
        bound.declare()
        bound.purge()
        bound.delete()
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # The filesystem transport keeps an exchange file per queue name even when empty.
        control = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"])
        (control / f"{queue}.exchange").unlink(missing_ok=True)


@dataclasses.dataclass
class RunningWorker:
    queue: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_task(self, task_id: str, *, deadline: float = TASK_DEADLINE) -> str:
        """Wait until the worker logs the outcome of ``task_id``; return the task's return value."""
        pattern = re.compile(
            rf"\[{re.escape(task_id)}\] (succeeded in [\d.]+s: (?P<value>.*)|raised .*)$", re.M
        )

        def outcome() -> re.Match[str] | None:
            self.check_alive()
            return pattern.search(self.log())

        match = wait_until(outcome, deadline=deadline, what=f"task {task_id} on the worker")
        if match.group("value") is None:
            pytest.fail(f"task {task_id} failed on the worker:\n{self.log()}")
        return str(match.group("value")).strip()

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {self.process.returncode}:\n{self.log()}")

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process has not stopped within STOP_DEADLINE."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def celery_env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a Celery process started by a test: the test run's database and broker."""
    return {
        **os.environ,
        **(extra_env or {}),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": database_url_for_subprocess(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "PMAAS_VAR_DIR": str(settings.VAR_DIR),
        "PYTHONUNBUFFERED": "1",
    }


def start_worker(
    *, queue: str, log_path: Path, extra_env: dict[str, str] | None = None, extra_config: tuple[str, ...] = ()
) -> RunningWorker:
    """Start a worker on ``queue``.

    ``extra_env`` adds to its environment, ``extra_config`` to its Celery settings (``key=value``).
    """
    env = celery_env(extra_env)
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "pmaas",
        "worker",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--queues",
        queue,
        "--hostname",
        f"{queue}@%h",
        # Nothing to coordinate with: start faster, stop sooner.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        # No remote control either: its broadcast queue would outlive the worker in the broker.
        "--",
        "worker.enable_remote_control=false",
        *extra_config,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    worker = RunningWorker(queue=queue, process=process, log_path=log_path)

    def ready() -> bool:
        worker.check_alive()
        return " ready." in worker.log()

    try:
        wait_until(ready, deadline=READY_DEADLINE, what="the Celery worker to be ready")
    except BaseException:
        worker.stop()
        raise
    return worker


@pytest.fixture(scope="session")
def celery_worker(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningWorker]:
    """One real worker per test session, on a queue of its own; stopped before the test database goes."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    worker = start_worker(queue=queue, log_path=tmp_path_factory.mktemp("celery") / "worker.log")
    try:
        yield worker
    finally:
        worker.stop()
        forget_queue(queue)


@pytest.fixture
def idle_queue() -> Iterator[str]:
    """A queue on the real broker that nobody consumes, to see exactly what was published."""
    queue = f"test-idle-{uuid.uuid4().hex[:12]}"
    yield queue
    forget_queue(queue)
