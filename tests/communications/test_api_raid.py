"""API v1 for RAID items: scoped reads, keyset pages, filters, writes through the services, 400s."""

from __future__ import annotations

import pytest
from django.urls import reverse

from communications.models import RaidItem
from tests import factories

pytestmark = pytest.mark.django_db

LIST = reverse("v1:raid-item-list")


def _detail(item) -> str:
    return reverse("v1:raid-item-detail", args=[item.pk])


def test_the_list_is_scoped_and_a_client_sees_only_shared_items_and_fields(client, world):
    internal = factories.make_raid_item(engagement=world.mine.engagement, title="Sponsor may leave")

    client.force_login(world.consultant)
    team_ids = {row["id"] for row in client.get(LIST).json()["results"]}
    assert team_ids == {world.mine.raid_item.pk, internal.pk}

    client.force_login(world.client_user)
    rows = client.get(LIST).json()["results"]
    assert {row["id"] for row in rows} == {world.mine.raid_item.pk, world.sibling.raid_item.pk}
    assert "created_by" not in rows[0] and "check_in" not in rows[0] and "last_reviewed_at" not in rows[0]
    assert rows[0]["score"] == 12
    assert client.get(_detail(internal)).status_code == 404
    assert client.get(_detail(world.other.raid_item)).status_code == 404


def test_pages_follow_a_cursor_over_the_id_and_filters_narrow_them(client, world):
    for n in range(5):
        factories.make_raid_item(engagement=world.mine.engagement, kind="issue", title=f"Issue {n}")
    client.force_login(world.lead)

    first = client.get(LIST, {"page_size": 3, "kind": "issue"}).json()
    second = client.get(first["next"]).json()

    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(ids) == 5 and ids == sorted(ids, reverse=True)
    assert second["next"] is None
    assert client.get(LIST, {"page_size": 0}).status_code == 400
    assert client.get(LIST, {"kind": "rumour"}).status_code == 400
    assert [r["id"] for r in client.get(LIST, {"status": "closed"}).json()["results"]] == []


@pytest.mark.parametrize("extra", [2, 15])
def test_the_list_reads_a_fixed_number_of_queries(client, world, django_assert_num_queries, extra):
    for n in range(extra):
        factories.make_raid_item(
            engagement=world.mine.engagement, title=f"Risk {n}", stakeholders=[world.mine.stakeholder]
        )
    client.force_login(world.lead)
    client.get(LIST)
    with django_assert_num_queries(LIST_QUERIES):
        assert client.get(LIST).status_code == 200


LIST_QUERIES = 4


def test_create_answers_201_through_the_service_and_400_with_field_errors(client, world):
    client.force_login(world.consultant)
    base = {"engagement": world.mine.engagement.pk, "kind": "risk", "title": "Cut-over weekend clashes"}

    refused = client.post(LIST, base, content_type="application/json")
    assert refused.status_code == 400
    assert set(refused.json()) >= {"likelihood", "impact"}

    wrong_owner = client.post(
        LIST,
        base | {"likelihood": 2, "impact": 5, "owner": world.outsider_consultant.pk},
        content_type="application/json",
    )
    assert wrong_owner.status_code == 400 and "owner" in wrong_owner.json()

    out_of_range = client.post(LIST, base | {"likelihood": 9, "impact": 5}, content_type="application/json")
    assert out_of_range.status_code == 400 and "likelihood" in out_of_range.json()

    created = client.post(
        LIST,
        base | {"likelihood": 2, "impact": 5, "stakeholders": [world.mine.stakeholder.pk]},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["score"] == 10 and created.json()["stakeholders"] == [world.mine.stakeholder.pk]


def test_create_on_an_engagement_out_of_scope_is_a_field_error_and_a_client_may_not_write(client, world):
    client.force_login(world.consultant)
    body = {"engagement": world.other.engagement.pk, "kind": "issue", "title": "Printer drivers"}
    response = client.post(LIST, body, content_type="application/json")
    assert response.status_code == 400 and "engagement" in response.json()

    client.force_login(world.client_user)
    body["engagement"] = world.mine.engagement.pk
    assert client.post(LIST, body, content_type="application/json").status_code == 403


def test_patch_changes_only_what_is_given_and_transition_closes(client, world):
    client.force_login(world.lead)
    item = world.mine.raid_item

    patched = client.patch(_detail(item), {"impact": 5, "trend": "rising"}, content_type="application/json")
    assert patched.status_code == 200
    assert (patched.json()["score"], patched.json()["title"]) == (15, item.title)
    assert patched.json()["stakeholders"] == [world.mine.stakeholder.pk]

    url = reverse("v1:raid-item-transition", args=[item.pk])
    assert (
        client.post(url, {"to_status": "closed"}, content_type="application/json").json()["status"]
        == "closed"
    )
    again = client.post(url, {"to_status": "closed"}, content_type="application/json")
    assert again.status_code == 400
    assert RaidItem.objects.get(pk=item.pk).status == "closed"
