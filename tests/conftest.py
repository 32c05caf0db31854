from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from pytest_django.fixtures import Settings

from pmaas.celery import app as celery_app
from tests import factories
from tests.flaky_mail import FlakyBackend


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Throttle counters and the password-reset limiter start from nothing in every test."""
    cache.clear()


@pytest.fixture
def world(db: None) -> factories.World:
    """Two clients, each with an engagement, its team, stakeholders and a plan; one user per role.

    ``world.mine`` is the engagement the consultant belongs to; ``world.other``
    belongs to another client and team. Every role's scope is decided by these two.
    """
    return factories.build_world()


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
