"""Loading the demo into a database of its own: the same history at any hour, and no harm to real data.

Apart from tests/workspace/test_demo.py, whose tests share one loaded demo: these need an empty database.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from communications.models import CheckIn, FollowUp, FollowUpComment
from demo.portfolio import demo_load
from tests import factories
from tests.workspace.test_demo import _counts

pytestmark = pytest.mark.django_db


def _fingerprint() -> list[Any]:
    # Ordered by every column compared: rows equal in the leading keys must not swap between runs.
    check_ins = CheckIn.objects.order_by(
        "occurred_at", "engagement__code", "summary", "channel__title", "sentiment", "decisions"
    ).values_list("engagement__code", "occurred_at", "summary", "sentiment", "decisions", "channel__title")
    follow_ups = FollowUp.objects.order_by(
        "due_at",
        "engagement__code",
        "title",
        "owner_user__username",
        "owner_stakeholder__name",
        "status",
        "completed_at",
    ).values_list("engagement__code", "title", "due_at", "status", "completed_at", "owner_user__username")
    comments = FollowUpComment.objects.order_by("created_at", "follow_up__title", "body").values_list(
        "follow_up__title", "body", "created_at"
    )
    return [*check_ins, *follow_ups, *comments]


def test_demo_builds_the_same_portfolio_at_any_time_of_the_same_day() -> None:
    # given two moments of the same day
    morning = timezone.now().replace(hour=6, minute=5)
    evening = morning.replace(hour=22, minute=40)

    # when loading the demo at each, starting from an empty database both times
    shapes = []
    for now in (morning, evening):
        with transaction.atomic():
            demo_load(now=now)
            shapes.append(_fingerprint())
            transaction.set_rollback(True)

    # then both runs wrote the same history
    assert shapes[0] == shapes[1]
    assert len(shapes[0]) > 300


def test_demo_leaves_a_database_with_other_engagements_alone() -> None:
    # given a database that already holds someone's real engagement
    factories.make_engagement(code="REAL-1")
    before = _counts()

    # when running the demo against it
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("demo", stdout=stdout, stderr=stderr)

    # then nothing is written, above all no superuser with a published password
    assert "left it alone" in stderr.getvalue()
    assert _counts() == before
    assert not User.objects.filter(username="admin").exists()
