"""Every API answer matches the OpenAPI schema: schemathesis against the served schema, in process.

For a consultant and for a client user, each operation of /api/v1/schema/ is
called with schema-valid and schema-violating requests (a bounded number of
examples, derandomized so a run repeats exactly) through the WSGI application,
against the test database, with every check schemathesis has: no 500s, only
documented status codes, content types and headers, response bodies that
match their schemas, invalid input refused, valid input accepted, and
authentication not ignored.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, Phase, given, settings

from pmaas.throttling import UserThrottle
from tests.factories import World

# Enough to reach each operation's filters, bodies and error paths; the whole
# module stays well under 90 s on two cores.
EXAMPLES_PER_OPERATION = 8

APPLICATION = get_wsgi_application()


@pytest.fixture
def unthrottled(monkeypatch: pytest.MonkeyPatch) -> None:
    # Throttling has its own test; here it would only cut the run short.
    monkeypatch.setitem(UserThrottle.THROTTLE_RATES, "user", "1000000/minute")
    monkeypatch.setitem(UserThrottle.THROTTLE_RATES, "user_writes", "1000000/minute")


@contextmanager
def keeping_the_test_connection() -> Iterator[None]:
    """Requests through the WSGI handler keep the test's database connection.

    The handler closes connections when a request finishes, which would end
    the test's transaction. Django's test client disconnects the same signal
    handler only while it serves a request, and connects it again after.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", ["consultant", "client_user"])
def test_every_api_answer_matches_the_schema(world: World, role: str, unthrottled: None) -> None:
    # Given a logged-in user and the schema the API serves them
    client = Client()
    client.force_login(getattr(world, role))
    served = client.get("/api/v1/schema/", {"format": "json"})
    assert served.status_code == 200
    config = schemathesis.Config.from_dict(
        {
            # The session cookie is the schema's cookieAuth, so schemathesis also tries requests without it.
            "auth": {"openapi": {"cookieAuth": {"api_key": client.cookies["sessionid"].value}}},
            # Schema-valid ids may still name rows that do not exist or lie outside the caller's
            # scope: those are refused with the documented 400, 403 or 404, never accepted.
            "checks": {"positive_data_acceptance": {"expected-statuses": ["2XX", "400", "403", "404"]}},
            # Values harvested from the loaded modules depend on what else this process
            # imported first; without them a run repeats exactly.
            "analysis": {"constants": {"enabled": False}},
        }
    )
    schema = schemathesis.openapi.from_dict(served.json(), config=config)
    schema.app = APPLICATION
    csrf = get_random_string(32)

    # When every operation is called with valid and with invalid requests
    failures: list[str] = []
    with keeping_the_test_connection():
        _fuzz(schema, csrf=csrf, failures=failures)

    # Then schemathesis finds nothing
    assert not failures, "\n\n".join(failures)


def _fuzz(schema: Any, *, csrf: str, failures: list[str]) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in schemathesis.GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                derandomize=True,
                database=None,
                deadline=None,
                # No shrinking: the first failing example is reported as found.
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case: Any) -> None:
                case.call_and_validate(cookies={"csrftoken": csrf}, headers={"X-CSRFToken": csrf})

            try:
                call()
            # schemathesis reports its findings as a BaseExceptionGroup.
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(
                    f"{operation.label} ({mode.value}): {''.join(traceback.format_exception_only(exc))}"
                )
