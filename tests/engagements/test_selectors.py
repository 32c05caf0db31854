"""Reads of engagements and what hangs off them: scope, edit rights, order and query budgets.

Which roles see which rows is the matrix in tests/test_scoping.py; here are the selectors' own promises.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from pytest_django import DjangoAssertNumQueries

from engagements.models import ChangeRequest, Engagement, Membership
from engagements.selectors import (
    change_request_list,
    client_list,
    engagement_can_edit,
    engagement_check_editable,
    engagement_get_for_user,
    engagement_is_member,
    engagement_list,
    membership_list,
    milestone_list,
)
from engagements.services import membership_add, milestone_create
from pmaas.errors import NotAllowed, NotFound
from tests import factories
from tests.factories import World


def test_members_may_edit_their_engagement(world: World) -> None:
    # Given the lead and the consultant of an engagement
    # When their right to change it is checked
    # Then it passes silently
    for member in (world.lead, world.consultant):
        engagement_check_editable(user=member, engagement=world.mine.engagement)
        assert engagement_can_edit(user=member, engagement=world.mine.engagement)


def test_client_user_may_see_but_not_edit_their_clients_engagement(world: World) -> None:
    # Given the PMO lead of the engagement's client
    # When their right to change it is checked
    with pytest.raises(NotAllowed):
        engagement_check_editable(user=world.client_user, engagement=world.mine.engagement)

    # Then they are refused with 403, because they can see it exists
    assert not engagement_can_edit(user=world.client_user, engagement=world.mine.engagement)
    assert (
        engagement_get_for_user(user=world.client_user, id=world.mine.engagement.pk) == world.mine.engagement
    )


def test_edit_check_answers_404_to_users_who_cannot_see_the_engagement(world: World) -> None:
    # Given a consultant of another team, a client user of another client and a former member
    former = factories.consultant()
    membership_add(
        actor=world.administrator, engagement=world.mine.engagement, user=former, role="consultant"
    )
    former.is_active = False
    former.save(update_fields=["is_active"])
    client_b_user = factories.client_user(world.client_b)

    # When their right to change the engagement is checked
    # Then each is told it does not exist
    for user in (world.outsider_consultant, client_b_user, former):
        with pytest.raises(NotFound):
            engagement_check_editable(user=user, engagement=world.mine.engagement)


def test_is_member_is_about_the_team_not_about_rights(world: World) -> None:
    # Given the team of the consultant's engagement and a practice lead who may change everything
    engagement = world.mine.engagement

    # When membership is checked
    # Then only the team counts
    assert engagement_is_member(engagement=engagement, user=world.lead)
    assert engagement_is_member(engagement=engagement, user=world.consultant)
    assert not engagement_is_member(engagement=engagement, user=world.practice_lead)
    assert not engagement_is_member(engagement=engagement, user=world.outsider_consultant)


def test_engagement_list_is_ordered_by_client_then_name(world: World) -> None:
    # Given engagements of two clients
    # When a practice lead lists them
    codes = [engagement.code for engagement in engagement_list(user=world.practice_lead)]

    # Then Contoso's come before Northwind's, and Northwind's by name
    assert codes == ["ERP-B", "DATA-A", "EHR-A"]


def test_client_list_of_a_client_user_is_their_own_client(world: World) -> None:
    # Given the client's PMO lead
    # When they list clients
    # Then they see their own
    assert list(client_list(user=world.client_user)) == [world.client_a]


ListCase = tuple[str, Callable[..., Any], Callable[[Any], object]]

LISTS: list[ListCase] = [
    ("engagement_list", engagement_list, lambda e: e.client.name),
    ("membership_list", membership_list, lambda m: (m.engagement.code, m.user.username)),
    ("milestone_list", milestone_list, lambda m: m.engagement.code),
    (
        "change_request_list",
        change_request_list,
        lambda c: (c.engagement.code, c.requested_by, c.decided_by),
    ),
]


def grow(world: World, engagements: int) -> None:
    """Add engagements with a team member, a milestone and a change request each, on client A."""
    for _ in range(engagements):
        engagement = factories.make_engagement(client=world.client_a, lead=world.lead)
        milestone_create(actor=world.lead, engagement=engagement, name="Go-live", due_on=date(2026, 9, 1))
        ChangeRequest.objects.create(
            engagement=engagement, title="More scope", raised_on=date(2026, 3, 2), requested_by=world.lead
        )


@pytest.mark.parametrize(("name", "select", "touch"), LISTS, ids=[name for name, _, _ in LISTS])
def test_lists_cost_one_query_whatever_their_length(
    world: World,
    django_assert_num_queries: DjangoAssertNumQueries,
    name: str,
    select: Callable[..., Any],
    touch: Callable[[Any], object],
) -> None:
    # Given the lead's list at two sizes
    sizes = []
    for extra in (0, 3):
        grow(world, extra)

        # When it is read along with the related rows a page shows
        with django_assert_num_queries(1):
            rows = list(select(user=world.lead))
            for row in rows:
                touch(row)
        sizes.append(len(rows))

    # Then one query serves each size
    assert sizes[1] > sizes[0] > 0


def test_membership_list_shows_the_whole_team_of_visible_engagements(world: World) -> None:
    # Given the consultant's engagement with a lead and a consultant
    # When the consultant lists memberships
    team = {(m.user, m.role) for m in membership_list(user=world.consultant)}

    # Then both members of their one engagement are listed
    assert team == {(world.lead, Membership.Role.LEAD), (world.consultant, Membership.Role.CONSULTANT)}


def test_engagement_get_for_user_returns_the_row_with_its_client(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Given the consultant's engagement
    # When the consultant fetches it and reads its client
    with django_assert_num_queries(1):
        engagement = engagement_get_for_user(user=world.consultant, id=world.mine.engagement.pk)
        client_name = engagement.client.name

    # Then one query brings both
    assert (engagement.code, client_name) == ("EHR-A", "Northwind Health")
    assert isinstance(engagement, Engagement)
