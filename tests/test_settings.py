"""Start-up configuration: every mistake in the environment is named in one line."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from celery.schedules import crontab, schedule
from django.conf import settings

STRONG_SECRET_KEY = secrets.token_urlsafe(64)


def _run(args: list[str], *, env: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    clean_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "pmaas.settings",
        # Keep the embedded SQLite file and broker folders of these runs out of var/.
        "PMAAS_VAR_DIR": str(var_dir),
        **env,
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _start(env: dict[str, str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    return _run(["-c", "import django; django.setup()"], env=env, var_dir=var_dir)


def test_the_embedded_default_starts_with_nothing_but_debug_set(tmp_path):
    # Given an environment with only DEBUG on
    # When Django starts
    result = _start({"DEBUG": "true"}, tmp_path)

    # Then it starts on SQLite and the filesystem broker
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SECRET_KEY"),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "DEBUG": "maybe"}, "DEBUG"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "DATABASE_URL": "postgres://u@db:port/x"}, "DATABASE_URL"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "CELERY_BROKER_URL": "ftp://x"}, "CELERY_BROKER_URL"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "EMAIL_URL": "nonsense://x"}, "EMAIL_URL"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "EMAIL_URL": "smtp://mail:port"}, "EMAIL_URL"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "AXES_FAILURE_LIMIT": "abc"}, "AXES_FAILURE_LIMIT"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "AXES_FAILURE_LIMIT": "0"}, "AXES_FAILURE_LIMIT"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "CACHE_URL": "locmemcache://"}, "CACHE_URL"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "API_THROTTLE_RATE": "5/fortnight"}, "API_THROTTLE_RATE"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "API_WRITE_THROTTLE_RATE": "many"}, "API_WRITE_THROTTLE_RATE"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "PASSWORD_RESET_MINUTES": "0"}, "PASSWORD_RESET_MINUTES"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "WORKING_DAY_END": "5pm"}, "WORKING_DAY_END"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "WORKING_DAY_END": "25:00"}, "WORKING_DAY_END"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "EMAIL_HOURLY_CAP": "0"}, "EMAIL_HOURLY_CAP"),
        ({"SECRET_KEY": STRONG_SECRET_KEY, "EMAIL_HOURLY_CAP": "four"}, "EMAIL_HOURLY_CAP"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_missing_or_malformed_variable_stops_start_up_with_one_line_naming_it(tmp_path, env, variable):
    # Given an environment with one variable missing or malformed
    # When Django starts
    result = _start(env, tmp_path)

    # Then it stops with a single line that names the variable, not a traceback
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_production_settings_pass_the_deployment_checks(tmp_path):
    # Given the environment of a production deployment
    env = {
        "DEBUG": "false",
        "SECRET_KEY": STRONG_SECRET_KEY,
        "ALLOWED_HOSTS": "tracker.example.com",
    }
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]

    # When Django's deployment checks run, failing on warnings too
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=env, var_dir=tmp_path)

    # Then they find nothing
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def _seconds(value: object) -> float:
    if isinstance(value, crontab):
        raise AssertionError("teach this test the shortest gap between two runs of a crontab entry")
    if isinstance(value, schedule):
        return float(value.seconds)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    assert isinstance(value, int | float)
    return float(value)


@pytest.mark.parametrize("name", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_each_beat_entry_expires_before_its_next_run(name):
    # Given a periodic task of the beat schedule
    entry: dict[str, Any] = settings.CELERY_BEAT_SCHEDULE[name]

    # Then a copy left in the queue expires before the next copy is sent,
    # so a stopped worker never comes back to a pile of the same sweep
    assert 0 < _seconds(entry["options"]["expires"]) < _seconds(entry["schedule"])


MAIL_IN_A_WORKER = """
import logging, sys
import django
django.setup()
from celery.utils.log import LoggingProxy
from django.core.mail import EmailMultiAlternatives
# As a Celery worker does: its standard output becomes WARNING log lines.
logging.basicConfig(level=logging.INFO)
sys.stdout = LoggingProxy(logging.getLogger("celery.redirected"), logging.WARNING)
message = EmailMultiAlternatives(
    "Status update: Rollout, week of 30 Nov",
    "Dear Ms Okafor,\\nThe pilot ward went live on Tuesday.\\n",
    "tracker@localhost",
    ["Ada Okafor <ada@client.test>", "=?utf-8?q?Prof=2E_Dr=2E_Annette_Kr=C3=BCger?= <ak@client.test>"],
    headers={"List-Unsubscribe": "<https://tracker.test/u/x/>"},
)
message.attach_alternative("<p>The pilot ward went live on Tuesday.</p>", "text/html")
message.send()
"""


def test_the_embedded_default_prints_each_mail_as_a_readable_block_not_as_log_warnings(tmp_path):
    # When a worker on the embedded default sends a mail with an HTML alternative
    result = _run(["-c", MAIL_IN_A_WORKER], env={"DEBUG": "true"}, var_dir=tmp_path)

    # Then the console shows who, what and the text, as a person reads them
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "To: Ada Okafor <ada@client.test>, Prof. Dr. Annette Krüger <ak@client.test>" in out
    assert "Subject: Status update: Rollout, week of 30 Nov" in out
    assert "List-Unsubscribe: <https://tracker.test/u/x/>" in out
    assert "Dear Ms Okafor,\nThe pilot ward went live on Tuesday." in out
    assert "(also as text/html" in out
    # And neither raw MIME nor a WARNING line per line of the mail
    assert "Content-Transfer-Encoding" not in out
    assert "celery.redirected" not in result.stderr


def test_postgresql_never_jit_compiles_the_apps_queries(tmp_path):
    # Given production settings on a PostgreSQL URL that carries options of its own
    env = {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/app?options=-c%20statement_timeout%3D5000",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "example.com",
    }

    # When the settings load
    result = _run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DATABASES['default']['OPTIONS']['options'])",
        ],
        env=env,
        var_dir=tmp_path,
    )

    # Then JIT is off and the URL's own options are kept
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["-c", "statement_timeout=5000", "-c", "jit=off"]
