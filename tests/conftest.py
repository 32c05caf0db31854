from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    """Two clients, each with an engagement, its team, stakeholders and a plan; one user per role.

    ``world.mine`` is the engagement the consultant belongs to; ``world.other``
    belongs to another client and team. Every role's scope is decided by these two.
    """
    return factories.build_world()
