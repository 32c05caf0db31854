"""Clients, engagements, teams, milestones and change requests: what the database itself refuses,
how each row reads, and the QuerySet vocabulary. User's constraint lives here too: it is about
which users are bound to a client."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from engagements.models import ChangeRequest, Client, Engagement, Health, Membership, Milestone
from tests import factories
from tests.factories import World

Violation = Callable[[World], object]

CONSTRAINT_VIOLATIONS: list[tuple[str, Violation, tuple[str, ...]]] = [
    (
        "negative budget",
        lambda w: Engagement.objects.filter(pk=w.mine.engagement.pk).update(budget=-1),
        ("engagement_budget_not_negative",),
    ),
    (
        "ends before it starts",
        lambda w: Engagement.objects.filter(pk=w.mine.engagement.pk).update(end_date=date(2026, 1, 4)),
        ("engagement_ends_after_start",),
    ),
    (
        "override without a reason",
        lambda w: Engagement.objects.filter(pk=w.mine.engagement.pk).update(
            health_override="red", health_override_until=timezone.now()
        ),
        ("engagement_override_has_reason",),
    ),
    (
        "override without an expiry",
        lambda w: Engagement.objects.filter(pk=w.mine.engagement.pk).update(
            health_override="red", health_override_reason="Why"
        ),
        ("engagement_override_has_expiry",),
    ),
    (
        "engagement code twice",
        lambda w: Engagement.objects.create(
            client=w.client_a, name="Copy", code="EHR-A", start_date=date(2026, 1, 5)
        ),
        ("engagements_engagement_code", "engagements_engagement.code"),
    ),
    (
        "user on a team twice",
        lambda w: Membership.objects.create(engagement=w.mine.engagement, user=w.consultant),
        ("membership_once_per_engagement", "engagements_membership.engagement_id"),
    ),
    (
        "decided change request without a decision time",
        lambda w: ChangeRequest.objects.filter(pk=w.mine.change_request.pk).update(status="approved"),
        ("change_request_decided_at_iff_decided",),
    ),
    (
        "open change request with a decision time",
        lambda w: ChangeRequest.objects.filter(pk=w.mine.change_request.pk).update(decided_at=timezone.now()),
        ("change_request_decided_at_iff_decided",),
    ),
    (
        "client user without a client",
        lambda w: User.objects.create(username="loose", role=User.Role.CLIENT, client=None),
        ("user_client_iff_client_role",),
    ),
    (
        "firm user bound to a client",
        lambda w: User.objects.filter(pk=w.consultant.pk).update(client=w.client_a),
        ("user_client_iff_client_role",),
    ),
]


@pytest.mark.parametrize(
    ("case", "violate", "evidence"), CONSTRAINT_VIOLATIONS, ids=[case for case, _, _ in CONSTRAINT_VIOLATIONS]
)
def test_database_refuses_rows_that_break_a_constraint(
    world: World, case: str, violate: Violation, evidence: tuple[str, ...]
) -> None:
    # Given a write that goes around the services straight to the database
    # When it is executed
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        violate(world)

    # Then the database refuses it, by the constraint meant for it
    assert any(fragment in str(refused.value) for fragment in evidence), str(refused.value)


def test_database_accepts_the_boundary_values_of_those_constraints(world: World) -> None:
    # Given two engagements and a change request
    engagement = world.mine.engagement

    # When each is set to the edge of what its constraint allows
    Engagement.objects.filter(pk=engagement.pk).update(
        budget=0,
        end_date=engagement.start_date,
        health_override="amber",
        health_override_reason="Why",
        health_override_until=timezone.now(),
    )
    ChangeRequest.objects.filter(pk=world.mine.change_request.pk).update(
        status="rejected", decided_at=timezone.now()
    )
    Engagement.objects.filter(pk=world.sibling.engagement.pk).update(end_date=None)

    # Then the rows are stored
    stored = Engagement.objects.get(pk=engagement.pk)
    assert (stored.budget, stored.end_date) == (0, stored.start_date)
    assert ChangeRequest.objects.get(pk=world.mine.change_request.pk).status == "rejected"
    assert Engagement.objects.get(pk=world.sibling.engagement.pk).end_date is None


# --- how rows read ------------------------------------------------------------------------------------


def test_rows_read_as_people_would_name_them(world: World) -> None:
    # Given the consultant's engagement and what hangs off it
    # When each is turned into text
    # Then it reads as a person would name it
    assert str(world.client_a) == "Northwind Health"
    assert str(world.mine.engagement) == "EHR-A EHR rollout"
    assert str(world.mine.membership) == f"{world.lead.get_full_name()} (Engagement lead) on EHR-A"
    assert str(world.mine.milestone) == "Go-live (2026-09-01)"
    assert str(world.mine.change_request) == "Add the pharmacy module (Proposed)"


def test_user_reads_as_their_full_name_or_else_their_username(db: None) -> None:
    # Given a user with a name and one without
    named = factories.consultant(first_name="Ada", last_name="Lovelace")
    nameless = factories.consultant(username="svc-export", first_name="", last_name="")

    # When they are turned into text
    # Then the name is used when there is one
    assert (str(named), str(nameless)) == ("Ada Lovelace", "svc-export")


# --- properties ---------------------------------------------------------------------------------------


def test_effective_health_is_the_override_when_there_is_one(world: World) -> None:
    # Given an engagement computed amber
    engagement = world.mine.engagement
    engagement.health = Health.AMBER

    # When it is not overridden, and when it is
    plain = (engagement.effective_health, engagement.health_is_overridden)
    engagement.health_override = Health.RED
    overridden = (engagement.effective_health, engagement.health_is_overridden)

    # Then the computed colour shows until someone overrides it
    assert plain == (Health.AMBER, False)
    assert overridden == (Health.RED, True)


def test_effective_health_is_the_computed_one_once_the_override_expires(world: World) -> None:
    # Given an engagement computed amber, overridden red until a moment
    engagement = world.mine.engagement
    engagement.health = Health.AMBER
    engagement.health_override = Health.RED
    lapses = timezone.now() + timedelta(hours=1)
    engagement.health_override_until = lapses

    # When asked before and at that moment
    before = engagement.health_override_in_force(lapses - timedelta(seconds=1))
    at = engagement.health_override_in_force(lapses)

    # Then the override holds until it lapses, and the computed colour shows after
    assert (before, at) == (True, False)
    assert engagement.effective_health == Health.RED
    engagement.health_override_until = timezone.now() - timedelta(seconds=1)
    assert (engagement.effective_health, engagement.health_is_overridden) == (Health.AMBER, False)


def test_milestone_is_complete_once_it_has_a_completion_date(world: World) -> None:
    # Given an open milestone
    milestone = world.mine.milestone
    assert not milestone.is_complete

    # When it gets a completion date
    milestone.completed_on = date(2026, 8, 30)

    # Then it is complete
    assert milestone.is_complete


@pytest.mark.parametrize(
    ("build", "administrator", "sees_all", "firm"),
    [
        (lambda w: w.administrator, True, True, True),
        (lambda w: factories.consultant(is_superuser=True), True, True, True),
        (lambda w: w.practice_lead, False, True, True),
        (lambda w: factories.practice_lead(is_active=False), False, False, True),
        (lambda w: w.consultant, False, False, True),
        (lambda w: w.client_user, False, False, False),
    ],
    ids=[
        "administrator",
        "superuser",
        "practice lead",
        "inactive practice lead",
        "consultant",
        "client user",
    ],
)
def test_user_role_properties(
    world: World, build: Callable[[World], User], administrator: bool, sees_all: bool, firm: bool
) -> None:
    # Given a user of one role
    user = build(world)

    # When their role properties are read
    # Then they say what the role may do; an inactive account sees nothing
    assert (user.is_administrator, user.sees_all_engagements, user.is_firm_member) == (
        administrator,
        sees_all,
        firm,
    )


# --- QuerySet vocabulary ------------------------------------------------------------------------------


def test_active_engagements_leave_out_planned_and_closed_ones(world: World) -> None:
    # Given the world's three active engagements, a planned one and a closed one
    planned = factories.make_engagement(client=world.client_a, status=Engagement.Status.PLANNED)
    closed = factories.make_engagement(client=world.client_a, status=Engagement.Status.CLOSED)

    # When the active ones are asked for
    active = set(Engagement.objects.active())

    # Then only the world's engagements are listed
    assert active == {world.mine.engagement, world.sibling.engagement, world.other.engagement}
    assert not {planned, closed} & active


def test_leads_lists_only_lead_memberships(world: World) -> None:
    # Given the consultant's engagement with a lead and a consultant
    # When its leads are asked for
    leads = Membership.objects.filter(engagement=world.mine.engagement).leads()

    # Then only the lead is listed
    assert [membership.user for membership in leads] == [world.lead]


def test_open_milestones_leave_out_completed_ones(world: World) -> None:
    # Given a completed milestone beside the open one
    done = Milestone.objects.create(
        engagement=world.mine.engagement,
        name="Kick-off",
        due_on=date(2026, 1, 5),
        completed_on=date(2026, 1, 5),
    )

    # When open milestones are asked for
    open_ones = set(Milestone.objects.filter(engagement=world.mine.engagement).open())

    # Then the completed one is left out
    assert open_ones == {world.mine.milestone}
    assert done not in open_ones


def test_undecided_change_requests_are_proposed_or_under_review(world: World) -> None:
    # Given change requests in every status on one engagement
    engagement = world.mine.engagement
    decided_at = timezone.now()
    by_status = {
        status: ChangeRequest.objects.create(
            engagement=engagement,
            title=status,
            raised_on=date(2026, 3, 1) + timedelta(days=n),
            status=status,
            decided_at=decided_at if status in ChangeRequest.DECIDED else None,
        )
        for n, status in enumerate(ChangeRequest.Status.values)
    }

    # When the undecided ones are asked for
    undecided = set(ChangeRequest.objects.filter(engagement=engagement).undecided())

    # Then they are those proposed or under review (the world's own request is proposed)
    assert undecided == {
        by_status["proposed"],
        by_status["under_review"],
        world.mine.change_request,
    }


def test_client_rows_sort_by_name(db: None) -> None:
    # Given clients recorded out of order
    zeta = factories.make_client(name="Zeta Pharma")
    alpha = factories.make_client(name="Alpha Bank")

    # When all clients are listed
    # Then they come in name order
    assert list(Client.objects.filter(pk__in=[zeta.pk, alpha.pk])) == [alpha, zeta]
