"""API v1 for RAID items: scoped reads, keyset pages, filters, writes and the log's actions, 400s."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from communications import raid
from communications.models import RaidItem
from engagements.models import ChangeRequest
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


def test_the_list_keeps_its_order_by_id_whatever_the_status_or_score(client, world):
    # Given a risk scored 25 recorded before a closed issue and a risk scored 2, which the RAID tab
    # orders open first and by score
    engagement = world.mine.engagement
    severe = factories.make_raid_item(engagement=engagement, title="Go-live slips", likelihood=5, impact=5)
    closed = factories.make_raid_item(engagement=engagement, kind="issue", title="Lab feed rejected")
    raid.raid_item_transition(actor=world.lead, item=closed, to_status="closed")
    mild = factories.make_raid_item(engagement=engagement, title="Parking short", likelihood=1, impact=2)
    client.force_login(world.lead)

    # When the API lists them
    rows = client.get(LIST, {"engagement": engagement.pk}).json()["results"]

    # Then its cursor's order stands: newest first by id
    assert [row["id"] for row in rows] == [mild.pk, closed.pk, severe.pk, world.mine.raid_item.pk]


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


# --- the log's actions: review a risk, validate an assumption, turn an issue into a change request ----------


def _post(client, name: str, item, body: dict) -> Any:
    return client.post(reverse(f"v1:raid-item-{name}", args=[item.pk]), body, content_type="application/json")


def _in_days(days: int) -> str:
    return (timezone.now().date() + dt.timedelta(days=days)).isoformat()


def test_a_review_records_the_rating_trend_and_next_review_as_the_detail_shows(client, world):
    # Given the world's risk, rated 3 × 4
    risk = world.mine.raid_item
    client.force_login(world.consultant)

    # When the consultant reviews it through the API
    response = _post(
        client,
        "review",
        risk,
        {
            "likelihood": 4,
            "impact": 5,
            "trend": "rising",
            "next_review_on": _in_days(14),
            "mitigation": "Dual vendor",
        },
    )

    # Then the item reads the new rating, trend, mitigation and next review, and when it was reviewed
    assert response.status_code == 200, response.json()
    body = client.get(_detail(risk)).json()
    assert (body["likelihood"], body["impact"], body["score"], body["trend"]) == (4, 5, 20, "rising")
    assert (body["review_on"], body["mitigation"]) == (_in_days(14), "Dual vendor")
    assert body["last_reviewed_at"] is not None
    # And a client user sees the shared review, without its bookkeeping
    client.force_login(world.client_user)
    shared = client.get(_detail(risk)).json()
    assert (shared["score"], shared["review_on"]) == (20, _in_days(14))
    assert "last_reviewed_at" not in shared


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"next_review_on": "yesterday"}, "next_review_on"),
        ({"next_review_on": None}, "next_review_on"),
        ({"likelihood": 7}, "likelihood"),
        ({"impact": "high"}, "impact"),
        ({"trend": "sideways"}, "trend"),
    ],
)
def test_a_malformed_review_is_400_under_its_field(client, world, change, field):
    client.force_login(world.lead)
    body = {"likelihood": 2, "impact": 2, "trend": "falling", "next_review_on": _in_days(7)} | change

    response = _post(client, "review", world.mine.raid_item, body)

    assert response.status_code == 400 and field in response.json(), response.json()
    assert RaidItem.objects.get(pk=world.mine.raid_item.pk).last_reviewed_at is None


def test_a_review_due_in_the_past_or_of_anything_but_an_open_risk_is_refused(client, world):
    # Given the lead, the world's risk, an assumption, and a closed risk
    client.force_login(world.lead)
    body = {"likelihood": 2, "impact": 2, "trend": "falling", "next_review_on": _in_days(7)}
    assumption = factories.make_raid_item(engagement=world.mine.engagement, kind="assumption")
    closed = factories.make_raid_item(engagement=world.mine.engagement, title="Closed risk")
    _post(client, "transition", closed, {"to_status": "closed"})

    # When they review with a next review before today, review the assumption, and the closed risk
    past = _post(client, "review", world.mine.raid_item, body | {"next_review_on": _in_days(-1)})
    not_a_risk = _post(client, "review", assumption, body)
    not_open = _post(client, "review", closed, body)

    # Then each is refused with the page's reason
    assert past.status_code == 400
    assert past.json() == {"next_review_on": ["The next review cannot lie in the past."]}
    assert not_a_risk.status_code == 400 and "Only a risk can be reviewed." in str(not_a_risk.json())
    assert not_open.status_code == 400 and "reopen it first" in str(not_open.json())


def test_validating_an_assumption_closes_it_held_or_proved_wrong_and_reopening_clears_it(client, world):
    # Given two open assumptions
    held = factories.make_raid_item(engagement=world.mine.engagement, kind="assumption", title="Wards free")
    wrong = factories.make_raid_item(engagement=world.mine.engagement, kind="assumption", title="Feed ready")
    client.force_login(world.consultant)

    # When one is found to hold and the other to be wrong
    first = _post(client, "validate", held, {"holds": True})
    second = _post(client, "validate", wrong, {"holds": False})

    # Then both are closed, each with its outcome in the words of the log
    assert (first.status_code, second.status_code) == (200, 200)
    shown = {row["id"]: row for row in client.get(LIST, {"kind": "assumption"}).json()["results"]}
    assert (shown[held.pk]["status"], shown[held.pk]["validation"]) == ("closed", "held")
    assert shown[held.pk]["status_words"] == "Validated"
    assert (shown[wrong.pk]["validation"], shown[wrong.pk]["status_words"]) == ("failed", "Proved wrong")
    assert shown[held.pk]["validated_at"] is not None

    # And validating a closed one again is refused, until it is reopened, which clears the outcome
    assert _post(client, "validate", held, {"holds": False}).status_code == 400
    reopened = _post(client, "transition", held, {"to_status": "open"}).json()
    assert (reopened["status"], reopened["validation"], reopened["validated_at"]) == ("open", "", None)


def test_validation_needs_an_answer_and_an_assumption(client, world):
    client.force_login(world.lead)
    assumption = factories.make_raid_item(engagement=world.mine.engagement, kind="assumption")

    missing = _post(client, "validate", assumption, {})
    garbled = _post(client, "validate", assumption, {"holds": "perhaps"})
    a_risk = _post(client, "validate", world.mine.raid_item, {"holds": True})

    assert missing.status_code == 400 and "holds" in missing.json()
    assert garbled.status_code == 400 and "holds" in garbled.json()
    assert a_risk.status_code == 400 and "Only an assumption can be validated." in str(a_risk.json())
    assert RaidItem.objects.get(pk=assumption.pk).status == "open"


def test_an_issue_becomes_a_proposed_change_request_once(client, world):
    # Given an open issue with an action plan
    issue = factories.make_raid_item(
        engagement=world.mine.engagement,
        kind="issue",
        title="Pharmacy feed missing",
        description="The interface spec left it out.",
        mitigation="Add it to the interface scope.",
        shared_with_client=True,
    )
    client.force_login(world.consultant)

    # When the consultant turns it into a change request
    response = _post(
        client,
        "change-request",
        issue,
        {"kind": "scope", "budget_impact": "12000.50", "schedule_impact_days": 10},
    )

    # Then the change request is proposed with the issue's words, and the issue points at it, still open
    assert response.status_code == 201, response.json()
    change = response.json()
    assert (change["title"], change["status"], change["schedule_impact_days"]) == (
        "Pharmacy feed missing",
        "proposed",
        10,
    )
    assert "Add it to the interface scope." in change["description"]
    item = client.get(_detail(issue)).json()
    assert (item["became_change_request"], item["status"]) == (change["id"], "open")
    listed = client.get(reverse("v1:change-request-list")).json()["results"]
    assert change["id"] in {row["id"] for row in listed}

    # And a second time is refused
    again = _post(client, "change-request", issue, {"kind": "scope"})
    assert again.status_code == 400 and "already turned into a change request" in str(again.json())


def test_an_internal_issue_needs_a_title_for_the_client_and_lends_none_of_its_words(client, world):
    # Given an internal issue
    issue = factories.make_raid_item(
        engagement=world.mine.engagement,
        kind="issue",
        title="Sponsor blocks the pharmacy budget",
        description="She wants it cut.",
    )
    client.force_login(world.lead)

    # When it is turned into a change request without a title, then with one
    untitled = _post(client, "change-request", issue, {"kind": "scope"})
    titled = _post(client, "change-request", issue, {"kind": "budget", "title": "Pharmacy budget review"})

    # Then the first is refused under title; the second carries only the words given, and the client reads it
    assert untitled.status_code == 400 and "title" in untitled.json()
    assert titled.status_code == 201, titled.json()
    assert (titled.json()["title"], titled.json()["description"]) == ("Pharmacy budget review", "")
    client.force_login(world.client_user)
    shown = client.get(reverse("v1:change-request-detail", args=[titled.json()["id"]])).json()
    assert shown["title"] == "Pharmacy budget review"
    assert "Sponsor blocks" not in str(shown) and "cut" not in str(shown)


def test_an_issues_change_request_tells_the_stakeholders_named_and_refuses_unknown_ones(client, world):
    issue = factories.make_raid_item(engagement=world.mine.engagement, kind="issue", shared_with_client=True)
    client.force_login(world.lead)

    outsider = _post(
        client,
        "change-request",
        issue,
        {"kind": "schedule", "notify_stakeholders": [world.other.stakeholder.pk]},
    )
    told = _post(
        client,
        "change-request",
        issue,
        {"kind": "schedule", "notify_stakeholders": [world.mine.stakeholder.pk]},
    )

    assert outsider.status_code == 400 and "notify_stakeholders" in outsider.json()
    assert told.status_code == 201, told.json()
    change = ChangeRequest.objects.get(pk=told.json()["id"])
    told_ids = change.communication_obligations.values_list("stakeholder_id", flat=True)
    assert list(told_ids) == [world.mine.stakeholder.pk]


def test_a_change_request_needs_a_kind_sane_impacts_and_an_issue(client, world):
    client.force_login(world.lead)
    issue = factories.make_raid_item(engagement=world.mine.engagement, kind="issue", shared_with_client=True)

    no_kind = _post(client, "change-request", issue, {})
    huge = _post(client, "change-request", issue, {"kind": "scope", "schedule_impact_days": 10**6})
    a_risk = _post(client, "change-request", world.mine.raid_item, {"kind": "scope"})

    assert no_kind.status_code == 400 and "kind" in no_kind.json()
    assert huge.status_code == 400 and "schedule_impact_days" in huge.json()
    assert a_risk.status_code == 400
    assert RaidItem.objects.get(pk=issue.pk).became_change_request is None


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("review", {"likelihood": 1, "impact": 1, "trend": "falling", "next_review_on": "2099-01-01"}),
        ("validate", {"holds": True}),
        ("change-request", {"kind": "scope"}),
    ],
)
def test_each_action_is_403_to_a_client_user_and_404_outside_the_scope(client, world, action, body):
    # Given an item of the right kind on "mine", shared with the client, and the world's risk elsewhere
    kind = {"review": "risk", "validate": "assumption", "change-request": "issue"}[action]
    item = factories.make_raid_item(engagement=world.mine.engagement, kind=kind, shared_with_client=True)
    internal = factories.make_raid_item(engagement=world.mine.engagement, kind=kind)

    # When the client's user and an outsider attempt the action
    client.force_login(world.client_user)
    by_client = _post(client, action, item, body)
    on_internal = _post(client, action, internal, body)
    client.force_login(world.outsider_consultant)
    by_outsider = _post(client, action, item, body)

    # Then the client is refused the shared item and does not find the internal one; the outsider finds none
    assert (by_client.status_code, on_internal.status_code, by_outsider.status_code) == (403, 404, 404)
    item.refresh_from_db()
    assert (item.status, item.last_reviewed_at, item.became_change_request_id) == ("open", None, None)
