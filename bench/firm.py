"""Pages and API lists for the whole firm at once: server times, query counts and throughput.

Not a test: a measurement to run by hand and record in docs/benchmarks.md ("Firm scale").

    createdb -h 127.0.0.1 -U postgres firm
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/firm .venv/bin/python bench/firm.py --seed
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/firm .venv/bin/python bench/firm.py   # again, seeded

``--seed`` fills the empty database with ``bench/firm_seed.py`` up to now and
then runs the sweeps the beat runs, once each, timed: the dispatcher, the
silence flags, 27 weeks of roll-ups and every engagement's health. Without
it the database must have been seeded so before (by this script, recently).

Then, for the practice lead (who sees every engagement) and a consultant:

1. **Pages.** Every workspace page (discovered from the URL resolver as in
   bench/pages.py) and the portfolio's sorts, filters and a later page, each
   requested ``--runs`` times through Django's test client: the median and
   95th percentile of server time and the query count. A median above 300 ms
   is flagged.
2. **API.** A gunicorn on 127.0.0.1 (``--workers``, sync workers, the
   production settings plus two yardstick routes from bench/bare_api.py)
   serves every API list and the detail of its first row, and beside them a
   bare one-query 50-row ``ListAPIView`` and a bare ``RetrieveAPIView``. Each
   is loaded for ``--seconds`` by ``--concurrency`` keep-alive clients as the
   practice lead; throughput, median latency and errors are printed, and each
   product endpoint's throughput as a share of its yardstick, measured just
   before it. The goal is at least half, with no error. The server stops
   with the script.

Exit status 1 when a page's median is above 300 ms, an endpoint is under half
its yardstick, or anything answered with an error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import firm_seed, pages  # noqa: E402

PAGE_GOAL_MS = 300.0
SHARE_GOAL = 0.5
PRACTICE_LEAD = "firm-practice-lead"
CONSULTANT = "firm-consultant-1"
ROLLUP_WEEKS = 27
# The portfolio's sorts, filters and a later page, beside its first page found by discovery.
PORTFOLIO_VARIANTS = (
    "sort=compliance",
    "sort=overdue&descending=1",
    "sort=client",
    "health=red",
    "page=20",
)
# Pages a role may not open, which answer it 404 by design: not measured for it.
NOT_FOR_ROLE = {CONSULTANT: {"consultants"}}
# API lists that need a parameter to answer.
API_QUERY_STRINGS = {"compliance": "by=engagement"}
# Lists whose rows are not objects with a detail route of their own.
API_WITHOUT_DETAIL = {"compliance"}


# --- seeding and the sweeps ----------------------------------------------------------------------


def _timed(label: str, work: Any) -> Any:
    started = time.perf_counter()
    outcome = work()
    print(f"{label:>28}: {time.perf_counter() - started:7.1f} s  ({outcome})", flush=True)
    return outcome


def prepare(*, as_of: datetime) -> None:
    """What the beat would have done by now, once each: plans dispatched, flags, roll-ups, health."""
    from communications.health import engagements_recompute_health
    from communications.models import Channel
    from communications.rollups import week_start_of, weekly_rollups_refresh, weeks_ending
    from communications.scheduling import channel_compute_next_due, occurrences_sweep
    from communications.silence import silences_flag
    from engagements.models import Engagement
    from notifications.models import OutboxMessage

    def plan() -> int:
        # What saving each channel through the services would have set: its next due time.
        channels = list(Channel.objects.order_by("pk"))
        for channel in channels:
            channel.next_due_at = channel_compute_next_due(channel=channel, after=as_of)
        Channel.objects.bulk_update(channels, ["next_due_at"], batch_size=500)
        return len(channels)

    _timed("next due times", plan)
    _timed("dispatcher", lambda: occurrences_sweep(as_of=as_of))
    _timed("silence flags", lambda: silences_flag(as_of=as_of))
    weeks = weeks_ending(week_start_of(as_of, UTC), ROLLUP_WEEKS)
    ids = list(Engagement.objects.order_by("pk").values_list("pk", flat=True))

    def rollups() -> int:
        return sum(
            weekly_rollups_refresh(engagement_ids=ids[start : start + 200], weeks=weeks, as_of=as_of)
            for start in range(0, len(ids), 200)
        )

    _timed(f"roll-ups, {ROLLUP_WEEKS} weeks", rollups)
    _timed("health", lambda: engagements_recompute_health(as_of=as_of))
    # Reminders and notices the sweeps queued are not to be sent from a benchmark database.
    OutboxMessage.objects.all().delete()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# --- pages -------------------------------------------------------------------------------------------


def measure_pages(usernames: list[str], runs: int) -> list[pages.Result]:
    from accounts.models import User

    results: list[pages.Result] = []
    for username in usernames:
        user = User.objects.get(username=username)
        found = pages.discover_pages(user)
        portfolio = next((p for p in found if p.name == "portfolio" and p.url), None)
        if portfolio is not None and portfolio.url is not None:
            found += [
                pages.Page(f"portfolio ({variant})", portfolio.pattern, f"{portfolio.url}?{variant}")
                for variant in PORTFOLIO_VARIANTS
            ]
        for page in found:
            if page.url is None:
                print(f"skipped {username}: {page.name} ({page.note})")
                continue
            if page.name in NOT_FOR_ROLE.get(username, set()):
                print(f"skipped {username}: {page.name} (not for this role: 404 by design)")
                continue
            result = pages.measure(user, page, runs)
            if result is not None:
                results.append(result)
                flag = " SLOW" if result.median_ms > PAGE_GOAL_MS else ""
                print(
                    f"  {username} {page.url}: {result.median_ms:.0f} ms, {result.queries} queries{flag}",
                    flush=True,
                )
    return results


# --- the API under gunicorn -----------------------------------------------------------------------


@dataclass
class Load:
    path: str
    requests: int
    errors: int
    seconds: float
    median_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _session_cookie(username: str) -> str:
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def api_targets(username: str) -> list[tuple[str, str]]:
    """(list path, detail path or "") of every API list, the detail being its first row's."""
    from django.test import Client

    from accounts.models import User
    from pmaas.api_urls import router

    client = Client()
    client.force_login(User.objects.get(username=username))
    targets = []
    for prefix, _viewset, _basename in router.registry:
        path = f"/api/v1/{prefix}/"
        if prefix in API_QUERY_STRINGS:
            path += "?" + API_QUERY_STRINGS[prefix]
        response = client.get(path, HTTP_ACCEPT="application/json")
        if response.status_code != 200:
            print(f"skipped {path}: {response.status_code}")
            continue
        body = response.json()
        rows = body.get("results", body) if isinstance(body, dict) else body
        detail = ""
        if rows and prefix not in API_WITHOUT_DETAIL and isinstance(rows[0], dict) and "id" in rows[0]:
            detail = f"/api/v1/{prefix}/{rows[0]['id']}/"
        targets.append((path, detail))
    return targets


def hammer(*, port: int, path: str, cookie: str, seconds: float, concurrency: int) -> Load:
    """``concurrency`` clients request ``path`` back to back for ``seconds``; every answer read whole."""
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        failed = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Cookie": cookie, "Accept": "application/json"})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
            mine.append((time.perf_counter() - started) * 1000)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(
        path=path,
        requests=len(latencies),
        errors=errors[0],
        seconds=time.monotonic() - started,
        median_ms=statistics.median(latencies) if latencies else 0.0,
    )


def _serve(*, port: int, workers: int, scratch: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PYTHONPATH": str(BASE_DIR),
        # The API's throttle would answer a benchmark with 429s: a rate no run reaches, for both sides.
        "API_THROTTLE_RATE": "1000000/minute",
    }
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn, on loopback
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "pmaas.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--error-logfile",
            str(scratch / "gunicorn.log"),
            "--no-control-socket",
        ],
        cwd=BASE_DIR,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"gunicorn did not start; see {scratch / 'gunicorn.log'}")


def measure_api(
    *, username: str, workers: int, seconds: float, concurrency: int, scratch: Path
) -> list[dict[str, Any]]:
    from engagements.models import Engagement

    targets = api_targets(username)
    cookie = _session_cookie(username)
    first_engagement = Engagement.objects.order_by("pk").values_list("pk", flat=True).first()
    bare_list, bare_detail = "/bench/bare-list/", f"/bench/bare-detail/{first_engagement}/"
    port = _free_port()
    server = _serve(port=port, workers=workers, scratch=scratch)
    rows: list[dict[str, Any]] = []
    try:

        def load(path: str) -> Load:
            return hammer(port=port, path=path, cookie=cookie, seconds=seconds, concurrency=concurrency)

        # Warm every route once, so no first request pays for imports.
        for path in [bare_list, bare_detail, *[p for target in targets for p in target if p]]:
            load_once = hammer(port=port, path=path, cookie=cookie, seconds=0.2, concurrency=1)
            if load_once.errors:
                print(f"  warm-up of {path} answered with an error", flush=True)
        for list_path, detail_path in targets:
            for yardstick, path in ((bare_list, list_path), (bare_detail, detail_path)):
                if not path:
                    continue
                bare = load(yardstick)
                ours = load(path)
                share = ours.per_second / bare.per_second if bare.per_second else 0.0
                row = {
                    "path": path,
                    "per_second": round(ours.per_second, 1),
                    "median_ms": round(ours.median_ms, 1),
                    "errors": ours.errors,
                    "yardstick": yardstick,
                    "yardstick_per_second": round(bare.per_second, 1),
                    "yardstick_errors": bare.errors,
                    "share": round(share, 2),
                }
                rows.append(row)
                flag = "" if share >= SHARE_GOAL and not ours.errors else "  BELOW GOAL"
                print(
                    f"  {path}: {ours.per_second:.1f}/s "
                    f"({ours.median_ms:.0f} ms median, {ours.errors} errors)"
                    f" vs {yardstick} {bare.per_second:.1f}/s: {share:.0%}{flag}",
                    flush=True,
                )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return rows


# --- the run ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--seed", action="store_true", help="seed the empty database first, then run the sweeps"
    )
    parser.add_argument(
        "--prepare", action="store_true", help="run the sweeps again now on a seeded firm, then measure"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="with --seed: fraction of the firm, 1 = all")
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page (default 15)")
    parser.add_argument("--seconds", type=float, default=5.0, help="load per API endpoint (default 5 s)")
    parser.add_argument("--concurrency", type=int, default=4, help="API clients at once (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--skip-pages", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to the firm's PostgreSQL database (see bench/firm_seed.py).", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="pmaas-firm-") as folder:
        scratch = Path(folder)
        pages._configure(database_url, scratch)
        from django.db import connection

        from accounts.models import User

        if args.seed:
            as_of = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            try:
                firm_seed.check_seedable()
            except firm_seed.Refused as refused:
                print(f"bench: {refused}", file=sys.stderr)
                return 2
            print(f"seeding the firm up to {as_of:%Y-%m-%d %H:%M} UTC (scale {args.scale})", flush=True)
            started = time.perf_counter()
            firm_seed.seed(scale=args.scale, as_of=as_of, password=firm_seed.PASSWORD)
            print(f"{'seeded':>28}: {time.perf_counter() - started:7.1f} s", flush=True)
            prepare(as_of=as_of)
        elif not User.objects.filter(username=PRACTICE_LEAD).exists():
            print("bench: no seeded firm here; run with --seed on an empty database", file=sys.stderr)
            return 2
        elif args.prepare:
            prepare(as_of=datetime.now(UTC))

        with connection.cursor() as cursor:
            sizes = {}
            for table in (
                "engagements_engagement",
                "stakeholders_stakeholder",
                "communications_checkin",
                "communications_followup",
                "communications_occurrence",
            ):
                cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed table names
                sizes[table] = cursor.fetchone()[0]
        print(
            "sizes: " + ", ".join(f"{table.split('_', 1)[1]} {n:,}" for table, n in sizes.items()), flush=True
        )

        figures: dict[str, Any] = {"sizes": sizes}
        slow: list[pages.Result] = []
        failed: list[Any] = []
        if not args.skip_pages:
            print(f"\npages ({args.runs} runs each):", flush=True)
            results = measure_pages([PRACTICE_LEAD, CONSULTANT], args.runs)
            print()
            pages._print_table(results, slow_ms=PAGE_GOAL_MS)
            slow = [r for r in results if r.median_ms > PAGE_GOAL_MS]
            failed += [r for r in results if r.status >= 400]
            figures["pages"] = [
                {
                    "user": r.user,
                    "url": r.page.url,
                    "status": r.status,
                    "median_ms": round(r.median_ms, 1),
                    "p95_ms": round(r.p95_ms, 1),
                    "queries": r.queries,
                }
                for r in results
            ]
        below: list[dict[str, Any]] = []
        if not args.skip_api:
            print(
                f"\nAPI as {PRACTICE_LEAD} ({args.workers} gunicorn workers, {args.concurrency} clients, "
                f"{args.seconds:g} s each):",
                flush=True,
            )
            rows = measure_api(
                username=PRACTICE_LEAD,
                workers=args.workers,
                seconds=args.seconds,
                concurrency=args.concurrency,
                scratch=scratch,
            )
            below = [r for r in rows if r["share"] < SHARE_GOAL or r["errors"] or r["yardstick_errors"]]
            figures["api"] = rows
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str))

    print(
        f"\n{len(slow)} pages with a median above {PAGE_GOAL_MS:.0f} ms; {len(failed)} pages with an error; "
        f"{len(below)} API endpoints under {SHARE_GOAL:.0%} of their yardstick or with errors"
    )
    return 1 if slow or failed or below else 0


if __name__ == "__main__":
    sys.exit(main())
