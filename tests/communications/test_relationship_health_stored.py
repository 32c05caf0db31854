"""Relationship health stored on each role: recomputed with the engagement's, remembering its last change."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communications.health import AMBER, GREEN, RED, engagement_health_refresh, engagements_recompute_health
from communications.models import FollowUp
from communications.services import FollowUpSpec, channel_pause, check_in_delete, check_in_edit
from engagements.models import Membership
from stakeholders.models import Level, StakeholderRole
from tests import factories

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def _stored(role: StakeholderRole) -> StakeholderRole:
    return StakeholderRole.objects.get(pk=role.pk)


def _met(*, days_ago: int, owes_in_days: int | None = None) -> StakeholderRole:
    """A business leader, on the level wanted, met once ``days_ago`` before NOW (nobody else met);
    owing a follow-up due ``owes_in_days`` after NOW when given. Health computed at the meeting."""
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    role = factories.make_role(
        engagement=engagement, current_level=Level.SUPPORTIVE, desired_level=Level.SUPPORTIVE
    )
    met_at = NOW - dt.timedelta(days=days_ago)
    follow_ups = []
    if owes_in_days is not None:
        follow_ups.append(
            FollowUpSpec(
                title="Send the signed budget",
                due_at=NOW + dt.timedelta(days=owes_in_days),
                owner_stakeholder=role.stakeholder,
            )
        )
    factories.make_check_in(
        engagement=engagement,
        attendees=[role.stakeholder],
        actor=lead,
        occurred_at=met_at,
        follow_ups=follow_ups,
        covers=[],
        as_of=met_at,
    )
    return role


def test_the_first_computation_stores_colour_factors_and_time_but_no_drop():
    # Given a person on the register, never met
    engagement = factories.make_engagement(lead=factories.consultant())
    role = factories.make_role(engagement=engagement)

    # When the engagement's health is recomputed
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=NOW)

    # Then the relationship is stored amber with why and when, since now, with nothing before it
    stored = _stored(role)
    assert stored.relationship_health == AMBER
    assert [f["detail"] for f in stored.relationship_health_factors] == ["No contact recorded yet"]
    assert (stored.relationship_health_computed_at, stored.relationship_health_since) == (NOW, NOW)
    assert stored.relationship_health_previous == ""
    assert not StakeholderRole.objects.health_dropped(since=NOW - dt.timedelta(days=14)).exists()


def test_time_alone_makes_a_drop_the_sweep_records_with_the_colour_before_and_when():
    # Given someone met ten days ago (green then), who owes a follow-up due a day before NOW
    role = _met(days_ago=10, owes_in_days=-1)
    assert _stored(role).relationship_health == GREEN

    # When the sweep runs at NOW
    engagements_recompute_health(as_of=NOW)

    # Then the relationship is amber since NOW, and remembers it was green
    stored = _stored(role)
    assert (stored.relationship_health, stored.relationship_health_previous) == (AMBER, GREEN)
    assert stored.relationship_health_since == NOW
    assert [f["code"] for f in stored.relationship_health_factors] == ["overdue_follow_ups"]
    assert list(StakeholderRole.objects.health_dropped(since=NOW - dt.timedelta(days=14))) == [stored]


def test_a_later_sweep_in_the_same_colour_keeps_when_it_changed_and_refreshes_the_reasons():
    role = _met(days_ago=10)
    engagements_recompute_health(as_of=NOW + dt.timedelta(days=12))  # 22 days unmet: amber
    dropped_at = _stored(role).relationship_health_since

    engagements_recompute_health(as_of=NOW + dt.timedelta(days=14))

    stored = _stored(role)
    assert (stored.relationship_health, stored.relationship_health_previous) == (AMBER, GREEN)
    assert stored.relationship_health_since == dropped_at == NOW + dt.timedelta(days=12)
    assert stored.relationship_health_computed_at == NOW + dt.timedelta(days=14)
    assert "No contact for over 3 weeks" in stored.relationship_health_factors[0]["detail"]


def test_a_recovery_is_not_a_drop():
    # Given a relationship that went red (46 days unmet)
    role = _met(days_ago=10)
    engagements_recompute_health(as_of=NOW + dt.timedelta(days=36))
    assert _stored(role).relationship_health == RED

    # When the person is met again
    factories.make_check_in(
        engagement=role.engagement,
        attendees=[role.stakeholder],
        occurred_at=NOW + dt.timedelta(days=37),
        covers=[],
        as_of=NOW + dt.timedelta(days=37),
    )

    # Then it is green again, was red, and is no longer among the drops
    stored = _stored(role)
    assert (stored.relationship_health, stored.relationship_health_previous) == (GREEN, RED)
    assert not StakeholderRole.objects.health_dropped(since=NOW).exists()


def test_planning_and_pausing_a_channel_recompute_the_relationship_at_once():
    # Given someone last met 30 days ago without a plan: amber for the silence
    role = _met(days_ago=30)
    engagements_recompute_health(as_of=NOW)
    assert _stored(role).relationship_health == AMBER

    # When a weekly channel with them is planned, the silence is judged against it: not yet due
    lead = role.engagement.memberships.get().user
    channel = factories.make_channel(role=role, owner=lead, starts_on=NOW.date(), as_of=NOW)
    assert _stored(role).relationship_health == GREEN

    # And when it is paused, 30 days without a plan are amber again
    channel_pause(actor=lead, channel=channel, as_of=NOW)
    assert _stored(role).relationship_health == AMBER


def test_a_recomputation_does_not_make_an_open_role_form_stale():
    role = _met(days_ago=10, owes_in_days=-1)
    before = _stored(role).updated_at

    engagements_recompute_health(as_of=NOW)

    assert _stored(role).updated_at == before


def _roles_owing(count: int) -> None:
    for _ in range(count):
        _met(days_ago=5, owes_in_days=-1)


def test_the_sweep_costs_the_same_queries_for_many_roles_as_for_few(django_assert_num_queries):
    # Given three relationships that will drop at NOW, and the sweep's queries over them
    _roles_owing(3)
    with CaptureQueriesContext(connection) as small:
        engagements_recompute_health(as_of=NOW, batch_size=50)
    assert StakeholderRole.objects.filter(relationship_health=AMBER).count() == 3

    # When nine more relationships drop
    _roles_owing(9)

    # Then the sweep that records their drops costs the same queries
    with django_assert_num_queries(len(small.captured_queries)):
        engagements_recompute_health(as_of=NOW, batch_size=50)
    assert StakeholderRole.objects.health_dropped(since=NOW).count() == 12
    assert FollowUp.objects.count() == 12


def test_the_last_meeting_is_stored_on_the_role_and_follows_corrections_and_deletions():
    # Given a person met 20 days and 5 days before NOW
    role = _met(days_ago=20)
    engagement = role.engagement
    lead = Membership.objects.leads().get(engagement=engagement).user
    assert _stored(role).last_met_at == NOW - dt.timedelta(days=20)
    later = factories.make_check_in(
        engagement=engagement,
        attendees=[role.stakeholder],
        actor=lead,
        occurred_at=NOW - dt.timedelta(days=5),
        covers=[],
        as_of=NOW,
    )
    assert _stored(role).last_met_at == NOW - dt.timedelta(days=5)

    # When the later check-in is corrected to two days earlier
    check_in_edit(
        actor=lead,
        check_in=later,
        occurred_at=NOW - dt.timedelta(days=7),
        summary=later.summary,
        attendees=[role.stakeholder],
        as_of=NOW,
    )

    # Then the role says so
    assert _stored(role).last_met_at == NOW - dt.timedelta(days=7)

    # And when it is deleted, the meeting before it is the last again
    later.refresh_from_db()
    check_in_delete(actor=lead, check_in=later, reason="Logged on the wrong engagement", as_of=NOW)
    assert _stored(role).last_met_at == NOW - dt.timedelta(days=20)
