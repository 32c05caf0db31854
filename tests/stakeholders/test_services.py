"""Writes to the stakeholder register: who may, and what bad input gets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from engagements.services import membership_add
from pmaas.errors import NotAllowed, NotFound
from stakeholders.models import Level, Stakeholder, StakeholderRole
from stakeholders.services import (
    stakeholder_add_to_engagement,
    stakeholder_create,
    stakeholder_create_with_role,
)
from tests import factories
from tests.factories import World


def written() -> dict[str, int]:
    return {"stakeholders": Stakeholder.objects.count(), "roles": StakeholderRole.objects.count()}


# --- stakeholder_create -------------------------------------------------------------------------------


def test_stakeholder_takes_the_clients_time_zone_unless_given_one(world: World) -> None:
    # Given a client in Berlin
    assert world.client_a.time_zone == "Europe/Berlin"

    # When the consultant records two people, one of them in New York
    local = stakeholder_create(actor=world.consultant, client=world.client_a, name="  Dana Scully ")
    remote = stakeholder_create(
        actor=world.consultant, client=world.client_a, name="Fox Mulder", time_zone="America/New_York"
    )

    # Then the first has the client's zone, the second their own, and names are trimmed
    assert (local.name, local.time_zone) == ("Dana Scully", "Europe/Berlin")
    assert remote.time_zone == "America/New_York"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "Dana Scully", "time_zone": "Europe/Atlantis"}, "time_zone"),
        ({"name": "Dana Scully", "email": "not-an-address"}, "email"),
        ({"name": "  "}, "name"),
    ],
    ids=["unknown time zone", "malformed email", "blank name"],
)
def test_stakeholder_create_refuses_bad_input_under_the_field(
    world: World, values: dict[str, str], field: str
) -> None:
    # Given a person with one problem
    before = written()

    # When the consultant records them
    with pytest.raises(ValidationError) as refused:
        stakeholder_create(actor=world.consultant, client=world.client_a, **values)

    # Then the error names the field and nothing is written
    assert field in refused.value.message_dict, refused.value.message_dict
    assert written() == before


def test_stakeholder_email_already_used_at_the_client_is_refused_whatever_its_case(world: World) -> None:
    # Given a stakeholder of client A with an address
    factories.make_stakeholder(client=world.client_a, email="dana.scully@northwind.test")
    before = written()

    # When another person of client A is recorded with the same address in capitals
    with pytest.raises(ValidationError) as refused:
        stakeholder_create(
            actor=world.consultant,
            client=world.client_a,
            name="D. Scully",
            email="Dana.Scully@Northwind.test",
        )

    # Then the address is refused under "email" and nothing is written
    assert "email" in refused.value.message_dict, refused.value.message_dict
    assert written() == before


def test_same_email_at_another_client_is_a_different_person(world: World) -> None:
    # Given a stakeholder of client A with an address
    factories.make_stakeholder(client=world.client_a, email="pat@shared.test")

    # When a person with that address is recorded at client B
    other = stakeholder_create(
        actor=world.practice_lead, client=world.client_b, name="Pat", email="pat@shared.test"
    )

    # Then both exist
    assert Stakeholder.objects.filter(email__iexact="pat@shared.test").count() == 2
    assert other.client == world.client_b


def test_client_user_cannot_record_stakeholders(world: World) -> None:
    # Given the client's PMO lead
    before = written()

    # When they try to record a colleague
    with pytest.raises(NotAllowed):
        stakeholder_create(actor=world.client_user, client=world.client_a, name="A colleague")

    # Then nothing is written
    assert written() == before


@pytest.mark.parametrize(
    ("actor_name", "client_name"),
    [
        ("consultant", "client_b"),
        ("engagement_lead", "client_b"),
        ("anonymous", "client_a"),
        ("inactive_member", "client_a"),
    ],
)
def test_stakeholder_create_answers_404_for_a_client_outside_the_actors_scope(
    world: World, actor_name: str, client_name: str
) -> None:
    # Given a user who works on no engagement of the client, or may not act at all
    actor: Any
    if actor_name == "anonymous":
        actor = AnonymousUser()
    elif actor_name == "inactive_member":
        actor = factories.consultant(is_active=False)
        membership_add(
            actor=world.administrator, engagement=world.mine.engagement, user=actor, role="consultant"
        )
    else:
        actor = world.users()[actor_name]
    client = getattr(world, client_name)
    before = written()

    # When they record a person at that client
    with pytest.raises(NotFound):
        stakeholder_create(actor=actor, client=client, name="Someone")

    # Then the client does not exist for them, and nothing is written
    assert written() == before


# --- stakeholder_add_to_engagement --------------------------------------------------------------------


def test_stakeholder_gets_a_role_with_owner_and_levels(world: World) -> None:
    # Given a person of client A not yet on the consultant's engagement
    person = factories.make_stakeholder(client=world.client_a)

    # When the consultant adds them as a resistant sponsor the lead looks after
    role = stakeholder_add_to_engagement(
        actor=world.consultant,
        engagement=world.mine.engagement,
        stakeholder=person,
        kind=StakeholderRole.Kind.SPONSOR,
        current_level=Level.RESISTANT,
        desired_level=Level.LEADING,
        relationship_owner=world.lead,
    )

    # Then the role is stored as given
    stored = StakeholderRole.objects.get(pk=role.pk)
    assert (stored.engagement, stored.stakeholder, stored.kind) == (world.mine.engagement, person, "sponsor")
    assert stored.relationship_owner == world.lead
    assert stored.engagement_gap == 3


ROLE_REFUSALS: list[tuple[str, Callable[[World], dict[str, Any]], str]] = [
    ("role twice on the same engagement", lambda w: {"stakeholder": w.mine.stakeholder}, "stakeholder"),
    (
        "stakeholder of another client",
        lambda w: {"stakeholder": factories.make_stakeholder(client=w.client_b)},
        "stakeholder",
    ),
    (
        "relationship owner not on the team",
        lambda w: {"relationship_owner": w.outsider_consultant},
        "relationship_owner",
    ),
    (
        "client user as relationship owner",
        lambda w: {"relationship_owner": w.client_user},
        "relationship_owner",
    ),
    ("influence off the scale", lambda w: {"influence": 9}, "influence"),
    ("unknown level", lambda w: {"desired_level": "ecstatic"}, "desired_level"),
    ("unknown kind", lambda w: {"kind": "mascot"}, "kind"),
]


@pytest.mark.parametrize(
    ("case", "overrides", "field"), ROLE_REFUSALS, ids=[case for case, _, _ in ROLE_REFUSALS]
)
def test_stakeholder_add_to_engagement_refuses_bad_input_under_the_field_and_writes_nothing(
    world: World, case: str, overrides: Callable[[World], dict[str, Any]], field: str
) -> None:
    # Given a role with one problem
    values: dict[str, Any] = {
        "actor": world.consultant,
        "engagement": world.mine.engagement,
        "stakeholder": factories.make_stakeholder(client=world.client_a),
    }
    values.update(overrides(world))
    before = written()

    # When the consultant adds it
    with pytest.raises(ValidationError) as refused:
        stakeholder_add_to_engagement(**values)

    # Then the error names the field and no role is written
    assert field in refused.value.message_dict, refused.value.message_dict
    assert written() == before


def test_client_user_cannot_add_stakeholders_to_an_engagement_they_see(world: World) -> None:
    # Given the PMO lead of the engagement's client and a colleague of theirs
    person = factories.make_stakeholder(client=world.client_a)
    before = written()

    # When they try to give the colleague a role
    with pytest.raises(NotAllowed):
        stakeholder_add_to_engagement(
            actor=world.client_user, engagement=world.mine.engagement, stakeholder=person
        )

    # Then nothing is written
    assert written() == before


@pytest.mark.parametrize("actor_name", ["consultant", "engagement_lead", "client_pmo_lead", "anonymous"])
def test_stakeholder_add_to_engagement_answers_404_outside_the_actors_scope(
    world: World, actor_name: str
) -> None:
    # Given a user who cannot see the other client's engagement
    actor = AnonymousUser() if actor_name == "anonymous" else world.users()[actor_name]
    person = factories.make_stakeholder(client=world.client_b)
    before = written()

    # When they try to give someone a role on it
    with pytest.raises(NotFound):
        stakeholder_add_to_engagement(actor=actor, engagement=world.other.engagement, stakeholder=person)

    # Then nothing is written
    assert written() == before


def test_new_person_is_not_kept_when_their_role_is_refused(world: World) -> None:
    # Given the service asked to create a person with an owner from another team
    # When it runs, then it refuses with the owner's field error and keeps nobody
    with pytest.raises(ValidationError) as refused:
        stakeholder_create_with_role(
            actor=world.practice_lead,
            engagement=world.mine.engagement,
            name="Eve Ortega",
            email="eve@northwind.test",
            relationship_owner=world.outsider_consultant,
        )
    assert "relationship_owner" in refused.value.message_dict
    assert not Stakeholder.objects.filter(email="eve@northwind.test").exists()
