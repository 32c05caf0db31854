from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def world(db: None) -> factories.World:
    """Two clients, each with an engagement, its team, stakeholders and a plan; one user per role.

    ``world.mine`` is the engagement the consultant belongs to; ``world.other``
    belongs to another client and team. Every role's scope is decided by these two.
    """
    return factories.build_world()


# A real Celery worker and an unconsumed broker queue, for tests marked celery_worker.
from tests.celery_fixtures import celery_worker, idle_queue  # noqa: E402,F401
