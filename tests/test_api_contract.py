"""What the API schema promises every caller: paging bounds, the errors it documents, local times."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import World


@pytest.fixture
def consultant_client(client: Client, world: World) -> Client:
    client.force_login(world.consultant)
    return client


@pytest.mark.parametrize("page_size", ["0", "201", "-1", "ten", "1.5", "٥"])
def test_a_page_size_outside_1_to_200_is_refused(consultant_client: Client, page_size: str) -> None:
    response = consultant_client.get(reverse("v1:engagement-list"), {"page_size": page_size})

    assert response.status_code == 400
    assert response.json() == {"page_size": ["A whole number from 1 to 200."]}


def test_a_page_size_within_bounds_pages(consultant_client: Client) -> None:
    response = consultant_client.get(reverse("v1:engagement-list"), {"page_size": "1"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


def _schema(client: Client) -> dict[str, Any]:
    response = client.get(reverse("v1:schema"), {"format": "json"})
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def test_lists_are_documented_as_cursor_pages_without_a_count(consultant_client: Client) -> None:
    schema = _schema(consultant_client)
    operation = schema["paths"]["/api/v1/check-ins/"]["get"]
    page = schema["components"]["schemas"]["PaginatedCheckInList"]

    # The page says where its neighbours are, and nothing about how many rows there are
    assert set(page["properties"]) == {"next", "previous", "results"}
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert "page" not in parameters and "cursor" in parameters
    assert parameters["page_size"]["schema"].items() >= {"minimum": 1, "maximum": 200, "default": 50}.items()
    assert "404" in operation["responses"]


def test_every_operation_documents_refusal_and_throttling(consultant_client: Client) -> None:
    operations = [
        (path, method, operation)
        for path, item in _schema(consultant_client)["paths"].items()
        for method, operation in item.items()
    ]

    for path, method, operation in operations:
        responses = operation["responses"]
        assert {"403", "429"} <= set(responses), (method, path)
        assert "Retry-After" in responses["429"]["headers"], (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if method in ("post", "put", "patch"):
            assert {"400", "413"} <= set(responses), (method, path)
    assert len(operations) > 30


def test_local_times_are_stated_as_a_pattern_without_an_offset(consultant_client: Client) -> None:
    local_time = _schema(consultant_client)["components"]["schemas"]["Channel"]["properties"]["local_time"]

    # JSON Schema's "time" format requires an offset, which a time of day in the stakeholder's zone has not.
    assert "format" not in local_time
    assert local_time["pattern"].startswith("^([01][0-9]|2[0-3])")


def test_a_choice_filter_left_empty_is_documented_and_filters_nothing(
    consultant_client: Client, world: World
) -> None:
    # Given the schema's stakeholder-roles list and its kind filter
    operation = _schema(consultant_client)["paths"]["/api/v1/stakeholder-roles/"]["get"]
    kind = next(parameter for parameter in operation["parameters"] if parameter["name"] == "kind")

    # When the filter is sent empty, as a form sends a select left unchosen
    every = consultant_client.get(reverse("v1:stakeholder-role-list")).json()["results"]
    empty = consultant_client.get(reverse("v1:stakeholder-role-list"), {"kind": ""})

    # Then the schema allows it, and the answer is the unfiltered list (a choice outside the enum is refused)
    assert "" in kind["schema"]["enum"] and "sponsor" in kind["schema"]["enum"]
    assert empty.status_code == 200
    assert empty.json()["results"] == every
    assert consultant_client.get(reverse("v1:stakeholder-role-list"), {"kind": "chair"}).status_code == 400
