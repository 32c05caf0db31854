from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests import factories


def _search(client, user, query):
    client.force_login(user)
    response = client.get(reverse("search"), {"q": query})
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("query", ["", "a", "  b  "])
def test_an_empty_or_one_letter_query_shows_a_hint_not_everything(client, world, query):
    # When an administrator searches for almost nothing
    response = _search(client, world.administrator, query)

    # Then a hint is shown and nothing is listed
    assert response.context["results"] is None
    body = response.content.decode()
    assert "Type at least 2 characters" in body
    assert "EHR-A" not in body


def test_a_consultant_finds_only_their_teams_engagements_and_check_ins(client, world):
    # Given check-ins mentioning "pharmacy" on the consultant's engagement and on two others
    for scope in (world.mine, world.sibling, world.other):
        factories.make_check_in(
            engagement=scope.engagement,
            attendees=[scope.stakeholder],
            summary=f"Pharmacy module discussed on {scope.engagement.code}",
        )

    # When the consultant searches for it, and for the sibling team's engagement by code
    by_text = _search(client, world.consultant, "PHARMACY")
    by_code = _search(client, world.consultant, "DATA-A")

    # Then only their own engagement's check-in is found, and the other team's engagement is not
    found = {c.engagement.code for c in by_text.context["results"].check_ins.items}
    assert found == {"EHR-A"}
    assert "ERP-B" not in by_text.content.decode()
    assert by_code.context["results"].engagements.items == []
    assert "Nothing you can see matches" in by_code.content.decode()


def test_a_practice_lead_finds_every_engagement_by_code_name_or_client(client, world):
    # When the practice lead searches by code, by name and by client name
    by_code = _search(client, world.practice_lead, "erp-b")
    by_name = _search(client, world.practice_lead, "warehouse")
    by_client = _search(client, world.practice_lead, "northwind")

    # Then each finds the engagements it names, linked to their pages
    assert [e.code for e in by_code.context["results"].engagements.items] == ["ERP-B"]
    assert [e.code for e in by_name.context["results"].engagements.items] == ["DATA-A"]
    assert {e.code for e in by_client.context["results"].engagements.items} == {"EHR-A", "DATA-A"}
    assert reverse("engagement_detail", kwargs={"pk": world.other.engagement.pk}) in by_code.content.decode()


def test_stakeholders_are_found_by_name_email_title_and_department_within_scope(client, world):
    # Given a stakeholder at the consultant's client and one at another client
    near = factories.make_stakeholder(
        client=world.client_a, name="Ada Lovelace", email="ada@north.test", title="CFO", department="Finance"
    )
    factories.make_stakeholder(client=world.client_b, name="Ada Byron", department="Finance")

    # When the consultant searches by each of the person's attributes
    for query in ("lovelace", "ada@north", "CFO", "financ"):
        response = _search(client, world.consultant, query)

        # Then only the person at their client is found
        assert [s.pk for s in response.context["results"].stakeholders.items] == [near.pk], query
        assert "Ada Byron" not in response.content.decode()


def test_each_group_is_capped_and_says_more_exist(client, world):
    # Given 25 stakeholders of one client matching the query
    for n in range(25):
        factories.make_stakeholder(client=world.client_a, name=f"Zeta Person {n:02d}")

    # When an administrator searches for them
    response = _search(client, world.administrator, "zeta")

    # Then 20 are listed and the page says more exist
    group = response.context["results"].stakeholders
    assert len(group.items) == 20
    assert group.has_more
    assert "More stakeholders match" in response.content.decode()


def _fill(world, start: int, count: int) -> None:
    for n in range(start, start + count):
        factories.make_engagement(client=world.client_a, name=f"Omega {n}", members=(world.consultant,))
        stakeholder = factories.make_stakeholder(client=world.client_a, name=f"Omega person {n}")
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[world.mine.stakeholder],
            summary=f"Omega topic {n}",
        )
        assert stakeholder.pk


def test_search_query_count_does_not_grow_with_results(client, world, django_assert_num_queries):
    # Given 5 matches in each group for the consultant
    _fill(world, 0, 5)
    client.force_login(world.consultant)
    with CaptureQueriesContext(connection) as small:
        response = client.get(reverse("search"), {"q": "omega"})
    assert len(response.context["results"].check_ins.items) == 5

    # When there are 50 in each group
    _fill(world, 5, 45)

    # Then the page takes the same number of queries
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(reverse("search"), {"q": "omega"})
    results = response.context["results"]
    assert len(results.engagements.items) == len(results.stakeholders.items) == 20
    assert results.check_ins.has_more
