"""Speed of sponsor updates: render 10,000 and hand them to a local SMTP server with two Celery workers.

Not a test: a measurement to run by hand and record in docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_updates \\
    CELERY_BROKER_URL=redis://127.0.0.1:6379/11 .venv/bin/python bench/sponsor_updates.py
    ... bench/sponsor_updates.py --count 1000          # a quick check
    ... bench/sponsor_updates.py --pool prefork --workers 1 --concurrency 2   # the Procfile's worker

PostgreSQL and Redis only, each one to throw away: the script creates and
migrates the database (refusing one that holds tables, and the suite's
``test``), refuses a Redis database that holds keys, and drops and empties
both at the end unless ``--keep`` is given. Everything binds 127.0.0.1.

What it does:

1. loads the demo portfolio (``demo.portfolio.demo_load``) and adds sponsors
   to its sending engagements until ``--count`` subscriptions are due, each
   subscribed as of eight days ago (so its Monday 08:00 local has passed);
2. starts an aiosmtpd server on a free loopback port in a process of its
   own, which counts messages and their distinct Message-IDs;
3. starts the Celery workers (by default two worker processes, solo pool,
   log level INFO as in the Procfile) on that broker, mailing that server;
4. runs the sweep as beat's task does (``sponsor_updates.services.updates_sweep``)
   in this process: it renders each update and writes it to the outbox in
   batches, and each batch's send tasks go to the broker as it commits;
5. waits until the server holds every message (or ``--deadline`` passes).

Prints the sweep's time (rendering + writing the outbox), the end-to-end
rate (messages per second from the sweep's start to the last message at the
server), the sending rate (first to last message), the workers' peak
resident memory (VmHWM of each worker process and its children) and whether
every message arrived exactly once. Exits non-zero below ``--target``
messages per second end to end, or when a message is missing or doubled.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

COUNT = 10_000
TARGET_PER_SECOND = 100.0
DEADLINE_SECONDS = 900.0
READY_SECONDS = 60.0
# Celery workers take 5-8 s to stop after SIGTERM.
STOP_SECONDS = 15.0
TIME_ZONES = ("Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin", "America/New_York", "Australia/Sydney")
MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.I | re.M)


def _refuse(message: str) -> None:
    print(f"bench/sponsor_updates.py: {message}", file=sys.stderr)
    sys.exit(2)


def _check_urls(database_url: str | None, broker_url: str | None) -> str:
    parts = urlsplit(database_url or "")
    if parts.scheme not in ("postgres", "postgresql", "pgsql", "psql"):
        _refuse(
            "set DATABASE_URL to a PostgreSQL database to throw away (it is created, filled and dropped)."
        )
    name = parts.path.lstrip("/")
    if not name:
        _refuse("DATABASE_URL names no database.")
    if name == "test":
        _refuse("refusing the database named 'test': the test suite uses it.")
    broker = urlsplit(broker_url or "")
    if broker.scheme != "redis" or broker.hostname not in ("127.0.0.1", "localhost"):
        _refuse(
            "set CELERY_BROKER_URL to a Redis database on 127.0.0.1 to throw away (redis://127.0.0.1:6379/11)."
        )
    if broker.path.strip("/") in ("", "0", "15"):
        _refuse("give the broker a Redis database of its own: not 0 (development) nor 15 (CI).")
    return name


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Sink:
    """The SMTP server's process and what it counted, shared with this process."""

    port: int
    process: Any
    received: Any  # multiprocessing.Value: messages accepted
    distinct: Any  # messages with a Message-ID not seen before
    first: Any  # time.monotonic() of the first message (CLOCK_MONOTONIC is system-wide)
    last: Any
    stop: Any  # multiprocessing.Event


def _serve(port: int, received: Any, distinct: Any, first: Any, last: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    seen: set[bytes] = set()

    class Counting:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            now = time.monotonic()
            header = envelope.content.split(b"\r\n\r\n", 1)[0]
            found = MESSAGE_ID.search(header)
            key = found.group(1) if found else b""
            with received.get_lock():
                received.value += 1
                if received.value == 1:
                    first.value = now
                last.value = now
                if key and key not in seen:
                    seen.add(key)
                    distinct.value += 1
            return "250 Message accepted for delivery"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


def _start_sink() -> Sink:
    context = multiprocessing.get_context("fork")
    port = _free_port()
    received, distinct = context.Value("q", 0), context.Value("q", 0)
    first, last = context.Value("d", 0.0), context.Value("d", 0.0)
    stop = context.Event()
    process = context.Process(target=_serve, args=(port, received, distinct, first, last, stop), daemon=True)
    process.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                _refuse("the SMTP sink did not start")
            time.sleep(0.05)
    return Sink(port, process, received, distinct, first, last, stop)


def _configure(scratch: Path, smtp_port: int) -> dict[str, str]:
    """Production settings for this process and the workers; returns the workers' environment."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "pmaas.settings"
    os.environ["PMAAS_VAR_DIR"] = str(scratch)
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 50)
    os.environ["SITE_URL"] = "https://tracker.example.com"
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    return dict(os.environ)


def _postgres(dbname: str) -> Any:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=dbname,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        autocommit=True,
    )


def _create_database(name: str) -> None:
    import psycopg

    with _postgres("postgres") as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def _drop_database(name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with _postgres("postgres") as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {}").format(psycopg.sql.Identifier(name)))


def _redis() -> Any:
    from pmaas.celery import app

    connection = app.connection_for_write()
    channel: Any = connection.default_channel
    return connection, channel.client


def _seed(*, count: int, as_of: Any) -> int:
    """The demo, plus sponsors on its sending engagements until ``count`` subscriptions are due."""
    from django.db import transaction

    from communications.models import SponsorSubscription
    from demo.portfolio import demo_load
    from engagements.models import Engagement
    from sponsor_updates import services
    from stakeholders.models import Stakeholder, StakeholderRole

    demo_load(now=as_of)
    subscribed = as_of - timedelta(days=8)
    with transaction.atomic():
        services.subscriptions_ensure_for_sponsors(as_of=subscribed)
        # Whatever the demo planned, every subscription is due once, now.
        SponsorSubscription.objects.active().update(next_send_at=None)
        engagements = list(
            Engagement.objects.filter(status__in=services.SENDING_STATUSES)
            .order_by("pk")
            .select_related("client")
        )
        existing = SponsorSubscription.objects.filter(engagement__in=engagements, is_active=True).count()
        missing = max(0, count - existing)
        stakeholders = Stakeholder.objects.bulk_create(
            [
                Stakeholder(
                    client=engagements[n % len(engagements)].client,
                    name=f"Bench Sponsor {n}",
                    email=f"sponsor{n}@client.test",
                    title="Sponsor",
                    time_zone=TIME_ZONES[n % len(TIME_ZONES)],
                )
                for n in range(missing)
            ],
            batch_size=1000,
        )
        StakeholderRole.objects.bulk_create(
            [
                StakeholderRole(
                    engagement=engagements[n % len(engagements)],
                    stakeholder=stakeholder,
                    kind=StakeholderRole.Kind.SPONSOR,
                )
                for n, stakeholder in enumerate(stakeholders)
            ],
            batch_size=1000,
        )
        services.subscriptions_ensure_for_sponsors(as_of=subscribed)
        due = list(
            SponsorSubscription.objects.filter(engagement__in=engagements, is_active=True)
            .order_by("pk")
            .select_related("engagement", "stakeholder")[:count]
        )
        for subscription in due:
            services._scheduled(subscription, as_of=subscribed)
            # A demo subscription of another cadence may not have come round yet: due now all the same.
            if subscription.next_send_at is None or subscription.next_send_at > as_of:
                subscription.next_send_at = as_of - timedelta(minutes=1)
        SponsorSubscription.objects.bulk_update(due, ["next_send_at"], batch_size=1000)
    return SponsorSubscription.objects.due(as_of=as_of).filter(engagement__in=engagements).count()


def _start_workers(
    *, workers: int, pool: str, concurrency: int, env: dict[str, str], logs: Path
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    started = []
    for n in range(workers):
        log = logs / f"worker{n}.log"
        command = [
            sys.executable, "-m", "celery", "-A", "pmaas", "worker",
            "--pool", pool, "--concurrency", str(concurrency),
            "--loglevel", "INFO", "--hostname", f"bench{n}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with log.open("wb") as out:
            # Our own interpreter and fixed arguments.
            process = subprocess.Popen(  # noqa: S603
                command, cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        started.append((process, log))
    deadline = time.monotonic() + READY_SECONDS
    for process, log in started:
        while " ready." not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                _stop_workers(started)
                _refuse(f"a worker did not start; its log:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
    return started


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _peak_rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) if found else 0


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # utime and stime, fields 14 and 15 of proc(5), counted from the state (field 3).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop_workers(started: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    for process, _ in started:
        if process.poll() is None:
            process.terminate()
    for process, _ in started:
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=COUNT, help="Updates to render and send.")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes.")
    parser.add_argument("--pool", choices=("solo", "prefork"), default="solo", help="Each worker's pool.")
    parser.add_argument("--concurrency", type=int, default=1, help="Pool processes per prefork worker.")
    parser.add_argument(
        "--target", type=float, default=TARGET_PER_SECOND, help="Messages per second to reach."
    )
    parser.add_argument(
        "--deadline", type=float, default=DEADLINE_SECONDS, help="Seconds to wait for the mail."
    )
    parser.add_argument(
        "--keep", action="store_true", help="Leave the database and the broker's keys in place."
    )
    args = parser.parse_args(argv)
    name = _check_urls(os.environ.get("DATABASE_URL"), os.environ.get("CELERY_BROKER_URL"))
    scratch = Path(tempfile.mkdtemp(prefix="bench-updates-"))
    sink = _start_sink()
    env = _configure(scratch, sink.port)

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from notifications.models import OutboxMessage
    from sponsor_updates import services

    broker, redis = _redis()
    if redis.dbsize():
        _refuse(f"the Redis database of {os.environ['CELERY_BROKER_URL']} holds keys; give an empty one.")
    _create_database(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        if cursor.fetchone()[0]:
            _refuse(f"database {name} already holds tables; give an empty or new one.")
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]

    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    failures: list[str] = []
    try:
        shape = (
            f"{args.workers} worker process(es), solo pool"
            if args.pool == "solo"
            else f"{args.workers} worker(s), prefork pool of {args.concurrency}"
        )
        print(f"PostgreSQL {version}, database {name}; broker {os.environ['CELERY_BROKER_URL']}; {shape}")
        print(f"  {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        as_of = timezone.now()
        due = _seed(count=args.count, as_of=as_of)
        print(f"  migrated and seeded in {time.perf_counter() - started:.1f} s: {due} subscriptions due")
        if due != args.count:
            _refuse(f"seeded {due} due subscriptions, not {args.count}")
        # Mail the demo itself wrote waits on the broker: gone, so the server counts only the updates.
        redis.flushdb()
        before = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        ours = OutboxMessage.objects.filter(pk__gt=before, status=OutboxMessage.Status.SENT)
        workers = _start_workers(
            workers=args.workers, pool=args.pool, concurrency=args.concurrency, env=env, logs=scratch
        )

        workers_cpu = sum(_cpu_seconds(pid) for p, _ in workers for pid in _descendants(p.pid))
        start, sweep_cpu = time.monotonic(), time.process_time()
        written = services.updates_sweep(as_of=as_of)
        swept, sweep_cpu = time.monotonic() - start, time.process_time() - sweep_cpu
        print(
            f"  sweep: {written} updates rendered and written to the outbox in {swept:.1f} s"
            f" ({written / swept:.0f} per second); {sink.received.value} already at the server"
        )
        give_up = start + args.deadline
        while sink.received.value < written and time.monotonic() < give_up:
            if any(process.poll() is not None for process, _ in workers):
                failures.append("a worker exited")
                break
            time.sleep(0.05)
        end_to_end = sink.last.value - start
        sending = sink.last.value - sink.first.value
        workers_cpu = sum(_cpu_seconds(pid) for p, _ in workers for pid in _descendants(p.pid)) - workers_cpu
        peaks = {
            process.pid: sum(_peak_rss_kib(pid) for pid in _descendants(process.pid))
            for process, _ in workers
        }
        received, distinct = sink.received.value, sink.distinct.value
        deadline = time.monotonic() + 30
        while ours.count() < written and time.monotonic() < deadline:
            time.sleep(0.2)
        recorded = ours.count()

        rate = received / end_to_end if end_to_end > 0 else 0.0
        print(
            f"  end to end: {received} messages at the server {end_to_end:.1f} s after the sweep began:"
            f" {rate:.0f} per second"
        )
        if sending > 0:
            print(f"  sending: first to last message {sending:.1f} s: {received / sending:.0f} per second")
        print(f"  distinct Message-IDs: {distinct}; outbox rows recorded sent: {recorded}")
        # CPU time per message does not depend on what else shares the machine, unlike the rates.
        print(
            f"  CPU per message: sweep {sweep_cpu / max(written, 1) * 1000:.1f} ms (this process),"
            f" sending {workers_cpu / max(received, 1) * 1000:.1f} ms (the workers); the load average"
            f" is {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        for pid, kib in peaks.items():
            print(f"  worker {pid}: peak resident memory {kib / 1024:.0f} MiB (process and children, VmHWM)")
        if received != written or distinct != written:
            failures.append(f"{written} written, {received} received, {distinct} distinct")
        if recorded != written:
            failures.append(f"{recorded} of {written} recorded as sent")
        if rate < args.target:
            failures.append(f"{rate:.0f} messages per second end to end, target {args.target:.0f}")
    finally:
        _stop_workers(workers)
        sink.stop.set()
        sink.process.join(timeout=10)
        if args.keep:
            print(f"\nKept database {name}, the broker's keys and the logs in {scratch}.")
        else:
            redis.flushdb()
            _drop_database(name)
            print(f"\nDropped database {name} and emptied the broker's Redis database.")
        broker.release()
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("Target met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
