"""Speed of the scheduled scans at production volume: the overdue scan and the dispatcher.

Not a test: a measurement to run by hand and record in docs/benchmarks.md.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench4 .venv/bin/python bench/scheduling.py
    DATABASE_URL=... .venv/bin/python bench/scheduling.py --scale 0.05   # a quick check
    DATABASE_URL=... .venv/bin/python bench/scheduling.py --keep         # leave the data behind

PostgreSQL only, and a database to throw away: the script migrates it, fills
it with COPY (100,000 channels and 1,000,000 follow-ups at scale 1), measures,
then drops the database unless ``--keep`` is given. It refuses SQLite, a
missing DATABASE_URL and a database named ``test`` (the test suite's).

Measured in one run:

1. the overdue scan as the project runs it,
   ``communications.services.follow_ups_flag_overdue``;
2. a naive per-row ORM loop (load the late follow-ups, ``create()`` each
   one's stamp) over a 10,000-row sample, its rate extrapolated;
3. the same change as one hand-written SQL ``INSERT … SELECT … EXCEPT …``.

The scan must reach 150 times the loop's rate and 70 % of the hand-written
statement's. Then one full pass of ``communications.scheduling.occurrences_dispatch``
with 10,000 channels due among 100,000: under 10 s, and at most 5 queries per
1,000 due channels. Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

CHANNELS = 100_000
FOLLOW_UPS = 1_000_000
DUE_CHANNELS = 10_000
LOOP_SAMPLE = 10_000
CLIENTS = 40
ENGAGEMENTS = 400
STAKEHOLDERS_PER_CLIENT = 50
CONSULTANTS = 120
REPEATS = 3

TARGET_LOOP_RATIO = 150.0
TARGET_SQL_SHARE = 0.70
TARGET_DISPATCH_SECONDS = 10.0
TARGET_QUERIES_PER_1000 = 5.0

# A fixed instant, so two runs fill the same data; the scan and the dispatcher look from here.
AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
RULES = (
    "FREQ=WEEKLY;BYDAY=TU",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
    "FREQ=MONTHLY;BYDAY=1MO",
    "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
)
KINDS = ("email", "meeting", "call", "video", "workshop", "steering_committee", "pm_tool", "chat")
TIME_ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC")


def _refuse(message: str) -> None:
    print(f"bench/scheduling.py: {message}", file=sys.stderr)
    sys.exit(2)


def _check_database_url(database_url: str | None) -> str:
    if not database_url:
        _refuse(
            "set DATABASE_URL to a PostgreSQL database to throw away (it is migrated, filled and dropped)."
        )
    parts = urlsplit(database_url or "")
    if parts.scheme not in ("postgres", "postgresql", "pgsql", "psql"):
        _refuse(
            f"PostgreSQL only; {parts.scheme or 'this URL'} is not measured (the scans rely on its planner)."
        )
    name = parts.path.lstrip("/")
    if not name:
        _refuse("DATABASE_URL names no database.")
    if name == "test":
        _refuse("refusing the database named 'test': the test suite uses it.")
    return name


def _configure() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "pmaas.settings"
    # Production-like: no debug page, no query log kept by the cursor outside the counted pass.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 50)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def _create_database(name: str) -> None:
    """Create the database when the server lacks it, through the maintenance database."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname="postgres",
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def _drop_database(name: str) -> None:
    import psycopg
    from django.conf import settings
    from django.db import connections

    connections.close_all()
    db = settings.DATABASES["default"]
    with psycopg.connect(
        dbname="postgres",
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        autocommit=True,
    ) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {}").format(psycopg.sql.Identifier(name)))


def _copy(model: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into the model's table; columns left out take the model's Python default."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = set(columns)
    now = datetime.now(UTC)
    fixed: dict[str, Any] = {}
    for field in fields:
        if field.column in given:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            fixed[field.column] = now
        else:
            fixed[field.column] = field.get_default()
    all_columns = list(columns) + list(fixed)
    tail = tuple(fixed.values())
    table = model._meta.db_table
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        column_list = ", ".join(f'"{c}"' for c in all_columns)
        with raw.copy(f'COPY "{table}" ({column_list}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row((*row, *tail))
                count += 1
    return count


def _fill(*, channels: int, follow_ups: int, due_channels: int, rng: random.Random) -> None:
    """Parents through bulk_create (a few hundred rows), the big tables through COPY."""
    from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
    from django.db import connection, transaction

    from accounts.models import User
    from communications.models import Channel, FollowUp
    from communications.scheduling import DISPATCH_HORIZON as horizon
    from engagements.models import Client, Engagement, Membership
    from stakeholders.models import Stakeholder

    with transaction.atomic():
        clients = Client.objects.bulk_create(
            [
                Client(name=f"Bench client {n}", time_zone=TIME_ZONES[n % len(TIME_ZONES)], country="DE")
                for n in range(CLIENTS)
            ]
        )
        consultants = User.objects.bulk_create(
            [
                User(
                    username=f"bench{n}",
                    email=f"bench{n}@firm.test",
                    role=User.Role.CONSULTANT,
                    password=UNUSABLE_PASSWORD_PREFIX,
                    time_zone=TIME_ZONES[n % len(TIME_ZONES)],
                )
                for n in range(CONSULTANTS)
            ]
        )
        engagements = Engagement.objects.bulk_create(
            [
                Engagement(
                    client=clients[n % CLIENTS],
                    name=f"Bench engagement {n}",
                    code=f"BEN-{n}",
                    start_date=date(2026, 1, 5),
                    end_date=date(2027, 6, 30),
                    budget=250_000,
                    status=Engagement.Status.ACTIVE,
                )
                for n in range(ENGAGEMENTS)
            ]
        )
        Membership.objects.bulk_create(
            [
                Membership(engagement=engagement, user=consultants[(n * 3 + k) % CONSULTANTS])
                for n, engagement in enumerate(engagements)
                for k in range(3)
            ]
        )
        stakeholders = Stakeholder.objects.bulk_create(
            [
                Stakeholder(
                    client=client,
                    name=f"Stakeholder {c}-{k}",
                    email=f"s{c}-{k}@client.test",
                    time_zone=client.time_zone,
                )
                for c, client in enumerate(clients)
                for k in range(STAKEHOLDERS_PER_CLIENT)
            ]
        )
    by_client: dict[int, list[int]] = {}
    for stakeholder in stakeholders:
        by_client.setdefault(stakeholder.client_id, []).append(stakeholder.pk)
    # Each engagement's three members own its channels and team follow-ups.
    team = {
        engagement.pk: [consultants[(n * 3 + k) % CONSULTANTS].pk for k in range(3)]
        for n, engagement in enumerate(engagements)
    }
    parties = [(e.pk, by_client[e.client_id], team[e.pk]) for e in engagements]

    def channel_rows() -> Iterable[tuple[Any, ...]]:
        due_every = max(1, channels // max(1, due_channels))
        for n in range(channels):
            engagement_id, people, members = parties[n % len(parties)]
            due = n % due_every == 0 and n // due_every < due_channels
            if due:
                # Within the dispatcher's horizon, some already past.
                next_due = AS_OF + timedelta(minutes=rng.randrange(-24 * 60, 36 * 60))
            else:
                # Beyond the horizon, up to two months out.
                next_due = AS_OF + horizon + timedelta(days=1, minutes=rng.randrange(0, 60 * 24 * 60))
            paused = not due and n % 20 == 1
            yield (
                engagement_id,
                rng.choice(people),
                KINDS[n % len(KINDS)],
                f"Channel {n}",
                RULES[n % len(RULES)],
                date(2026, 1, 5),
                dtime(9 + n % 8, 0),
                timedelta(days=2),
                timedelta(minutes=30),
                rng.choice(members),
                "paused" if paused else "active",
                next_due,
            )

    columns = (
        "engagement_id",
        "stakeholder_id",
        "kind",
        "title",
        "recurrence",
        "starts_on",
        "local_time",
        "grace_period",
        "duration",
        "owner_id",
        "status",
        "next_due_at",
    )
    started = time.perf_counter()
    _copy(Channel, columns, channel_rows())
    print(f"  {channels:,} channels copied in {time.perf_counter() - started:.1f} s")

    def follow_up_rows() -> Iterable[tuple[Any, ...]]:
        for n in range(follow_ups):
            engagement_id, people, members = parties[n % len(parties)]
            # Half a year back to three months ahead: most old items are done, a share is late and open.
            due_at = AS_OF + timedelta(minutes=rng.randrange(-180 * 24 * 60, 90 * 24 * 60))
            roll = rng.random()
            if due_at < AS_OF:
                status = "done" if roll < 0.70 else "cancelled" if roll < 0.75 else "open"
            else:
                status = "done" if roll < 0.10 else "open"
            client_owes = n % 3 == 0
            yield (
                engagement_id,
                f"Follow-up {n}",
                None if client_owes else rng.choice(members),
                rng.choice(people) if client_owes else None,
                due_at,
                status,
                due_at - timedelta(hours=2) if status == "done" else None,
            )

    follow_up_columns = (
        "engagement_id",
        "title",
        "owner_user_id",
        "owner_stakeholder_id",
        "due_at",
        "status",
        "completed_at",
    )
    started = time.perf_counter()
    _copy(FollowUp, follow_up_columns, follow_up_rows())
    print(f"  {follow_ups:,} follow-ups copied in {time.perf_counter() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def _vacuum(table: str) -> None:
    # Between runs, so each starts from the same table state rather than from the last run's dead rows.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'VACUUM ANALYZE "{table}"')


def _reset_overdue() -> None:
    from django.db import connection

    from communications.models import FollowUp, FollowUpOverdue

    with connection.cursor() as cursor:
        cursor.execute(f'TRUNCATE "{FollowUpOverdue._meta.db_table}"')
    _vacuum(FollowUp._meta.db_table)
    _vacuum(FollowUpOverdue._meta.db_table)


def _index_count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", [table])
        return int(cursor.fetchone()[0])


def _timed(run: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    rows = run()
    return time.perf_counter() - started, rows


def _project_scan() -> int:
    from communications.services import follow_ups_flag_overdue

    # As the periodic task calls it: in autocommit, the UPDATE its own transaction.
    return follow_ups_flag_overdue(as_of=AS_OF)


def _hand_written() -> int:
    from django.db import connection

    from communications.models import FollowUp, FollowUpOverdue

    with connection.cursor() as cursor:
        cursor.execute(
            f'INSERT INTO "{FollowUpOverdue._meta.db_table}" (follow_up_id, overdue_at) '
            "SELECT late.id, %s FROM ("
            f"SELECT id FROM \"{FollowUp._meta.db_table}\" WHERE status = 'open' AND due_at < %s "
            f'EXCEPT SELECT follow_up_id FROM "{FollowUpOverdue._meta.db_table}"'
            ") AS late",
            [AS_OF, AS_OF],
        )
        return int(cursor.rowcount)


def _per_row_loop(sample: int) -> int:
    from communications.models import FollowUp, FollowUpOverdue

    count = 0
    late = FollowUp.objects.filter(status=FollowUp.Status.OPEN, overdue_stamp__isnull=True, due_at__lt=AS_OF)
    for fu in late[:sample]:
        FollowUpOverdue.objects.create(follow_up=fu, overdue_at=AS_OF)
        count += 1
    return count


def _measure_overdue(*, repeats: int, sample: int) -> list[str]:
    from communications.models import FollowUp, FollowUpOverdue

    failures = []
    scan_rates: list[float] = []
    sql_rates: list[float] = []
    print(f"\nOverdue scan (as of {AS_OF.isoformat()}):")
    # Alternating the two set-based statements spreads any drift (cache, checkpoints) over both.
    for repeat in range(repeats):
        for label, run, rates in (
            ("project scan", _project_scan, scan_rates),
            ("hand SQL", _hand_written, sql_rates),
        ):
            _reset_overdue()
            seconds, rows = _timed(run)
            rates.append(rows / seconds)
            print(
                f"  run {repeat + 1} {label:<13} {rows:>9,} rows in {seconds:7.3f} s"
                f" = {rows / seconds:>12,.0f} rows/s"
            )
    # The loop is timed as often as the statements and its median counts too: one
    # sample of per-row commits moves with the disk and the load by a fifth or more.
    loop_rates: list[float] = []
    for repeat in range(repeats):
        _reset_overdue()
        seconds, rows = _timed(lambda: _per_row_loop(sample))
        loop_rates.append(rows / seconds)
        print(
            f"  run {repeat + 1} per-row loop  {rows:>9,} rows in {seconds:7.3f} s"
            f" = {rows / seconds:>12,.0f} rows/s (sample)"
        )
    loop_rate = statistics.median(loop_rates)
    _reset_overdue()
    flagged = FollowUp.objects.filter(status=FollowUp.Status.OPEN, due_at__lt=AS_OF).count()
    scan_rate = statistics.median(scan_rates)
    sql_rate = statistics.median(sql_rates)
    loop_ratio = scan_rate / loop_rate
    sql_share = scan_rate / sql_rate
    stamps = FollowUpOverdue._meta.db_table
    print(f"\n  indexes on {FollowUp._meta.db_table}: {_index_count(FollowUp._meta.db_table)}")
    print(f"  indexes on {stamps} (what the scan writes): {_index_count(stamps)}")
    print(f"  rows that go overdue: {flagged:,} of {FollowUp.objects.count():,} follow-ups")
    print(f"  project scan (median): {scan_rate:>12,.0f} rows/s")
    print(f"  hand-written statement (median): {sql_rate:>12,.0f} rows/s")
    print(
        f"  per-row ORM loop (median): {loop_rate:>12,.0f} rows/s;"
        f" all {flagged:,} rows would take {flagged / loop_rate:,.0f} s"
    )
    verdict = "PASS" if loop_ratio >= TARGET_LOOP_RATIO else "FAIL"
    print(f"  scan / per-row loop = {loop_ratio:,.0f}x (target >= {TARGET_LOOP_RATIO:.0f}x): {verdict}")
    if verdict == "FAIL":
        failures.append("overdue scan vs per-row loop")
    verdict = "PASS" if sql_share >= TARGET_SQL_SHARE else "FAIL"
    print(f"  scan / hand-written = {sql_share:.0%} (target >= {TARGET_SQL_SHARE:.0%}): {verdict}")
    if verdict == "FAIL":
        failures.append("overdue scan vs hand-written statement")
    return failures


def _measure_dispatch(*, expected_due: int) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from communications.models import Channel, Occurrence
    from communications.scheduling import DISPATCH_HORIZON, occurrences_dispatch

    failures = []
    due = Channel.objects.due(as_of=AS_OF + DISPATCH_HORIZON).count()
    total = Channel.objects.count()
    print(f"\nDispatcher: {due:,} active channels due within {DISPATCH_HORIZON} among {total:,}")
    with CaptureQueriesContext(connection) as queries:
        seconds, created = _timed(lambda: occurrences_dispatch(as_of=AS_OF))
    rows = Occurrence.objects.count()
    per_thousand = len(queries) / (created / 1000) if created else float("inf")
    # Django records BEGIN and COMMIT too; they are round trips, so the target counts them.
    control = sum(1 for q in queries if q["sql"].strip().upper() in ("BEGIN", "COMMIT", "ROLLBACK"))
    data = len(queries) - control
    print(f"  one pass: {created:,} occurrences ({rows:,} rows in the table) in {seconds:.2f} s")
    print(
        f"  queries: {len(queries)} = {per_thousand:.1f} per 1,000 due"
        f" ({data} SELECT/INSERT = {data / (created / 1000) if created else 0:.1f} per 1,000,"
        f" {control} BEGIN/COMMIT)"
    )
    if created != due or rows != expected_due:
        print(f"  FAIL: expected {expected_due:,} occurrences")
        failures.append("dispatcher created the wrong number of rows")
    verdict = "PASS" if seconds < TARGET_DISPATCH_SECONDS else "FAIL"
    print(f"  time {seconds:.2f} s (target < {TARGET_DISPATCH_SECONDS:.0f} s): {verdict}")
    if verdict == "FAIL":
        failures.append("dispatcher time")
    verdict = "PASS" if per_thousand <= TARGET_QUERIES_PER_1000 else "FAIL"
    print(f"  {per_thousand:.1f} queries per 1,000 due (target <= {TARGET_QUERIES_PER_1000:.0f}): {verdict}")
    if verdict == "FAIL":
        failures.append("dispatcher queries per 1,000 due")
    seconds, again = _timed(lambda: occurrences_dispatch(as_of=AS_OF))
    print(f"  second pass (nothing left to create): {again:,} rows in {seconds:.2f} s")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="Shrink every volume by this factor (0.05 for a quick check).",
    )
    parser.add_argument(
        "--repeats", type=int, default=REPEATS, help="Runs of each set-based UPDATE (median)."
    )
    parser.add_argument("--seed", type=int, default=4, help="Seed of the generated data.")
    parser.add_argument("--keep", action="store_true", help="Leave the database and its data in place.")
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1:
        _refuse("--scale must be in (0, 1].")
    name = _check_database_url(os.environ.get("DATABASE_URL"))
    _configure()

    from django.core.management import call_command
    from django.db import connection

    channels = max(100, int(CHANNELS * args.scale))
    follow_ups = max(1_000, int(FOLLOW_UPS * args.scale))
    due_channels = max(10, int(DUE_CHANNELS * args.scale))
    sample = max(100, int(LOOP_SAMPLE * args.scale))

    _create_database(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        if cursor.fetchone()[0]:
            # Checked before anything is dropped: a database with tables may be someone's, and
            # re-filling a kept one would mix two data sets.
            _refuse(f"database {name} already holds tables; give an empty or new one.")
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    failures: list[str] = []
    try:
        print(f"PostgreSQL {version}, database {name}, scale {args.scale}")
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        print(f"  migrated in {time.perf_counter() - started:.1f} s")
        _fill(
            channels=channels, follow_ups=follow_ups, due_channels=due_channels, rng=random.Random(args.seed)
        )
        failures += _measure_overdue(repeats=args.repeats, sample=sample)
        failures += _measure_dispatch(expected_due=due_channels)
    finally:
        if args.keep:
            print(f"\nKept database {name}.")
        else:
            _drop_database(name)
            print(f"\nDropped database {name}.")
    if failures:
        print("FAILED: " + "; ".join(failures))
        return 1
    print("All targets met.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
