"""API v1 for clients, engagements, teams, milestones and change requests, and the schema documenting it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from engagements.models import Engagement, Membership
from engagements.services import engagement_override_health
from tests import factories
from tests.factories import Scope, World

SEES = {
    "administrator": {"mine", "sibling", "other"},
    "practice_lead": {"mine", "sibling", "other"},
    "engagement_lead": {"mine"},
    "consultant": {"mine"},
    "client_pmo_lead": {"mine", "sibling"},
}
# URL basename → the attribute of a Scope holding one row of that resource.
RESOURCES = {
    "engagement": "engagement",
    "membership": "membership",
    "milestone": "milestone",
    "change-request": "change_request",
}


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, body, content_type="application/json")


def scope(world: World, name: str) -> Scope:
    scope_: Scope = getattr(world, name)
    return scope_


def listed(response: Any) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def engagement_body(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client": world.client_a.pk,
        "name": "Pharmacy rollout",
        "code": "PHARM-26",
        "start_date": "2026-04-01",
        "end_date": "2026-12-18",
        "kind": "implementation",
        "budget": "120000.00",
        "currency": "EUR",
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("role", sorted(SEES))
def test_engagement_list_shows_only_the_engagements_in_the_callers_scope(
    client: Client, world: World, role: str
) -> None:
    # Given a user of each role
    client.force_login(world.users()[role])

    # When they list engagements
    response = client.get(reverse("v1:engagement-list"))

    # Then they get exactly those they may see
    assert listed(response) == {scope(world, name).engagement.pk for name in SEES[role]}


@pytest.mark.parametrize(
    ("role", "clients"),
    [
        ("administrator", {"client_a", "client_b"}),
        ("practice_lead", {"client_a", "client_b"}),
        ("consultant", {"client_a"}),
        ("client_pmo_lead", {"client_a"}),
    ],
)
def test_client_list_shows_only_the_clients_in_the_callers_scope(
    client: Client, world: World, role: str, clients: set[str]
) -> None:
    # Given a user of each role
    client.force_login(world.users()[role])

    # When they list clients
    response = client.get(reverse("v1:client-list"))

    # Then they get the clients whose engagements they see
    assert listed(response) == {getattr(world, name).pk for name in clients}


@pytest.mark.parametrize("basename", sorted(RESOURCES))
@pytest.mark.parametrize("role", sorted(SEES))
def test_rows_of_engagements_are_listed_only_within_the_callers_scope(
    client: Client, world: World, basename: str, role: str
) -> None:
    # Given a user of each role, and one row of each resource on mine, sibling and other
    client.force_login(world.users()[role])

    # When they list the resource
    response = client.get(reverse(f"v1:{basename}-list"))

    # Then every row belongs to an engagement they see, and each of those engagements shows its row
    shown = listed(response)
    assert {getattr(scope(world, name), RESOURCES[basename]).pk for name in SEES[role]} <= shown
    engagement_of = {
        row["id"]: row["id"] if basename == "engagement" else row["engagement"]
        for row in response.json()["results"]
    }
    assert set(engagement_of.values()) == {scope(world, name).engagement.pk for name in SEES[role]}


@pytest.mark.parametrize("basename", sorted(RESOURCES))
@pytest.mark.parametrize(
    ("role", "outside"),
    [("consultant", "sibling"), ("consultant", "other"), ("client_pmo_lead", "other")],
)
def test_retrieve_outside_the_callers_scope_answers_404(
    client: Client, world: World, basename: str, role: str, outside: str
) -> None:
    # Given a row on an engagement the user may not see
    client.force_login(world.users()[role])
    row = getattr(scope(world, outside), RESOURCES[basename])

    # When they ask for it by id, or by an id that is not a number
    url = reverse(f"v1:{basename}-detail", args=[row.pk])
    response = client.get(url)
    nonsense = client.get(url.replace(f"/{row.pk}/", "/abc/"))

    # Then neither exists for them
    assert response.status_code == 404
    assert nonsense.status_code == 404


@pytest.mark.parametrize("role", ["consultant", "client_pmo_lead"])
def test_client_outside_the_callers_scope_answers_404(client: Client, world: World, role: str) -> None:
    # Given a user who sees client A only
    client.force_login(world.users()[role])

    # When they ask for client B, and for their own
    outside = client.get(reverse("v1:client-detail", args=[world.client_b.pk]))
    inside = client.get(reverse("v1:client-detail", args=[world.client_a.pk]))

    # Then client B does not exist for them
    assert outside.status_code == 404
    assert inside.status_code == 200
    assert inside.json()["name"] == "Northwind Health"


def test_engagement_shows_its_effective_health_and_whether_it_is_overridden(
    client: Client, world: World
) -> None:
    # Given mine's lead overrode the computed health with a reason
    engagement_override_health(
        actor=world.lead,
        engagement=world.mine.engagement,
        health="red",
        reason="Sponsor left.",
        until=timezone.localdate() + dt.timedelta(days=7),
    )
    client.force_login(world.consultant)

    # When the consultant reads the engagement
    response = client.get(reverse("v1:engagement-detail", args=[world.mine.engagement.pk]))

    # Then it shows the override as the effective health, and says it is one
    assert response.status_code == 200
    data = response.json()
    assert data["code"] == "EHR-A"
    assert data["client_name"] == "Northwind Health"
    assert data["health"] == "green"
    assert data["effective_health"] == "red"
    assert data["health_is_overridden"] is True
    assert data["health_override_reason"] == "Sponsor left."
    assert data["status_display"] == "Active"


@pytest.mark.parametrize("role", ["practice_lead", "administrator"])
def test_practice_lead_or_administrator_creates_an_engagement_with_its_lead(
    client: Client, world: World, role: str
) -> None:
    # Given a practice lead or administrator
    client.force_login(world.users()[role])

    # When they create an engagement naming its lead
    response = post(client, reverse("v1:engagement-list"), engagement_body(world, lead=world.consultant.pk))

    # Then it is created, answered as it now stands, with the lead on its team
    assert response.status_code == 201, response.json()
    data = response.json()
    engagement = Engagement.objects.get(pk=data["id"])
    assert data["code"] == "PHARM-26"
    assert data["budget"] == "120000.00"
    assert data["country"] == "DE"  # the client's, since none was given
    assert data["effective_health"] == "green"
    assert engagement.memberships.get().user == world.consultant
    assert engagement.memberships.get().role == Membership.Role.LEAD


@pytest.mark.parametrize("role", ["engagement_lead", "consultant", "client_pmo_lead"])
def test_only_practice_leads_and_administrators_create_engagements(
    client: Client, world: World, role: str
) -> None:
    # Given a user who may not create engagements
    client.force_login(world.users()[role])
    before = Engagement.objects.count()

    # When they post a valid engagement
    response = post(client, reverse("v1:engagement-list"), engagement_body(world))

    # Then they are refused and nothing is written
    assert response.status_code == 403
    assert Engagement.objects.count() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"code": "EHR-A"}, "code"),
        ({"code": "bad code!"}, "code"),
        ({"budget": "lots"}, "budget"),
        ({"budget": "-1"}, "budget"),
        ({"budget": "1e20"}, "budget"),
        ({"currency": "euros"}, "currency"),
        ({"currency": "eu"}, "currency"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"end_date": "2025-01-01"}, "end_date"),
        ({"status": "finished"}, "status"),
        ({"kind": 3}, "kind"),
        ({"client": "Northwind"}, "client"),
        ({"client": 10**12}, "client"),
        ({"lead": 10**12}, "lead"),
        ({"name": ""}, "name"),
        ({"skip_non_working_days": "maybe"}, "skip_non_working_days"),
        ({"country": "Germany"}, "country"),
        ({"holiday_subdivision": "ENG"}, "holiday_subdivision"),
    ],
)
def test_malformed_engagement_is_answered_400_with_the_field(
    client: Client, world: World, overrides: dict[str, Any], field: str
) -> None:
    # Given a practice lead and a body with one thing wrong
    client.force_login(world.practice_lead)
    before = Engagement.objects.count()

    # When they post it
    response = post(client, reverse("v1:engagement-list"), engagement_body(world, **overrides))

    # Then the answer is 400 naming the field, and nothing is written
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert Engagement.objects.count() == before


def test_engagement_lead_must_be_a_user_of_the_firm(client: Client, world: World) -> None:
    # Given a practice lead naming the client PMO lead as engagement lead
    client.force_login(world.practice_lead)
    before = Engagement.objects.count()

    # When they create the engagement
    response = post(client, reverse("v1:engagement-list"), engagement_body(world, lead=world.client_user.pk))

    # Then the lead is refused and nothing is written
    assert response.status_code == 400
    assert "does not exist" in response.json()["lead"][0]
    assert Engagement.objects.count() == before


def test_engagements_filter_by_status_and_client(client: Client, world: World) -> None:
    # Given a planned engagement of client B next to the world's active ones
    planned = factories.make_engagement(client=world.client_b, status=Engagement.Status.PLANNED)
    client.force_login(world.practice_lead)
    url = reverse("v1:engagement-list")

    # When the practice lead filters
    by_status = client.get(url, {"status": "planned"})
    by_client = client.get(url, {"client": world.client_b.pk})
    both = client.get(url, {"client": str(world.client_b.pk), "status": "active"})

    # Then each answer holds just the matching engagements, and a bad value is refused
    assert listed(by_status) == {planned.pk}
    assert listed(by_client) == {planned.pk, world.other.engagement.pk}
    assert listed(both) == {world.other.engagement.pk}
    assert client.get(url, {"status": "finished"}).status_code == 400


def test_consultant_cannot_filter_by_a_client_outside_their_scope(client: Client, world: World) -> None:
    # Given the consultant, who sees client A only
    client.force_login(world.consultant)

    # When they filter engagements by client B
    response = client.get(reverse("v1:engagement-list"), {"client": world.client_b.pk})

    # Then client B is no valid choice for them
    assert response.status_code == 400
    assert "client" in response.json()


@pytest.mark.parametrize("basename", ["engagement", "client", "membership"])
def test_anonymous_callers_are_refused(client: Client, world: World, basename: str) -> None:
    # When someone who has not logged in reads a list
    response = client.get(reverse(f"v1:{basename}-list"))

    # Then they are refused
    assert response.status_code in {401, 403}


def test_engagement_list_query_count_does_not_grow_with_rows(
    client: Client, world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # Given the consultant on 5 more engagements
    client.force_login(world.consultant)
    url = reverse("v1:engagement-list")
    for _ in range(5):
        factories.make_engagement(client=world.client_a, members=(world.consultant,))
    with CaptureQueriesContext(connection) as with_five:
        assert client.get(url).status_code == 200

    # When they join 30 more
    for _ in range(30):
        factories.make_engagement(client=world.client_b, members=(world.consultant,))

    # Then the list costs the same number of queries
    with django_assert_num_queries(len(with_five)):
        response = client.get(url)
    assert len(response.json()["results"]) == 36


def test_schema_generates_and_validates_without_warnings(tmp_path: Path) -> None:
    # When the OpenAPI schema of v1 is generated, failing on any warning
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--api-version", "v1", "--validate", "--fail-on-warn", "--file", str(target))

    # Then it documents every resource, with the errors a create can answer
    schema = yaml.safe_load(target.read_text())
    paths = schema["paths"]
    for resource in (
        "clients",
        "engagements",
        "memberships",
        "milestones",
        "change-requests",
        "stakeholders",
        "stakeholder-roles",
        "channels",
        "check-ins",
        "follow-ups",
        "follow-up-comments",
        "sponsor-subscriptions",
        "deliveries",
    ):
        assert f"/api/v1/{resource}/" in paths
        assert "404" in paths[f"/api/v1/{resource}/{{id}}/"]["get"]["responses"]
    assert set(paths["/api/v1/check-ins/"]["post"]["responses"]) >= {"201", "400", "403", "413", "429"}
    assert set(paths["/api/v1/follow-ups/{id}/complete/"]["post"]["responses"]) >= {"200", "403", "404"}


def test_schema_and_docs_are_served(client: Client, world: World) -> None:
    # Given a logged-in consultant
    client.force_login(world.consultant)

    # When they open the schema and both documentation pages
    schema = client.get(reverse("v1:schema"))
    swagger = client.get(reverse("v1:docs"))
    # Swagger UI's start-up script is a file of its own, so the page needs no inline script.
    swagger_script = client.get(reverse("v1:docs"), {"script": ""})
    redoc = client.get(reverse("v1:redoc"))

    # Then each answers, and the pages load the v1 schema
    assert schema.status_code == 200
    assert b"/api/v1/check-ins/" in schema.content
    assert swagger.status_code == 200
    assert redoc.status_code == 200
    assert swagger_script["Content-Type"].startswith("application/javascript")
    assert reverse("v1:schema") in swagger_script.content.decode()


def test_an_engagement_region_not_of_its_country_is_refused_naming_the_valid_codes(
    client: Client, world: World
) -> None:
    # Given a practice lead
    client.force_login(world.practice_lead)

    # When they create a UK engagement in a region the UK does not have
    response = post(
        client, reverse("v1:engagement-list"), engagement_body(world, country="GB", holiday_subdivision="BY")
    )

    # Then the field error lists the UK's regions
    assert response.status_code == 400, response.content
    assert response.json()["holiday_subdivision"] == ["Not a region of GB; use one of ENG, NIR, SCT, WLS."]


def test_an_engagement_is_created_in_a_region_and_shows_it(client: Client, world: World) -> None:
    # Given a practice lead
    client.force_login(world.practice_lead)

    # When they create a German engagement in Bavaria
    response = post(client, reverse("v1:engagement-list"), engagement_body(world, holiday_subdivision="BY"))

    # Then it is created in Bavaria, and its client shows its own region
    assert response.status_code == 201, response.content
    assert response.json()["holiday_subdivision"] == "BY"
    engagement = Engagement.objects.get(pk=response.json()["id"])
    client_data = client.get(reverse("v1:client-detail", args=[engagement.client_id])).json()
    assert client_data["holiday_subdivision"] == engagement.client.holiday_subdivision
