"""API v1 for stakeholders and their roles: scoped reads, roles given through the service."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import DjangoAssertNumQueries

from stakeholders.models import StakeholderRole
from tests import factories
from tests.factories import Scope, World

SEES = {
    "administrator": {"mine", "sibling", "other"},
    "practice_lead": {"mine", "sibling", "other"},
    "engagement_lead": {"mine"},
    "consultant": {"mine"},
    "client_pmo_lead": {"mine", "sibling"},
}
# People are shared by every engagement of their client: whoever works with a client sees them all.
SEES_PEOPLE = {
    "administrator": {"mine", "sibling", "other"},
    "practice_lead": {"mine", "sibling", "other"},
    "engagement_lead": {"mine", "sibling"},
    "consultant": {"mine", "sibling"},
    "client_pmo_lead": {"mine", "sibling"},
}
RESOURCES = {"stakeholder": "stakeholder", "stakeholder-role": "role"}


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, body, content_type="application/json")


def scope(world: World, name: str) -> Scope:
    scope_: Scope = getattr(world, name)
    return scope_


def listed(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def role_body(world: World, **overrides: Any) -> dict[str, Any]:
    """The sibling engagement's sponsor joins mine as a business leader (same client)."""
    body: dict[str, Any] = {
        "engagement": world.mine.engagement.pk,
        "stakeholder": world.sibling.stakeholder.pk,
        "kind": "business_leader",
        "influence": 4,
        "interest": 2,
        "current_level": "resistant",
        "desired_level": "supportive",
        "relationship_owner": world.lead.pk,
        "notes": "Runs the pharmacy budget.",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("basename", sorted(RESOURCES))
@pytest.mark.parametrize("role", sorted(SEES))
def test_list_shows_only_stakeholders_and_roles_in_the_callers_scope(
    client: Client, world: World, basename: str, role: str
) -> None:
    # Given a user of each role, and a stakeholder with a role on each of mine, sibling and other
    client.force_login(world.users()[role])

    # When they list stakeholders or their roles
    response = client.get(reverse(f"v1:{basename}-list"))

    # Then they get the roles of the engagements they may see, and the people of those clients
    sees = SEES_PEOPLE if basename == "stakeholder" else SEES
    assert listed(response) == {getattr(scope(world, name), RESOURCES[basename]).pk for name in sees[role]}


@pytest.mark.parametrize(
    ("basename", "role", "outside"),
    [
        ("stakeholder-role", "consultant", "sibling"),
        ("stakeholder-role", "consultant", "other"),
        ("stakeholder-role", "client_pmo_lead", "other"),
        ("stakeholder", "consultant", "other"),
        ("stakeholder", "client_pmo_lead", "other"),
    ],
)
def test_retrieve_outside_the_callers_scope_answers_404(
    client: Client, world: World, basename: str, role: str, outside: str
) -> None:
    # Given a stakeholder or role on an engagement the user may not see
    client.force_login(world.users()[role])
    row = getattr(scope(world, outside), RESOURCES[basename])

    # When they ask for it by id
    response = client.get(reverse(f"v1:{basename}-detail", args=[row.pk]))

    # Then it does not exist for them
    assert response.status_code == 404


def test_role_shows_the_stakeholder_and_the_gap_to_the_desired_level(client: Client, world: World) -> None:
    # Given the consultant of mine
    client.force_login(world.consultant)

    # When they read the sponsor's role
    response = client.get(reverse("v1:stakeholder-role-detail", args=[world.mine.role.pk]))

    # Then it names the person, the kind and the relationship owner
    assert response.status_code == 200
    data = response.json()
    assert data["stakeholder_name"] == world.mine.stakeholder.name
    assert data["kind"] == "sponsor"
    assert data["kind_display"] == "Sponsor"
    assert data["engagement_gap"] == 1
    assert data["relationship_owner"] == world.lead.pk
    assert data["relationship_owner_name"] == str(world.lead)


def test_practice_lead_gives_a_stakeholder_of_the_client_a_role(client: Client, world: World) -> None:
    # Given a practice lead, who sees the sibling engagement's sponsor
    client.force_login(world.practice_lead)

    # When they give that person a role on mine
    response = post(client, reverse("v1:stakeholder-role-list"), role_body(world))

    # Then the role is created and answered as it now stands
    assert response.status_code == 201, response.json()
    data = response.json()
    role = StakeholderRole.objects.get(pk=data["id"])
    assert role.engagement == world.mine.engagement
    assert role.stakeholder == world.sibling.stakeholder
    assert data["influence"] == 4
    assert data["engagement_gap"] == 2
    assert data["relationship_owner"] == world.lead.pk


@pytest.mark.parametrize(
    ("login", "overrides", "field", "message"),
    [
        # Not visible to the lead: unknown.
        ("lead", {"stakeholder": "other"}, "stakeholder", "does not exist"),
        ("lead", {"engagement": "other"}, "engagement", "does not exist"),
        ("lead", {"relationship_owner": "outsider"}, "relationship_owner", "does not exist"),
        # Visible to a practice lead, refused by the service's rules.
        ("practice_lead", {"stakeholder": "other"}, "stakeholder", "another client"),
        ("practice_lead", {"stakeholder": "mine"}, "stakeholder", "already has a role"),
        ("practice_lead", {"relationship_owner": "outsider"}, "relationship_owner", "team"),
        # Malformed.
        ("practice_lead", {"influence": 9}, "influence", "not a valid choice"),
        ("practice_lead", {"interest": "high"}, "interest", "not a valid choice"),
        ("practice_lead", {"kind": "friend"}, "kind", "not a valid choice"),
        ("practice_lead", {"current_level": "enthusiastic"}, "current_level", "not a valid choice"),
        ("practice_lead", {"stakeholder": None}, "stakeholder", "null"),
        ("practice_lead", {"engagement": [1]}, "engagement", "Incorrect type"),
    ],
)
def test_refused_role_is_answered_400_and_not_written(
    client: Client, world: World, login: str, overrides: dict[str, Any], field: str, message: str
) -> None:
    # Given a role that names something out of reach, against the rules, or malformed
    client.force_login(getattr(world, login))
    ids = {
        "other": {
            "stakeholder": world.other.stakeholder.pk,
            "engagement": world.other.engagement.pk,
        },
        "mine": {"stakeholder": world.mine.stakeholder.pk},
        "outsider": {"relationship_owner": world.outsider_consultant.pk},
    }
    body = role_body(
        world,
        **{
            key: ids[value][key] if isinstance(value, str) and value in ids else value
            for key, value in overrides.items()
        },
    )
    before = StakeholderRole.objects.count()

    # When they post it
    response = post(client, reverse("v1:stakeholder-role-list"), body)

    # Then it is refused under the field and nothing is written
    assert response.status_code == 400, response.content
    assert message in " ".join(response.json()[field]), response.json()
    assert StakeholderRole.objects.count() == before


def test_client_user_cannot_give_roles(client: Client, world: World) -> None:
    # Given the client PMO lead, who sees both of client A's engagements
    client.force_login(world.client_user)
    before = StakeholderRole.objects.count()

    # When they give the sibling's sponsor a role on mine
    response = post(client, reverse("v1:stakeholder-role-list"), role_body(world, relationship_owner=None))

    # Then they are refused and nothing is written
    assert response.status_code == 403
    assert StakeholderRole.objects.count() == before


def test_roles_filter_by_engagement_and_kind(client: Client, world: World) -> None:
    # Given a business leader on mine beside its sponsor
    leader = factories.make_role(engagement=world.mine.engagement, kind=StakeholderRole.Kind.BUSINESS_LEADER)
    client.force_login(world.practice_lead)
    url = reverse("v1:stakeholder-role-list")

    # When the practice lead filters
    by_kind = client.get(url, {"kind": "business_leader"})
    by_engagement = client.get(url, {"engagement": world.mine.engagement.pk})
    sponsors_of_other = client.get(url, {"engagement": str(world.other.engagement.pk), "kind": "sponsor"})

    # Then each answer holds just the matching roles, and a bad value is refused
    assert listed(by_kind) == {leader.pk}
    assert listed(by_engagement) == {leader.pk, world.mine.role.pk}
    assert listed(sponsors_of_other) == {world.other.role.pk}
    assert client.get(url, {"kind": "friend"}).status_code == 400


def test_anonymous_callers_are_refused(client: Client, world: World) -> None:
    # When someone who has not logged in lists or creates roles
    listed_ = client.get(reverse("v1:stakeholder-role-list"))
    created = post(client, reverse("v1:stakeholder-role-list"), role_body(world))

    # Then both are refused
    assert listed_.status_code in {401, 403}
    assert created.status_code in {401, 403}


@pytest.mark.parametrize("basename", sorted(RESOURCES))
def test_list_query_count_does_not_grow_with_rows(
    client: Client, world: World, django_assert_num_queries: DjangoAssertNumQueries, basename: str
) -> None:
    # Given the consultant and 5 more stakeholders with roles on mine
    client.force_login(world.consultant)
    url = reverse(f"v1:{basename}-list")
    for _ in range(5):
        factories.make_role(engagement=world.mine.engagement, relationship_owner=world.lead)
    with CaptureQueriesContext(connection) as with_five:
        assert client.get(url).status_code == 200

    # When 45 more are added
    for _ in range(45):
        factories.make_role(engagement=world.mine.engagement, relationship_owner=world.lead)

    # Then the list costs the same number of queries
    with django_assert_num_queries(len(with_five)):
        response = client.get(url)
    assert len(response.json()["results"]) == 50
