from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from pytest_django.fixtures import Settings

from pmaas.celery import app as celery_app
from tests import factories
from tests.flaky_mail import FlakyBackend


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Throttle counters and the password-reset limiter start from nothing in every test."""
    cache.clear()


def _outside_a_test_transaction(item: pytest.Item) -> bool:
    """Whether pytest-django runs this test on committed rows rather than inside a rolled-back transaction."""
    marker = item.get_closest_marker("django_db")
    if marker is not None:
        flags = ("transaction", "reset_sequences", "serialized_rollback")
        if (marker.args and marker.args[0]) or any(marker.kwargs.get(flag) for flag in flags):
            return True
    return bool(_COMMITTING_FIXTURES & set(getattr(item, "fixturenames", ())))


_COMMITTING_FIXTURES = {
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


class _SharedWorld:
    """The world the tests of one module share, written in a transaction of its own (per process)."""

    atomic: transaction.Atomic | None = None
    world: factories.World | None = None
    module: object = None


_shared = _SharedWorld()


def _shared_world_close(blocker: Any) -> None:
    if _shared.atomic is None:
        return
    with blocker.unblock():
        transaction.set_rollback(True)
        _shared.atomic.__exit__(None, None, None)
    _shared.atomic, _shared.world, _shared.module = None, None, None


def _shared_world_open(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("django_db_setup")
    blocker = request.getfixturevalue("django_db_blocker")
    with blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            world = factories.build_world()
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    _shared.atomic, _shared.world, _shared.module = atomic, world, request.module


@pytest.fixture(autouse=True)
def _world_shared_within_the_module(request: pytest.FixtureRequest) -> None:
    """Build ``world`` once for the consecutive tests of a module that use it.

    Building it through the services for every test was a third of the suite's
    time. The shared world lives in a transaction of its own, rolled back as
    soon as a test that does not ask for it comes (so that test sees none of
    its rows), at the end of the module, or before a test that commits (a
    transactional test cannot run inside it). Each test runs in a savepoint
    inside it, so what a test writes is undone after it. Autouse, so it runs
    before ``db`` opens the test's own transaction.
    """
    wanted = "world" in request.fixturenames and not _outside_a_test_transaction(request.node)
    if _shared.atomic is not None and (not wanted or _shared.module is not request.module):
        _shared_world_close(request.getfixturevalue("django_db_blocker"))
    if wanted and _shared.atomic is None and not connection.in_atomic_block:
        _shared_world_open(request)


@pytest.fixture(scope="module", autouse=True)
def _shared_world_closed_after_the_module(django_db_blocker: Any) -> Iterator[None]:
    yield
    _shared_world_close(django_db_blocker)


@pytest.fixture
def world(db: None) -> factories.World:
    """Two clients, each with an engagement, its team, stakeholders and a plan; one user per role.

    ``world.mine`` is the engagement the consultant belongs to; ``world.other``
    belongs to another client and team. Every role's scope is decided by these two.
    Each test gets its own copy of the shared objects, so what it changes in
    memory does not reach the next test.
    """
    if _shared.world is None:
        return factories.build_world()
    return copy.deepcopy(_shared.world)


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    """Tasks enqueued on commit run in-process, so the mail they send lands in Django's locmem outbox."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def flaky_mail(settings: Settings) -> type[FlakyBackend]:
    """A mail server that refuses as many sends as the test asks it to (``fail_next``)."""
    settings.EMAIL_BACKEND = "tests.flaky_mail.FlakyBackend"
    FlakyBackend.fail_next(0)
    return FlakyBackend


# A real Celery worker and an unconsumed broker queue, for tests marked celery_worker.
from tests.celery_fixtures import celery_worker, idle_queue  # noqa: E402,F401
