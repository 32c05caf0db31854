"""Server time of every workspace page, with the demo portfolio loaded.

Not a test: a measurement to run by hand and record in docs/benchmarks.md.

    .venv/bin/python bench/pages.py                 # a temporary SQLite file
    .venv/bin/python bench/pages.py --runs 50
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/pages.py

The database must be one to throw away: the script migrates it and loads the
demo into it. Pages are discovered from the URL resolver (everything but the
admin, the API and the login and password pages); a ``<pk>`` is filled with the
first demo object of that kind the user may see. Each page is requested once to
warm up, then ``--runs`` times through Django's test Client, which calls the
whole middleware stack and view in-process: the time is server time, without
a network or a browser. The query count comes from one further request.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
SLOW_MS = 150.0
USERS = ("consultant", "practice")
# Routes that are not pages of the workspace, or not for a logged-in user.
SKIPPED_PREFIXES = ("admin/", "api/", "accounts/")
# A page that needs a query string to show anything.
QUERY_STRINGS = {"search": "q=plan"}
# URL segments whose model is not named by its verbose name.
SEGMENT_ALIASES = {
    "roles": "stakeholderrole",
    "obligations": "communicationobligation",
    "comments": "followupcomment",
    "subscriptions": "sponsorsubscription",
}


def _configure(database_url: str | None, scratch: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "pmaas.settings"
    os.environ["PMAAS_VAR_DIR"] = str(scratch)
    os.environ["DATABASE_URL"] = database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
    # Production-like: no debug page, no query log kept by the cursor.
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-key-" + "x" * 50)
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(BASE_DIR))

    import django
    from django.conf import settings

    django.setup()
    # 405s and 500s show in the table's status column; the log would bury it.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    from django.test.utils import override_settings

    # The manifest storage needs collectstatic; the pages' static URLs do not matter here.
    override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    ).enable()


@dataclass
class Page:
    name: str
    pattern: str
    url: str | None
    note: str = ""


@dataclass
class Result:
    user: str
    page: Page
    status: int
    median_ms: float
    p95_ms: float
    queries: int


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[tuple[str, str]]:
    from django.urls import URLResolver

    found: list[tuple[str, str]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            found += _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            found.append((name, prefix + str(pattern.pattern)))
    return found


def _models_by_segment() -> dict[str, Any]:
    from django.apps import apps
    from django.utils.text import slugify

    by_segment: dict[str, Any] = {}
    for label in ("engagements", "stakeholders", "communications"):
        for model in apps.get_app_config(label).get_models():
            by_segment[slugify(str(model._meta.verbose_name_plural))] = model
            by_segment[model._meta.model_name or ""] = model
    for segment, model_name in SEGMENT_ALIASES.items():
        for model in by_segment.copy().values():
            if model._meta.model_name == model_name:
                by_segment[segment] = model
    return by_segment


def discover_pages(user: Any) -> list[Page]:
    """Every workspace route, with its ``<pk>`` filled for this user."""
    from django.urls import get_resolver, reverse

    models = _models_by_segment()
    pages: list[Page] = []
    for name, pattern in _walk(get_resolver().url_patterns):
        if pattern.startswith(SKIPPED_PREFIXES):
            continue
        kwargs: dict[str, Any] = {}
        note = ""
        if "<" in pattern:
            segments = pattern.split("/")
            for index, segment in enumerate(segments):
                if not segment.startswith("<"):
                    continue
                key = segment.strip("<>").split(":")[-1]
                model = models.get(segments[index - 1]) if index else None
                obj = model.objects.visible_to(user).order_by("pk").first() if model is not None else None
                if obj is None:
                    note = f"no {segments[index - 1] if index else key} to fill <{key}>"
                    break
                kwargs[key] = obj.pk
        if note:
            pages.append(Page(name, pattern, None, note))
            continue
        url = reverse(name, kwargs=kwargs)
        if name in QUERY_STRINGS:
            url += "?" + QUERY_STRINGS[name]
        pages.append(Page(name, pattern, url))
    return pages


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def measure(user: Any, page: Page, runs: int) -> Result | None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    assert page.url is not None  # noqa: S101 - discover_pages only leaves a note when it is None
    # A page that fails is reported with its status, not raised: the run goes on.
    client = Client(raise_request_exception=False)
    client.force_login(user)
    status = client.get(page.url).status_code
    if status == 405:
        return None
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(page.url)
        samples.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(page.url)
    return Result(
        user=user.username,
        page=page,
        status=status,
        median_ms=statistics.median(samples),
        p95_ms=_p95(samples),
        queries=len(queries),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=20, help="timed requests per page (default 20)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a throw-away database to migrate and load (default: DATABASE_URL, else a temporary SQLite)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    with tempfile.TemporaryDirectory(prefix="pmaas-bench-") as scratch:
        _configure(args.database_url, Path(scratch))
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connections

        from accounts.models import User
        from demo.portfolio import demo_load

        engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(f"database: {engine}; runs per page: {args.runs}", flush=True)
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        outcome = demo_load().outcome
        print(f"demo: {outcome} in {time.perf_counter() - started:.1f} s", flush=True)
        if outcome == "refused":
            print("bench: the database holds other engagements; give it a throw-away one", file=sys.stderr)
            return 2

        results: list[Result] = []
        skipped: list[str] = []
        for username in USERS:
            user = User.objects.get(username=username)
            for page in discover_pages(user):
                if page.url is None:
                    skipped.append(f"{username}: {page.name} ({page.note})")
                    continue
                result = measure(user, page, args.runs)
                if result is None:
                    skipped.append(f"{username}: {page.name} (POST only)")
                    continue
                results.append(result)
        connections.close_all()

    _print_table(results)
    for line in skipped:
        print(f"skipped {line}")
    slow = [r for r in results if r.median_ms > SLOW_MS]
    failed = [r for r in results if r.status >= 400]
    print(
        f"\n{len(results)} pages measured; {len(slow)} with a median above {SLOW_MS:.0f} ms; "
        f"{len(failed)} answered with an error"
    )
    return 1 if slow or failed else 0


def _print_table(results: list[Result], slow_ms: float = SLOW_MS) -> None:
    header = ("user", "page", "url", "status", "median ms", "p95 ms", "queries", "")
    rows = [header]
    for r in results:
        flag = "ERROR" if r.status >= 400 else "SLOW" if r.median_ms > slow_ms else ""
        rows.append(
            (
                r.user,
                r.page.name,
                r.page.url or "",
                str(r.status),
                f"{r.median_ms:.1f}",
                f"{r.p95_ms:.1f}",
                str(r.queries),
                flag,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
