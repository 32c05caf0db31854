"""Writes to clients, engagements, teams and milestones: who may, and what bad input gets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from time_machine import TimeMachineFixture

from engagements.models import Client, Engagement, Health, Membership, Milestone
from engagements.services import (
    client_create,
    engagement_create,
    engagement_override_health,
    membership_add,
    membership_make_lead,
    milestone_create,
)
from pmaas.errors import NotAllowed, NotFound, RuleViolation
from tests import factories
from tests.factories import World


def _next_week() -> date:
    return timezone.localdate() + timedelta(days=7)


def written() -> dict[str, int]:
    return {
        "clients": Client.objects.count(),
        "engagements": Engagement.objects.count(),
        "memberships": Membership.objects.count(),
        "milestones": Milestone.objects.count(),
    }


def engagement_values(world: World, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "actor": world.practice_lead,
        "client": world.client_a,
        "name": "  Pharmacy module  ",
        "code": "pharm-26",
        "start_date": date(2026, 4, 1),
        "end_date": date(2026, 12, 31),
        "budget": Decimal("120000.00"),
    }
    values.update(overrides)
    return values


# --- clients ------------------------------------------------------------------------------------------


def test_practice_lead_creates_a_client_with_its_time_zone(world: World) -> None:
    # When the practice lead records a client
    client = client_create(actor=world.practice_lead, name="  Fabrikam  ", time_zone="Asia/Kolkata")

    # Then it is stored trimmed, with its zone
    assert Client.objects.get(pk=client.pk).name == "Fabrikam"
    assert client.time_zone == "Asia/Kolkata"


@pytest.mark.parametrize(
    ("country", "region"), [("GB", "ENG"), ("DE", ""), ("US", ""), ("", "")], ids=["GB", "DE", "US", "none"]
)
def test_a_new_client_gets_its_countrys_default_holiday_region(
    world: World, country: str, region: str
) -> None:
    # When the practice lead records a client without naming a region
    client = client_create(actor=world.practice_lead, name="Fabrikam", country=country)

    # Then a UK client counts England's holidays; elsewhere national holidays only
    assert Client.objects.get(pk=client.pk).holiday_subdivision == region


def test_a_region_named_for_a_new_client_is_kept(world: World) -> None:
    client = client_create(
        actor=world.practice_lead, name="Fabrikam", country="GB", holiday_subdivision="SCT"
    )

    assert client.holiday_subdivision == "SCT"


def test_a_client_region_not_of_its_country_is_refused_naming_the_valid_codes(world: World) -> None:
    with pytest.raises(ValidationError) as refused:
        client_create(actor=world.practice_lead, name="Fabrikam", country="GB", holiday_subdivision="BY")

    assert refused.value.message_dict["holiday_subdivision"] == [
        "Not a region of GB; use one of ENG, NIR, SCT, WLS."
    ]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": "Fabrikam", "time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"name": "Northwind Health"}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "Fabrikam", "country": "Germany"}, "country"),
        ({"name": "Fabrikam", "country": "GB", "holiday_subdivision": "BY"}, "holiday_subdivision"),
        ({"name": "Fabrikam", "holiday_subdivision": "ENG"}, "holiday_subdivision"),
    ],
    ids=[
        "unknown time zone",
        "duplicate name",
        "blank name",
        "country not an ISO code",
        "region of another country",
        "region without a country",
    ],
)
def test_client_create_refuses_bad_input_under_the_field(
    world: World, values: dict[str, str], field: str
) -> None:
    # Given a client with one problem
    before = written()

    # When the practice lead records it
    with pytest.raises(ValidationError) as refused:
        client_create(actor=world.practice_lead, **values)

    # Then the error names the field and nothing is written
    assert field in refused.value.message_dict, refused.value.message_dict
    assert written() == before


@pytest.mark.parametrize("role", ["engagement_lead", "consultant", "client_pmo_lead"])
def test_only_portfolio_managers_create_clients(world: World, role: str) -> None:
    # Given a user who does not manage the portfolio
    before = written()

    # When they try to record a client
    with pytest.raises(NotAllowed):
        client_create(actor=world.users()[role], name="Fabrikam")

    # Then nothing is written
    assert written() == before


# --- engagements --------------------------------------------------------------------------------------


def test_practice_lead_creates_an_engagement_with_its_lead(world: World) -> None:
    # Given a lead for a new engagement
    lead = factories.consultant()

    # When the practice lead creates the engagement
    engagement = engagement_create(**engagement_values(world, lead=lead))

    # Then name and code are normalised, the client's country is taken, and the lead is on the team
    stored = Engagement.objects.get(pk=engagement.pk)
    assert (stored.name, stored.code, stored.country) == ("Pharmacy module", "PHARM-26", "DE")
    assert list(stored.memberships.values_list("user", "role")) == [(lead.pk, Membership.Role.LEAD)]


def test_engagement_may_start_and_end_on_the_same_day(world: World) -> None:
    # When a one-day engagement is created
    engagement = engagement_create(**engagement_values(world, end_date=date(2026, 4, 1)))

    # Then it is accepted
    assert engagement.end_date == engagement.start_date


ENGAGEMENT_REFUSALS: list[tuple[str, Callable[[World], dict[str, Any]], str]] = [
    ("ends before it starts", lambda w: {"end_date": date(2026, 3, 31)}, "end_date"),
    ("negative budget", lambda w: {"budget": Decimal("-0.01")}, "budget"),
    ("code already taken", lambda w: {"code": "ehr-a"}, "code"),
    ("code with spaces", lambda w: {"code": "EHR 2026"}, "code"),
    ("currency not an ISO code", lambda w: {"currency": "euro"}, "currency"),
    ("unknown status", lambda w: {"status": "dormant"}, "status"),
    ("blank name", lambda w: {"name": " "}, "name"),
]


@pytest.mark.parametrize(
    ("case", "overrides", "field"), ENGAGEMENT_REFUSALS, ids=[case for case, _, _ in ENGAGEMENT_REFUSALS]
)
def test_engagement_create_refuses_bad_input_under_the_field_and_writes_nothing(
    world: World, case: str, overrides: Callable[[World], dict[str, Any]], field: str
) -> None:
    # Given an engagement with one problem and a lead for it
    before = written()

    # When the practice lead creates it
    with pytest.raises(ValidationError) as refused:
        engagement_create(**engagement_values(world, lead=world.lead, **overrides(world)))

    # Then the error names the field, and neither the engagement nor a membership is written
    assert field in refused.value.message_dict, refused.value.message_dict
    assert written() == before


def test_engagement_with_a_client_user_as_lead_is_refused_whole(world: World) -> None:
    # Given a client user named as the lead of a new engagement
    before = written()

    # When the practice lead creates it
    with pytest.raises(ValidationError) as refused:
        engagement_create(**engagement_values(world, lead=world.client_user))

    # Then the lead is refused, and the engagement saved before it is rolled back too
    assert "user" in refused.value.message_dict
    assert written() == before


@pytest.mark.parametrize("role", ["engagement_lead", "consultant", "client_pmo_lead"])
def test_only_portfolio_managers_create_engagements(world: World, role: str) -> None:
    # Given a user who does not manage the portfolio
    before = written()

    # When they try to create an engagement
    with pytest.raises(NotAllowed):
        engagement_create(**engagement_values(world, actor=world.users()[role]))

    # Then nothing is written
    assert written() == before


def test_inactive_practice_lead_cannot_create_engagements(world: World) -> None:
    # Given a practice lead whose account was switched off
    inactive = factories.practice_lead(is_active=False)

    # When they try to create an engagement
    with pytest.raises(NotAllowed):
        engagement_create(**engagement_values(world, actor=inactive))

    # Then nothing is written
    assert not Engagement.objects.filter(code="PHARM-26").exists()


# --- teams --------------------------------------------------------------------------------------------


def test_membership_add_is_idempotent(world: World) -> None:
    # Given a consultant not yet on the engagement
    newcomer = factories.consultant()

    # When the lead adds them twice with the same role
    first = membership_add(
        actor=world.lead, engagement=world.mine.engagement, user=newcomer, role=Membership.Role.CONSULTANT
    )
    second = membership_add(
        actor=world.lead, engagement=world.mine.engagement, user=newcomer, role=Membership.Role.CONSULTANT
    )

    # Then there is one membership
    assert first.pk == second.pk
    assert Membership.objects.filter(engagement=world.mine.engagement, user=newcomer).count() == 1


def test_membership_add_refuses_a_second_lead_and_a_new_role_for_a_member(world: World) -> None:
    # Given engagement "mine", led by the lead, with the consultant on its team
    engagement = world.mine.engagement
    before = written()

    # When a practice lead adds the consultant again as lead, and a newcomer as a second lead
    with pytest.raises(RuleViolation) as again:
        membership_add(actor=world.practice_lead, engagement=engagement, user=world.consultant, role="lead")
    with pytest.raises(RuleViolation) as second:
        membership_add(
            actor=world.practice_lead, engagement=engagement, user=factories.consultant(), role="lead"
        )

    # Then both are refused under their field, and the lead stays the only lead
    assert again.value.field == "user"
    assert second.value.field == "role"
    assert written() == before
    assert list(engagement.memberships.leads().values_list("user", flat=True)) == [world.lead.pk]


def test_making_a_member_lead_hands_the_role_over(world: World) -> None:
    # Given the consultant on engagement "mine", led by the lead
    engagement = world.mine.engagement
    membership = engagement.memberships.get(user=world.consultant)

    # When the lead hands the role to the consultant, and it is handed to them again
    membership_make_lead(actor=world.lead, membership=membership)
    membership_make_lead(actor=world.practice_lead, membership=membership)

    # Then the consultant leads, and the old lead stays on the team as a consultant
    roles = dict(engagement.memberships.values_list("user", "role"))
    assert roles == {world.consultant.pk: "lead", world.lead.pk: "consultant"}


def test_the_database_holds_one_lead_per_engagement(world: World) -> None:
    # Given engagement "mine", led by the lead
    # When a second lead is written past the services
    # Then the database refuses it
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(engagement=world.mine.engagement, user=world.consultant).update(role="lead")


@pytest.mark.parametrize(
    ("who", "role", "field"),
    [("client_user", Membership.Role.CONSULTANT, "user"), ("newcomer", "boss", "role")],
    ids=["client user", "unknown role"],
)
def test_membership_add_refuses_bad_input_under_the_field(
    world: World, who: str, role: str, field: str
) -> None:
    # Given a client user, or a consultant with a role that does not exist
    user = world.client_user if who == "client_user" else factories.consultant()
    before = written()

    # When the lead puts them on the team
    with pytest.raises(ValidationError) as refused:
        membership_add(actor=world.lead, engagement=world.mine.engagement, user=user, role=role)

    # Then it is refused under the field and no membership is written
    assert field in refused.value.message_dict
    assert written() == before


def test_client_user_cannot_change_the_team_of_an_engagement_they_see(world: World) -> None:
    # Given the PMO lead of the engagement's client
    # When they try to add someone to its team
    with pytest.raises(NotAllowed):
        membership_add(
            actor=world.client_user,
            engagement=world.mine.engagement,
            user=factories.consultant(),
            role=Membership.Role.CONSULTANT,
        )


# --- health -------------------------------------------------------------------------------------------


def test_health_override_is_recorded_with_reason_author_and_time(
    world: World, time_machine: TimeMachineFixture
) -> None:
    # Given an engagement whose computed health is green, on a known day
    engagement = world.mine.engagement
    moment = datetime(2026, 3, 3, 10, tzinfo=UTC)
    time_machine.move_to(moment, tick=False)

    # When the lead overrides it to red with a reason
    engagement_override_health(
        actor=world.lead,
        engagement=engagement,
        health="red",
        reason=" Go-live slipped ",
        until=date(2026, 3, 10),
    )

    # Then the override, its trimmed reason, the author and a time are stored; computed health is kept
    stored = Engagement.objects.get(pk=engagement.pk)
    assert (stored.health, stored.health_override) == (Health.GREEN, Health.RED)
    assert stored.health_override_reason == "Go-live slipped"
    assert stored.health_override_by == world.lead
    assert stored.health_override_at == moment
    assert stored.effective_health == Health.RED


@pytest.mark.parametrize(
    ("health", "reason", "field"),
    [
        ("red", "", "health_override_reason"),
        ("amber", "   ", "health_override_reason"),
        ("purple", "x", "health_override"),
    ],
    ids=["no reason", "blank reason", "unknown health"],
)
def test_health_override_refuses_bad_input_and_changes_nothing(
    world: World, health: str, reason: str, field: str
) -> None:
    # Given an engagement without an override
    engagement = world.mine.engagement
    before = Engagement.objects.values().get(pk=engagement.pk)

    # When the lead overrides it without a reason, or to a colour that does not exist
    with pytest.raises(ValidationError) as refused:
        engagement_override_health(
            actor=world.lead, engagement=engagement, health=health, reason=reason, until=_next_week()
        )

    # Then the error names the field and the stored row is untouched
    assert field in refused.value.message_dict
    assert Engagement.objects.values().get(pk=engagement.pk) == before


def test_clearing_a_health_override_drops_its_reason_and_author(world: World) -> None:
    # Given an overridden engagement
    engagement = world.mine.engagement
    engagement_override_health(
        actor=world.lead, engagement=engagement, health="amber", reason="Sponsor left", until=_next_week()
    )

    # When the override is cleared
    engagement_override_health(actor=world.lead, engagement=engagement, health="", reason="ignored")

    # Then the computed health shows again and nothing of the override is left
    stored = Engagement.objects.get(pk=engagement.pk)
    assert (stored.health_override, stored.health_override_reason) == ("", "")
    assert (stored.health_override_by, stored.health_override_at) == (None, None)
    assert stored.effective_health == stored.health


# --- milestones ---------------------------------------------------------------------------------------


def test_milestone_create_refuses_a_blank_name(world: World) -> None:
    # Given a milestone without a name
    before = written()

    # When the consultant adds it
    with pytest.raises(ValidationError) as refused:
        milestone_create(
            actor=world.consultant, engagement=world.mine.engagement, name=" ", due_on=date(2026, 5, 1)
        )

    # Then it is refused under "name" and nothing is written
    assert "name" in refused.value.message_dict
    assert written() == before


# --- scope --------------------------------------------------------------------------------------------


OUT_OF_SCOPE_CALLS: list[tuple[str, Callable[[Any, World], object]]] = [
    (
        "membership_add",
        lambda actor, w: membership_add(
            actor=actor, engagement=w.other.engagement, user=actor, role=Membership.Role.CONSULTANT
        ),
    ),
    (
        "engagement_override_health",
        lambda actor, w: engagement_override_health(
            actor=actor, engagement=w.other.engagement, health="red", reason="Because", until=_next_week()
        ),
    ),
    (
        "milestone_create",
        lambda actor, w: milestone_create(
            actor=actor, engagement=w.other.engagement, name="Sneaky", due_on=date(2026, 5, 1)
        ),
    ),
]


@pytest.mark.parametrize("actor_name", ["consultant", "engagement_lead", "client_pmo_lead", "anonymous"])
@pytest.mark.parametrize(
    ("service", "call"), OUT_OF_SCOPE_CALLS, ids=[name for name, _ in OUT_OF_SCOPE_CALLS]
)
def test_services_answer_404_outside_the_actors_scope(
    world: World, actor_name: str, service: str, call: Callable[[Any, World], object]
) -> None:
    # Given a user who cannot see the other client's engagement
    actor = AnonymousUser() if actor_name == "anonymous" else world.users()[actor_name]
    before = written()
    engagement_before = Engagement.objects.values().get(pk=world.other.engagement.pk)

    # When they call a service on it
    with pytest.raises(NotFound):
        call(actor, world)

    # Then it answers as if the engagement did not exist, and nothing changes
    assert written() == before
    assert Engagement.objects.values().get(pk=world.other.engagement.pk) == engagement_before
