"""Calendar feed secrets never reach a log: gunicorn's access log and Django's request loggers mask them."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from communications import calendar_feeds
from pmaas.access_log import mask_secrets
from tests import factories
from tests.celery_fixtures import celery_env, stop_process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _procfile_web_command() -> str:
    for line in (Path(settings.BASE_DIR) / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name == "web":
            return command.strip()
    raise AssertionError("the Procfile has no web process")


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"gunicorn did not listen within 30 s:\n{log.read_text()}")


def test_gunicorn_logs_a_feed_read_with_its_token_masked(transactional_db: None, tmp_path: Path) -> None:
    # Given a consultant's calendar feed, and the web process as the Procfile starts it
    consultant = factories.consultant()
    _feed, secret = calendar_feeds.calendar_feed_create(actor=consultant)
    port = _free_port()
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["bash", "-c", "exec " + _procfile_web_command()],
            cwd=settings.BASE_DIR,
            # The Procfile names gunicorn bare: find it beside the interpreter running the tests,
            # whether or not the virtualenv is on PATH (.ci/shifted-clock does not put it there).
            env={
                **celery_env(),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
                "WEB_BIND": f"127.0.0.1:{port}",
                "DEBUG": "true",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(port, process, log)

        # When a calendar client reads the feed, and someone guesses another token
        url = f"http://127.0.0.1:{port}{reverse('calendar_feed', kwargs={'token': secret})}"
        with urllib.request.urlopen(url, timeout=20) as response:  # noqa: S310 (a loopback URL)
            assert response.status == 200
            server = response.headers["Server"]
        guessed = "guessed-token-0123456789"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(  # noqa: S310 (a loopback URL)
                f"http://127.0.0.1:{port}/calendar/{guessed}.ics?x=1", timeout=20
            )
        assert refused.value.code == 404
    finally:
        stop_process(process)

    # Then both requests are in the access log, and neither token is
    text = log.read_text()
    assert '"GET /calendar/***.ics HTTP/1.1" 200' in text, text
    assert '"GET /calendar/***.ics?x=1 HTTP/1.1" 404' in text, text
    assert secret not in text
    assert guessed not in text
    # And the server does not say which version it runs
    assert not any(character.isdigit() for character in server), server


def test_django_request_logs_mask_the_token(
    client: Client, db: None, caplog: pytest.LogCaptureFixture
) -> None:
    token = "never-in-a-log-0123456789"
    with caplog.at_level(logging.INFO):
        # When an unknown feed is asked for, Django logs the 404 …
        assert client.get(reverse("calendar_feed", kwargs={"token": token})).status_code == 404
        # … and runserver logs the request line the way its request handler does
        logging.getLogger("django.server").info('"%s" %s %s', f"GET /calendar/{token}.ics HTTP/1.1", 404, 179)

    messages = [record.getMessage() for record in caplog.records]
    assert "Not Found: /calendar/***.ics" in messages
    assert '"GET /calendar/***.ics HTTP/1.1" 404 179' in messages
    assert not any(token in message for message in messages)


@pytest.mark.parametrize(
    ("logged", "kept"),
    [
        ("GET /account/calendar/ HTTP/1.1", "GET /account/calendar/ HTTP/1.1"),
        ("POST /account/calendar/7/revoke/ HTTP/1.1", "POST /account/calendar/7/revoke/ HTTP/1.1"),
        (
            "Referer: https://tracker.example.com/calendar/abc",
            "Referer: https://tracker.example.com/calendar/***",
        ),
    ],
)
def test_only_the_feed_token_is_masked(logged: str, kept: str) -> None:
    assert mask_secrets(logged) == kept


def test_a_refused_request_is_one_line_in_the_log_without_a_traceback(
    client: Client, world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the world's check-in, which the consultant did not log and may not correct
    client.force_login(world.consultant)
    url = reverse("check_in_edit", args=[world.mine.check_in.pk])

    # When they open its correction form
    with caplog.at_level(logging.INFO):
        assert client.get(url).status_code == 403

    # Then the refusal is logged once, as a line naming the path, with no traceback to bury the rest
    refused = [record for record in caplog.records if url in record.getMessage()]
    assert [record.levelname for record in refused] == ["WARNING"]
    assert not any(record.exc_info or record.exc_text for record in caplog.records)


def test_djangos_records_reach_the_console_once_whatever_debug_says() -> None:
    # Django's default logging gives its logger a console handler of its own for DEBUG; beside the
    # root's, every refusal was printed twice when ./run started the app with DEBUG=true.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django").propagate
    assert logging.getLogger().handlers
