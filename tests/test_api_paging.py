"""API lists page by cursor in a stable order, without counting the rows."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communications.models import CheckIn
from pmaas.api import NumberedPagination, Pagination
from pmaas.api_urls import router
from tests import factories
from tests.factories import World

CHECK_INS = reverse("v1:check-in-list")
FOLLOW_UPS = reverse("v1:follow-up-list")


@pytest.fixture
def lead_client(client: Client, world: World) -> Client:
    client.force_login(world.lead)
    return client


def _same_time_check_ins(world: World, count: int) -> list[CheckIn]:
    at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    return [
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[world.mine.stakeholder],
            actor=world.lead,
            occurred_at=at,
            summary=f"Stand-up {n}",
        )
        for n in range(count)
    ]


def _walk(client: Client, url: str, query: dict[str, Any], link: str = "next") -> list[list[int]]:
    pages = []
    response = client.get(url, query)
    while True:
        assert response.status_code == 200
        body = response.json()
        pages.append([row["id"] for row in body["results"]])
        if body[link] is None:
            return pages
        response = client.get(body[link])


def test_check_ins_at_the_same_time_are_each_listed_once_across_pages(
    lead_client: Client, world: World
) -> None:
    # Given seven check-ins logged for the same minute
    logged = _same_time_check_ins(world, 7)

    # When the engagement's check-ins are read two at a time
    pages = _walk(lead_client, CHECK_INS, {"engagement": world.mine.engagement.pk, "page_size": 2})

    # Then every check-in appears exactly once, the later-logged first among equals
    seen = [pk for page in pages for pk in page]
    same_time = [pk for pk in seen if pk in {c.pk for c in logged}]
    assert same_time == sorted((c.pk for c in logged), reverse=True)
    assert len(seen) == len(set(seen)) == CheckIn.objects.filter(engagement=world.mine.engagement).count()
    assert all(len(page) == 2 for page in pages[:-1])


def test_previous_links_walk_back_over_the_same_pages(lead_client: Client, world: World) -> None:
    # Given seven check-ins at the same time, read forwards two at a time
    _same_time_check_ins(world, 7)
    query = {"engagement": world.mine.engagement.pk, "page_size": 2}
    forwards = _walk(lead_client, CHECK_INS, query)

    # When the reader walks back from the last page
    last = lead_client.get(CHECK_INS, query).json()
    while last["next"] is not None:
        last = lead_client.get(last["next"]).json()
    backwards = [[row["id"] for row in last["results"]]]
    while last["previous"] is not None:
        last = lead_client.get(last["previous"]).json()
        backwards.append([row["id"] for row in last["results"]])

    # Then they meet the same pages in reverse, and the first page has no way back
    assert backwards == list(reversed(forwards))
    assert last["previous"] is None


def test_a_check_in_removed_between_pages_makes_no_other_vanish_or_repeat(
    lead_client: Client, world: World
) -> None:
    # Given seven check-ins at the same time, and the first page of two read
    logged = _same_time_check_ins(world, 7)
    query = {"engagement": world.mine.engagement.pk, "page_size": 2}
    first = lead_client.get(CHECK_INS, query).json()
    first_ids = [row["id"] for row in first["results"]]

    # When a check-in shown on it is deleted, and one at the same time logged, before the rest is read
    CheckIn.objects.filter(pk=first_ids[0]).delete()
    _same_time_check_ins(world, 1)
    rest = [pk for page in _walk(lead_client, first["next"], {}) for pk in page]

    # Then the rest holds every other check-in once, and nothing from the first page again
    expected = {c.pk for c in logged} - set(first_ids)
    assert expected <= set(rest)
    assert len(rest) == len(set(rest))
    assert not set(rest) & set(first_ids)


def test_follow_ups_due_at_the_same_time_are_each_listed_once(lead_client: Client, world: World) -> None:
    # Given five follow-ups due at the same moment
    due = timezone.now().replace(microsecond=0) + timedelta(days=3)
    made = [
        factories.make_follow_up(engagement=world.mine.engagement, owner_user=world.lead, due_at=due)
        for _ in range(5)
    ]

    # When the lead's engagement follow-ups are read two at a time
    pages = _walk(lead_client, FOLLOW_UPS, {"engagement": world.mine.engagement.pk, "page_size": 2})

    # Then each appears once, earliest due first and in the order they were made among equals
    seen = [pk for page in pages for pk in page]
    assert len(seen) == len(set(seen))
    assert [pk for pk in seen if pk in {f.pk for f in made}] == [f.pk for f in made]


def test_a_page_of_check_ins_counts_nothing(lead_client: Client, world: World) -> None:
    # Given more check-ins than a page holds
    _same_time_check_ins(world, 3)

    # When the first and a following page are read
    with CaptureQueriesContext(connection) as queries:
        first = lead_client.get(CHECK_INS, {"page_size": 2}).json()
        lead_client.get(first["next"])

    # Then no query counts the rows, and the answer says only where the neighbouring pages are
    assert not [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert set(first) == {"next", "previous", "results"}


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64!",
        base64.b64encode(b"p=1").decode(),
        base64.b64encode(b"p=2020-01-01T00:00:00&p=1").decode(),
        base64.b64encode(b"p=2020-01-01T00:00:00%2B00:00&p=99999999999999999999").decode(),
        base64.b64encode(b"p=yesterday&p=1").decode(),
        base64.b64encode(b"p=2020-01-01T00:00:00%2B00:00&p=1&r=2").decode(),
    ],
    ids=["garbled", "short", "naive-time", "huge-id", "not-a-time", "bad-direction"],
)
def test_a_cursor_the_list_did_not_hand_out_is_not_found(lead_client: Client, cursor: str) -> None:
    response = lead_client.get(CHECK_INS, {"cursor": cursor})

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


def test_every_api_list_declares_an_order_ending_with_its_id() -> None:
    # A list without a unique last column could repeat or drop rows between pages.
    lists: list[Any] = [viewset for _, viewset, _ in router.registry if hasattr(viewset, "list")]
    keyset = [viewset for viewset in lists if viewset.pagination_class is Pagination]

    assert {viewset.pagination_class for viewset in lists} <= {Pagination, NumberedPagination}
    assert len(keyset) >= 15
    for viewset in keyset:
        ordering = viewset.ordering
        assert ordering[-1].lstrip("-") == "id", viewset.__name__
        model = viewset().get_serializer_class().Meta.model
        for name in ordering:
            assert not model._meta.get_field(name.lstrip("-")).null, (viewset.__name__, name)
