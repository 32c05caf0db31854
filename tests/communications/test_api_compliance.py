"""GET /api/v1/compliance/: held on time out of due per group, worst first, scoped, 400 on bad input."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
URL = "/api/v1/compliance/"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def _history(channel, outcomes: list[str]) -> None:
    for day, outcome in enumerate(outcomes, start=2):
        factories.make_occurrence(
            channel=channel, due_at=dt.datetime(2026, 3, day, 12, 0, tzinfo=UTC), outcome=outcome
        )


@pytest.fixture
def march_history(world):
    _history(world.mine.channel, ["on_time", "missed"])
    _history(world.other.channel, ["on_time", "on_time", "late"])
    factories.make_occurrence(
        channel=world.sibling.channel, due_at=dt.datetime(2026, 3, 20, 12, tzinfo=UTC), outcome="upcoming"
    )
    return world


def test_the_api_page_in_a_browser_shows_the_rows(client, march_history):
    # Given a practice lead in a browser, which asks for HTML
    client.force_login(march_history.practice_lead)

    # When opening compliance in the API's HTML view
    response = client.get(URL, {"by": "engagement", **MARCH}, HTTP_ACCEPT="text/html")

    # Then the page shows the rows, as every other list's does (it answered 500 building a filter form)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "EHR-A · EHR rollout" in response.content.decode()


def test_the_route_is_the_documented_one():
    assert reverse("v1:compliance-list") == URL


def test_compliance_per_engagement_lists_rows_worst_first(client, march_history):
    client.force_login(march_history.practice_lead)

    response = client.get(URL, {"by": "engagement", **MARCH})

    # Then each engagement with an occurrence in March is a row; nothing due is a null ratio, last
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": march_history.mine.engagement.pk,
            "label": "EHR-A · EHR rollout",
            "due": 2,
            "held_on_time": 1,
            "ratio": 0.5,
        },
        {
            "id": march_history.other.engagement.pk,
            "label": "ERP-B · ERP upgrade",
            "due": 3,
            "held_on_time": 2,
            "ratio": pytest.approx(2 / 3),
        },
        {
            "id": march_history.sibling.engagement.pk,
            "label": "DATA-A · Data warehouse",
            "due": 0,
            "held_on_time": 0,
            "ratio": None,
        },
    ]


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        ("stakeholder", lambda w: {w.mine.stakeholder.pk: (2, 1), w.other.stakeholder.pk: (3, 2)}),
        ("channel", lambda w: {w.mine.channel.pk: (2, 1), w.other.channel.pk: (3, 2)}),
        ("owner", lambda w: {w.lead.pk: (2, 1), w.outsider_consultant.pk: (3, 2)}),
    ],
)
def test_compliance_groups_by_stakeholder_channel_or_owner(client, march_history, by, expected):
    client.force_login(march_history.administrator)

    rows = client.get(URL, {"by": by, **MARCH}).json()["results"]

    counted = {row["id"]: (row["due"], row["held_on_time"]) for row in rows if row["due"]}
    assert counted == expected(march_history)
    assert all(row["label"] for row in rows)


def test_compliance_counts_only_what_the_caller_may_see(client, march_history):
    # Given the consultant, a member of EHR-A only
    client.force_login(march_history.consultant)

    # When they ask per owner, per channel and per engagement
    by_owner = client.get(URL, {"by": "owner", **MARCH}).json()["results"]
    by_engagement = client.get(URL, {"by": "engagement", **MARCH}).json()["results"]

    # Then only EHR-A's occurrences are counted; the outsider and the other engagements do not appear
    assert [(row["id"], row["due"]) for row in by_owner] == [(march_history.lead.pk, 2)]
    assert [row["id"] for row in by_engagement] == [march_history.mine.engagement.pk]


def test_compliance_narrowed_to_one_engagement(client, march_history):
    client.force_login(march_history.practice_lead)

    rows = client.get(URL, {"by": "owner", "engagement": march_history.other.engagement.pk, **MARCH}).json()[
        "results"
    ]

    assert [(row["id"], row["due"], row["held_on_time"]) for row in rows] == [
        (march_history.outsider_consultant.pk, 3, 2)
    ]


def test_compliance_defaults_to_engagements_over_the_last_90_days(client, world):
    now = dt.datetime(2026, 8, 1, 12, tzinfo=UTC)
    for days_ago in (10, 100):
        factories.make_occurrence(
            channel=world.mine.channel, due_at=now - dt.timedelta(days=days_ago), outcome="missed"
        )
    client.force_login(world.lead)

    with time_machine.travel(now, tick=False):
        default = client.get(URL).json()["results"]
        wider = client.get(URL, {"days": 180}).json()["results"]

    assert [(row["id"], row["due"]) for row in default] == [(world.mine.engagement.pk, 1)]
    assert [row["due"] for row in wider] == [2]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"by": "client"}, "by"),
        ({"days": "0"}, "days"),
        ({"days": "many"}, "days"),
        ({"from": "2026-03-01"}, "to"),
        ({"to": "2026-03-01"}, "from"),
        ({"from": "2026-03-31", "to": "2026-03-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-03-01"}, "to"),
        ({"from": "March", "to": "2026-03-01"}, "from"),
        ({"days": "30", "from": "2026-03-01", "to": "2026-03-31"}, "days"),
        ({"engagement": "x"}, "engagement"),
    ],
)
def test_bad_parameters_answer_400_with_field_errors(client, world, query, field):
    client.force_login(world.lead)

    response = client.get(URL, query)

    assert response.status_code == 400
    assert field in response.json()


def test_an_engagement_outside_the_scope_is_refused_like_one_that_does_not_exist(client, world):
    client.force_login(world.consultant)

    outside = client.get(URL, {"engagement": world.other.engagement.pk})
    missing = client.get(URL, {"engagement": 999_999})

    assert outside.status_code == missing.status_code == 400
    assert outside.json()["engagement"] == [
        message.replace("999999", str(world.other.engagement.pk)) for message in missing.json()["engagement"]
    ]


def test_anonymous_callers_are_refused(client, db):
    assert client.get(URL).status_code in (401, 403)


def test_compliance_query_count_does_not_grow_with_groups(client, world, django_assert_num_queries):
    client.force_login(world.practice_lead)
    for size in (2, 8):
        while len(client.get(URL, {"by": "channel", **MARCH}).json()["results"]) < size:
            owner = factories.consultant()
            engagement = factories.make_engagement(lead=owner)
            channel = factories.make_channel(role=factories.make_role(engagement=engagement), owner=owner)
            _history(channel, ["on_time", "missed"])

        for by in ("engagement", "stakeholder", "channel", "owner"):
            # Session, user; the grouped count; the labels of the page's rows
            with django_assert_num_queries(4):
                response = client.get(URL, {"by": by, **MARCH})
            assert response.status_code == 200


def test_the_schema_documents_the_parameters_and_the_row(client, world):
    client.force_login(world.lead)

    schema = client.get(reverse("v1:schema"), {"format": "json"}).json()

    operation = schema["paths"][URL]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"by", "days", "from", "to", "engagement"}
    assert "400" in operation["responses"]
    row = schema["components"]["schemas"]["ComplianceRow"]
    assert set(row["properties"]) == {"id", "label", "due", "held_on_time", "ratio"}
