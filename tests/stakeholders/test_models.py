"""Stakeholders and their roles: what the database refuses, how rows read, and the vocabulary."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction

from stakeholders.models import (
    HIGH_FROM,
    KEEP_INFORMED,
    KEEP_SATISFIED,
    MANAGE_CLOSELY,
    MONITOR,
    Level,
    Scale,
    Stakeholder,
    StakeholderRole,
    power_interest_quadrant,
)
from tests import factories
from tests.factories import World

Violation = Callable[[World], object]

CONSTRAINT_VIOLATIONS: list[tuple[str, Violation, tuple[str, ...]]] = [
    (
        "email of a colleague at the same client, in other case",
        lambda w: Stakeholder.objects.create(
            client=w.client_a, name="Copy", email=w.mine.stakeholder.email.upper()
        ),
        ("stakeholder_email_unique_per_client",),
    ),
    (
        "role twice on the same engagement",
        lambda w: StakeholderRole.objects.create(
            engagement=w.mine.engagement, stakeholder=w.mine.stakeholder
        ),
        ("stakeholder_role_once_per_engagement", "stakeholders_stakeholderrole.engagement_id"),
    ),
    (
        "influence above the scale",
        lambda w: StakeholderRole.objects.filter(pk=w.mine.role.pk).update(influence=6),
        ("role_influence_1_to_5",),
    ),
    (
        "interest below the scale",
        lambda w: StakeholderRole.objects.filter(pk=w.mine.role.pk).update(interest=0),
        ("role_interest_1_to_5",),
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


def test_email_uniqueness_is_per_client_and_ignores_people_without_an_address(world: World) -> None:
    # Given a stakeholder of client A with an address
    email = world.mine.stakeholder.email

    # When the same address is stored at client B, and two people of client A have no address
    Stakeholder.objects.create(client=world.client_b, name="Namesake", email=email)
    Stakeholder.objects.create(client=world.client_a, name="No address 1", email="")
    Stakeholder.objects.create(client=world.client_a, name="No address 2", email="")

    # Then the database accepts all three
    assert Stakeholder.objects.filter(email__iexact=email).count() == 2
    assert Stakeholder.objects.filter(client=world.client_a, email="").count() == 2


def test_the_same_person_may_hold_roles_on_two_engagements_of_their_client(world: World) -> None:
    # Given the sponsor of the consultant's engagement
    # When they also get a role on the sibling engagement of the same client
    StakeholderRole.objects.create(engagement=world.sibling.engagement, stakeholder=world.mine.stakeholder)

    # Then they hold two roles
    assert world.mine.stakeholder.roles.count() == 2


# --- how rows read ------------------------------------------------------------------------------------


def test_stakeholder_and_role_read_as_people_would_name_them(world: World) -> None:
    # Given the sponsor of the consultant's engagement
    stakeholder = world.mine.stakeholder

    # When the person and their role are turned into text
    # Then the person reads as their name and the role says what they are where
    assert str(stakeholder) == stakeholder.name
    assert str(world.mine.role) == f"{stakeholder.name} — Sponsor on EHR-A"


# --- properties ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "desired", "gap"),
    [
        (Level.UNAWARE, Level.LEADING, 4),
        (Level.RESISTANT, Level.SUPPORTIVE, 2),
        (Level.NEUTRAL, Level.NEUTRAL, 0),
        (Level.LEADING, Level.SUPPORTIVE, -1),
    ],
)
def test_engagement_gap_counts_the_steps_from_current_to_desired_level(
    world: World, current: str, desired: str, gap: int
) -> None:
    # Given a role at one level that should be at another
    role = world.mine.role
    role.current_level, role.desired_level = current, desired

    # When its gap is read
    # Then it is the number of steps on the assessment matrix, negative when ahead
    assert role.engagement_gap == gap


# --- QuerySet vocabulary ------------------------------------------------------------------------------


def test_on_engagement_lists_the_people_with_a_role_there(world: World) -> None:
    # Given a second person on the consultant's engagement and one of client A without a role
    extra = factories.make_role(engagement=world.mine.engagement).stakeholder
    factories.make_stakeholder(client=world.client_a)

    # When the people on the engagement are asked for
    people = set(Stakeholder.objects.on_engagement(world.mine.engagement))

    # Then they are exactly those with a role on it
    assert people == {world.mine.stakeholder, extra}


def test_sponsors_and_key_stakeholders(world: World) -> None:
    # Given roles of every kind and influence on one engagement
    engagement = world.mine.engagement
    pmo = factories.make_role(engagement=engagement, kind=StakeholderRole.Kind.PMO_LEAD, influence=Scale.LOW)
    powerful = factories.make_role(
        engagement=engagement, kind=StakeholderRole.Kind.OTHER, influence=Scale.HIGH
    )
    minor = factories.make_role(
        engagement=engagement, kind=StakeholderRole.Kind.TEAM_MEMBER, influence=Scale.MEDIUM
    )

    # When sponsors and key stakeholders are asked for
    roles = StakeholderRole.objects.filter(engagement=engagement)
    sponsors = set(roles.sponsors())
    key = set(roles.key())

    # Then sponsors are the sponsors; key adds the PMO lead and anyone of high influence
    assert sponsors == {world.mine.role}
    assert key == {world.mine.role, pmo, powerful}
    assert minor not in key


@pytest.mark.parametrize(
    ("influence", "interest", "quadrant"),
    [
        (Scale.HIGH, Scale.VERY_HIGH, MANAGE_CLOSELY),
        (Scale.VERY_HIGH, Scale.MEDIUM, KEEP_SATISFIED),
        (Scale.MEDIUM, Scale.HIGH, KEEP_INFORMED),
        (Scale.MEDIUM, Scale.MEDIUM, MONITOR),
        (Scale.VERY_LOW, Scale.VERY_LOW, MONITOR),
    ],
)
def test_a_role_sits_in_the_quadrant_its_influence_and_interest_draw(
    world: World, influence: int, interest: int, quadrant: str
) -> None:
    # Given a role with an influence and an interest
    role = world.mine.role
    role.influence, role.interest = influence, interest

    # When its place on the power-interest grid is read
    # Then "high" starts at HIGH_FROM on both axes
    assert role.quadrant == quadrant == power_interest_quadrant(influence=influence, interest=interest)


def test_key_stakeholders_and_the_grid_draw_high_influence_at_the_same_line(world: World) -> None:
    # Given one role on each side of the line
    engagement = world.mine.engagement
    kind = StakeholderRole.Kind.OTHER
    high = factories.make_role(engagement=engagement, kind=kind, influence=HIGH_FROM, interest=Scale.LOW)
    below = factories.make_role(engagement=engagement, kind=kind, influence=HIGH_FROM - 1, interest=Scale.LOW)

    # Then the one the key list takes is the one the grid keeps satisfied
    key = set(StakeholderRole.objects.filter(engagement=engagement, kind=kind).key())
    assert key == {high}
    assert (high.quadrant, below.quadrant) == (KEEP_SATISFIED, MONITOR)
