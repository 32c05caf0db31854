"""Reads of stakeholders and their roles: scope, narrowing and query budgets.

Which roles see which rows is the matrix in tests/test_scoping.py; here are the selectors' own promises.
"""

from __future__ import annotations

import pytest
from pytest_django import DjangoAssertNumQueries

from stakeholders.models import StakeholderRole
from stakeholders.selectors import (
    stakeholder_get_for_user,
    stakeholder_has_role,
    stakeholder_list,
    stakeholder_role_list,
)
from tests import factories
from tests.factories import World


def test_stakeholder_with_roles_on_two_visible_engagements_is_listed_once(world: World) -> None:
    # Given the sponsor of the consultant's engagement also has a role on the sibling engagement
    factories.make_role(engagement=world.sibling.engagement, stakeholder=world.mine.stakeholder)

    # When the client's PMO lead, who sees both engagements, lists stakeholders
    listed = [s.pk for s in stakeholder_list(user=world.client_user)]

    # Then each person appears once
    assert sorted(listed) == sorted({world.mine.stakeholder.pk, world.sibling.stakeholder.pk})


def test_stakeholder_without_a_role_is_seen_by_whoever_works_with_their_client(world: World) -> None:
    # Given a person of client A recorded but not yet on any engagement
    newcomer = factories.make_stakeholder(client=world.client_a)

    # When people inside and outside client A's engagements list stakeholders
    # Then those who work with client A find them, so they can add them to an engagement
    assert newcomer in stakeholder_list(user=world.consultant)
    assert newcomer in stakeholder_list(user=world.client_user)
    assert newcomer in stakeholder_list(user=world.practice_lead)
    assert newcomer not in stakeholder_list(user=factories.consultant())


def test_stakeholder_list_is_ordered_by_name(world: World) -> None:
    # Given people with names out of order on the consultant's engagement
    for name in ("Zoe Zimmer", "Aaron Abel"):
        factories.make_role(
            engagement=world.mine.engagement,
            stakeholder=factories.make_stakeholder(client=world.client_a, name=name),
        )

    # When the consultant lists stakeholders
    names = [s.name for s in stakeholder_list(user=world.consultant)]

    # Then they come in name order
    assert names == sorted(names)
    assert names[0] == "Aaron Abel"


def test_role_list_narrowed_to_an_engagement_stays_within_scope(world: World) -> None:
    # Given a second role on the consultant's engagement
    extra = factories.make_role(engagement=world.mine.engagement)

    # When the consultant lists roles of their engagement, and of an engagement they cannot see
    own = set(stakeholder_role_list(user=world.consultant, engagement=world.mine.engagement))
    foreign = list(stakeholder_role_list(user=world.consultant, engagement=world.other.engagement))

    # Then the first lists that engagement's roles and the second nothing
    assert own == {world.mine.role, extra}
    assert foreign == []


def test_has_role_is_per_engagement(world: World) -> None:
    # Given the sponsor of the consultant's engagement
    # When their role is checked on it and on the sibling engagement
    # Then only the engagement they are on counts
    assert stakeholder_has_role(stakeholder=world.mine.stakeholder, engagement=world.mine.engagement)
    assert not stakeholder_has_role(stakeholder=world.mine.stakeholder, engagement=world.sibling.engagement)


@pytest.mark.parametrize("extra", [0, 4])
def test_role_list_costs_one_query_with_engagement_stakeholder_and_owner(
    world: World, django_assert_num_queries: DjangoAssertNumQueries, extra: int
) -> None:
    # Given the consultant's engagement with some more roles, each looked after by the lead
    for _ in range(extra):
        factories.make_role(engagement=world.mine.engagement, relationship_owner=world.lead)

    # When the consultant reads the list with what a register page shows
    with django_assert_num_queries(1):
        rows = [
            (r.engagement.code, r.stakeholder.name, str(r.relationship_owner))
            for r in stakeholder_role_list(user=world.consultant)
        ]

    # Then one query serves it
    assert len(rows) == 1 + extra
    assert StakeholderRole.objects.filter(engagement=world.mine.engagement).count() == 1 + extra


def test_stakeholder_get_for_user_brings_the_client_along(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Given the sponsor of the consultant's engagement
    # When the consultant fetches them and reads their client
    with django_assert_num_queries(1):
        person = stakeholder_get_for_user(user=world.consultant, id=world.mine.stakeholder.pk)
        client_name = person.client.name

    # Then one query brings both
    assert (person, client_name) == (world.mine.stakeholder, "Northwind Health")
