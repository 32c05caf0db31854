from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from engagements import services as engagement_services
from engagements.models import ChangeRequest
from tests import factories


def _search(client, user, query, **params):
    client.force_login(user)
    response = client.get(reverse("search"), {"q": query, **params})
    assert response.status_code == 200
    return response


def _kinds(response):
    return [row.hit.kind.name for row in response.context["results"].rows]


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
    by_text = _search(client, world.consultant, "PHARMACY", kind="check_in")
    by_code = _search(client, world.consultant, "DATA-A")

    # Then only their own engagement's check-in is found, and the other team's engagement is not
    found = {row.engagement.code for row in by_text.context["results"].rows}
    assert found == {"EHR-A"}
    assert "ERP-B" not in by_text.content.decode()
    assert "engagement" not in _kinds(by_code)
    assert "Data warehouse" not in by_code.content.decode()


def test_a_check_in_found_is_titled_by_its_kind_and_who_took_part(client, world):
    # Given two video calls about the cutover, with different people, one of them shared with the client
    colleague = factories.make_role(
        engagement=world.mine.engagement,
        stakeholder=factories.make_stakeholder(client=world.mine.engagement.client, name="Aaron Abbott"),
    ).stakeholder
    for attendees, shared in (([world.mine.stakeholder, colleague], True), ([world.mine.stakeholder], False)):
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=attendees,
            kind="video",
            summary="Walked through the cutover weekend.",
            shared_with_client=shared,
        )
    sponsor = world.mine.stakeholder.name

    # When the lead searches for the cutover, and the client's user does
    team = _search(client, world.lead, "cutover weekend", kind="check_in").content.decode()
    theirs = _search(client, world.client_user, "cutover weekend", kind="check_in").content.decode()

    # Then each call is told apart by who took part, in name order, for the team and the client alike
    titles = re.findall(r'<h2 class="search-result-title"><a [^>]+>(.*?)</a></h2>', team)
    assert sorted(re.sub("</?mark>", "", title) for title in titles) == sorted(
        [f"Video call with Aaron Abbott, {sponsor}", f"Video call with {sponsor}"]
    )
    (shared,) = re.findall(r'<h2 class="search-result-title"><a [^>]+>(.*?)</a></h2>', theirs)
    assert re.sub("</?mark>", "", shared) == f"Video call with Aaron Abbott, {sponsor}"


def test_a_practice_lead_finds_every_engagement_by_code_name_or_client(client, world):
    # When the practice lead searches by code, by name and by client name
    by_code = _search(client, world.practice_lead, "erp-b", kind="engagement")
    by_name = _search(client, world.practice_lead, "warehouse", kind="engagement")
    by_client = _search(client, world.practice_lead, "northwind", kind="engagement")

    # Then each finds the engagements it names, linked to their pages
    assert [row.engagement.code for row in by_code.context["results"].rows] == ["ERP-B"]
    assert [row.engagement.code for row in by_name.context["results"].rows] == ["DATA-A"]
    assert {row.engagement.code for row in by_client.context["results"].rows} == {"EHR-A", "DATA-A"}
    assert reverse("engagement_detail", kwargs={"pk": world.other.engagement.pk}) in by_code.content.decode()


def test_stakeholders_are_found_by_name_email_title_and_department_within_scope(client, world):
    # Given a stakeholder at the consultant's client and one at another client
    near = factories.make_stakeholder(
        client=world.client_a, name="Ada Lovelace", email="ada@north.test", title="CFO", department="Finance"
    )
    factories.make_stakeholder(client=world.client_b, name="Ada Byron", department="Finance")

    # When the consultant searches by each of the person's attributes
    for query in ("lovelace", "ada@north", "CFO", "financ"):
        response = _search(client, world.consultant, query, kind="stakeholder")

        # Then only the person at their client is found, linked to their page
        assert [row.hit.object_id for row in response.context["results"].rows] == [near.pk], query
        body = response.content.decode()
        assert "Ada Byron" not in body
        assert reverse("stakeholder_detail", kwargs={"pk": near.pk}) in body


def test_results_of_every_kind_come_ranked_in_one_list_and_can_be_narrowed(client, world):
    # Given the same word in an engagement's name, a person's title, a check-in and a follow-up
    factories.make_engagement(client=world.client_a, name="Radiology imaging", members=(world.consultant,))
    factories.make_stakeholder(client=world.client_a, name="Rui Costa", title="Head of Radiology")
    factories.make_check_in(
        engagement=world.mine.engagement, attendees=[world.mine.stakeholder], summary="Radiology order sets"
    )
    factories.make_follow_up(
        engagement=world.mine.engagement, title="Radiology sign-off", owner_user=world.lead
    )

    # When the consultant searches for it, then narrows to check-ins
    everything = _search(client, world.consultant, "radiology")
    narrowed = _search(client, world.consultant, "radiology", kind="check_in")

    # Then the four kinds are listed, matches in a title first; the filter keeps check-ins only
    kinds = _kinds(everything)
    assert sorted(kinds) == ["check_in", "engagement", "follow_up", "stakeholder"]
    assert set(kinds[:2]) == {"engagement", "follow_up"}
    assert _kinds(narrowed) == ["check_in"]
    body = everything.content.decode()
    assert "<mark>Radiology</mark>" in body
    assert 'aria-current="page">Everything' in body


def test_a_change_request_shows_the_day_it_was_raised_in_any_time_zone_and_its_parts_apart(client, world):
    # Given a change request raised on 2 March, and a consultant ten hours behind UTC
    engagement_services.change_request_create(
        actor=world.administrator,
        engagement=world.mine.engagement,
        title="Heron interface",
        kind=ChangeRequest.Kind.REGULATORY,
        raised_on=dt.date(2026, 3, 2),
        description="Raised by the heron board",
    )
    type(world.consultant).objects.filter(pk=world.consultant.pk).update(time_zone="Pacific/Honolulu")

    # When the consultant searches for it
    body = _search(client, world.consultant, "heron").content.decode()

    # Then it is dated 2 March, not the day it was written nor the day before, and its kind reads apart
    assert '<time datetime="2026-03-02">2 Mar 2026</time>' in body
    assert "Regulatory change · Raised by the <mark>heron</mark> board" in body


def test_results_are_paged_without_counting(client, world):
    # Given 25 matching stakeholders
    for n in range(25):
        factories.make_stakeholder(client=world.client_a, name=f"Zeta Person {n:02d}")

    # When an administrator searches for them and follows "More results"
    first = _search(client, world.administrator, "zeta")
    second = _search(client, world.administrator, "zeta", page=2)

    # Then 20 are listed, then the last 5, with links both ways
    assert len(first.context["results"].rows) == 20
    assert 'rel="next"' in first.content.decode()
    assert len(second.context["results"].rows) == 5
    assert 'rel="prev"' in second.content.decode() and 'rel="next"' not in second.content.decode()


def _fill(world, start: int, count: int) -> None:
    for n in range(start, start + count):
        factories.make_engagement(client=world.client_a, name=f"Omega {n}", members=(world.consultant,))
        factories.make_stakeholder(client=world.client_a, name=f"Omega person {n}")
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[world.mine.stakeholder],
            summary=f"Omega topic {n}",
        )


def test_search_query_count_does_not_grow_with_results(client, world, django_assert_max_num_queries):
    # Given 5 matches of each kind for the consultant
    _fill(world, 0, 5)
    client.force_login(world.consultant)
    with CaptureQueriesContext(connection) as small:
        response = client.get(reverse("search"), {"q": "omega"})
    assert len(response.context["results"].rows) == 15
    assert "check_in" in _kinds(response)

    # When there are 30 of each
    _fill(world, 5, 25)

    # Then the page takes no more queries (one fewer when it holds no check-in, whose people it reads)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("search"), {"q": "omega"})
    assert len(response.context["results"].rows) == 20
    assert response.context["results"].has_next
