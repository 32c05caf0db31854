"""The one search, as a user meets it: words, ranking, scope, the client's share, highlighting, freshness.

Runs on whichever database the suite runs on: SQLite's FTS5 table locally,
PostgreSQL's stored vector with DATABASE_URL set; both must answer alike.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from communications import services as communication_services
from engagements import services as engagement_services
from engagements.models import ChangeRequest
from engagements.selectors import engagement_list
from search import selectors as search_selectors
from search.models import SearchDocument
from search.selectors import search_document_list
from search.services import search_index_rebuild
from stakeholders import services as stakeholder_services
from tests import factories

RAISED = dt.date(2026, 3, 2)


def _titles(user, query, **kwargs):
    found = search_document_list(user=user, query=query, **kwargs)
    assert found is not None
    return [str(hit.title).replace("<mark>", "").replace("</mark>", "") for hit in found.hits]


def _plain(text):
    return str(text).replace("<mark>", "").replace("</mark>", "")


def _change(world, scope, title, description=""):
    return engagement_services.change_request_create(
        actor=world.administrator,
        engagement=scope.engagement,
        title=title,
        kind=ChangeRequest.Kind.SCOPE,
        raised_on=RAISED,
        description=description,
    )


def test_words_are_found_apart_and_in_other_forms(world):
    # Given a change request about nurse super-user training
    _change(world, world.mine, "Nurse super-user training")

    # When the lead searches for words of it, apart and inflected
    # Then each search finds it
    for query in ("nurse training", "training nurse", "trained nurses", "NURSE", "super user"):
        assert _titles(world.lead, query) == ["Nurse super-user training"], query


def test_every_word_must_match(world):
    # Given a check-in about nurses that says nothing of training
    factories.make_check_in(
        engagement=world.mine.engagement, attendees=[world.mine.stakeholder], summary="Nurse rota agreed."
    )

    # When the lead searches for nurse training
    found = search_document_list(user=world.lead, query="nurse training")

    # Then nothing is found, while "nurse" alone finds the check-in
    assert found is not None and found.is_empty
    assert _titles(world.lead, "nurse") == ["Meeting"]


def test_a_word_in_the_title_ranks_above_the_same_word_in_a_text(world):
    # Given a check-in that mentions the pharmacy module, and a change request named after it
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        summary="Long discussion of budgets, rotas and, at the end, the pharmacy module and its order sets.",
    )
    _change(world, world.mine, "Pharmacy module order sets")

    # When the lead searches for it
    titles = _titles(world.lead, "pharmacy order sets")

    # Then the change request named after it comes first
    assert titles == ["Pharmacy module order sets", "Meeting"]


def test_a_consultant_never_finds_another_teams_rows(world):
    # Given the same word in a check-in, a follow-up and a change request of every engagement
    for scope in (world.mine, world.sibling, world.other):
        code = scope.engagement.code
        factories.make_check_in(
            engagement=scope.engagement, attendees=[scope.stakeholder], summary=f"Zebra crossing for {code}"
        )
        factories.make_follow_up(
            engagement=scope.engagement, title=f"Zebra report {code}", owner_stakeholder=scope.stakeholder
        )
        _change(world, scope, f"Zebra rollout {code}")

    # When the consultant and the practice lead search for it
    found = search_document_list(user=world.consultant, query="zebra")
    everything = search_document_list(user=world.practice_lead, query="zebra")

    # Then the consultant finds only their engagement's three rows; the practice lead all nine
    assert found is not None and everything is not None
    assert {hit.engagement_id for hit in found.hits} == {world.mine.engagement.pk}
    assert len(found.hits) == 3
    assert len(everything.hits) == 9


def test_a_client_user_finds_only_their_clients_shared_rows_and_fields(world):
    # Given shared and unshared check-ins on their client's engagement and one at another client
    mine = world.mine
    factories.make_check_in(
        engagement=mine.engagement,
        attendees=[mine.stakeholder],
        summary="Quokka review",
        shared_with_client=True,
    )
    factories.make_check_in(engagement=mine.engagement, attendees=[mine.stakeholder], summary="Quokka gossip")
    factories.make_check_in(
        engagement=world.other.engagement,
        attendees=[world.other.stakeholder],
        summary="Quokka elsewhere",
        shared_with_client=True,
    )
    # a team follow-up kept internal, and the firm's notes about a person
    factories.make_follow_up(
        engagement=mine.engagement, title="Quokka internal action", owner_user=world.lead
    )
    stakeholder_services.stakeholder_update(
        actor=world.administrator,
        stakeholder=mine.stakeholder,
        seen_updated_at=None,
        name=mine.stakeholder.name,
        email=mine.stakeholder.email,
        time_zone=mine.stakeholder.time_zone,
        notes="Quokka enthusiast, wary of budget talk",
    )

    # When the client's PMO lead searches for the word
    found = search_document_list(user=world.client_user, query="quokka")

    # Then only the shared check-in of their own client is found: not the unshared one,
    # not the other client's, not the internal follow-up, not the person by the firm's notes
    assert found is not None
    assert [str(hit.snippet) for hit in found.hits] == ["<mark>Quokka</mark> review"]
    # while the firm finds all five
    assert len(_titles(world.administrator, "quokka")) == 5


def test_highlights_mark_the_words_and_escape_the_text(world):
    # Given a check-in whose summary holds markup
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        summary='<script>alert("x")</script> Pharmacy <b>go-live</b> moved',
    )

    # When the lead searches for it
    found = search_document_list(user=world.lead, query="pharmacy", kind="check_in")

    # Then the snippet shows the markup as text and marks only the word found
    assert found is not None
    snippet = str(found.hits[0].snippet)
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;/script&gt;" in snippet and "&lt;b&gt;go-live" in snippet
    assert "<mark>Pharmacy</mark>" in snippet


def test_an_edit_through_a_service_is_found_at_once(world):
    # Given a stakeholder and a change request as first written
    person = factories.make_stakeholder(
        client=world.client_a, name="Grace Hopper", title="Chief Nursing Officer"
    )
    change = _change(world, world.mine, "Add the theatre module")
    assert _titles(world.lead, "nursing") == ["Grace Hopper"]

    # When the person's title is changed and the change request is decided, through the services
    stakeholder_services.stakeholder_update(
        actor=world.administrator,
        stakeholder=person,
        seen_updated_at=None,
        name="Grace Hopper",
        title="Chief Digital Officer",
        time_zone="UTC",
    )
    engagement_services.change_request_transition(
        actor=world.administrator,
        change_request=change,
        to_status=ChangeRequest.Status.APPROVED,
        decision="Approved with a phased anaesthetics rollout",
        as_of=timezone.now(),
    )

    # Then the new words find them and the old title no longer does
    found = search_document_list(user=world.lead, query="nursing")
    assert found is not None and found.is_empty
    assert _titles(world.lead, "digital officer") == ["Grace Hopper"]
    assert _titles(world.lead, "anaesthetics") == ["Add the theatre module"]


def test_follow_ups_logged_with_a_check_in_are_found(world):
    # Given a check-in logged with a follow-up
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        follow_ups=[
            communication_services.FollowUpSpec(
                title="Circulate the interface catalogue",
                due_at=timezone.now() + dt.timedelta(days=2),
                owner_user=world.lead,
            )
        ],
    )

    # When the lead searches for it, narrowed to follow-ups
    # Then it is found and links to its row on the follow-ups page
    found = search_document_list(user=world.lead, query="interface catalogue", kind="follow_up")
    assert found is not None
    assert [hit.kind.name for hit in found.hits] == ["follow_up"]
    assert found.hits[0].url.endswith(f"/follow-ups/{found.hits[0].object_id}/")


def test_the_index_can_be_rebuilt_from_the_rows(world):
    # Given an index that lost its documents
    _change(world, world.mine, "Nurse super-user training")
    SearchDocument.objects.all().delete()
    assert search_document_list(user=world.lead, query="nurse").is_empty  # type: ignore[union-attr]

    # When it is rebuilt, twice
    first = search_index_rebuild()
    second = search_index_rebuild()

    # Then the same documents are back, once each
    assert first == second == SearchDocument.objects.count()
    assert _titles(world.lead, "nurse training") == ["Nurse super-user training"]


def test_results_come_a_page_at_a_time(world):
    # Given 25 matching follow-ups
    for n in range(25):
        factories.make_follow_up(
            engagement=world.mine.engagement, title=f"Walrus item {n:02d}", owner_user=world.lead
        )

    # When the lead reads the first and the second page
    first = search_document_list(user=world.lead, query="walrus")
    second = search_document_list(user=world.lead, query="walrus", page=2)

    # Then 20 then 5 different items are shown, and only the first says more follow
    assert first is not None and second is not None
    assert (len(first.hits), first.has_next, len(second.hits), second.has_next) == (20, True, 5, False)
    assert not {h.object_id for h in first.hits} & {h.object_id for h in second.hits}


@pytest.mark.parametrize("query", ["", "a", "  ", "--"])
def test_a_query_without_a_word_to_search_finds_nothing(world, query):
    assert search_document_list(user=world.administrator, query=query) is None


def test_raid_items_are_found_in_scope_and_a_client_finds_only_the_shared_ones(world):
    from communications import raid

    # Given an internal risk and a shared issue on engagement "mine", and a risk on another client's
    def item(scope, kind, title, shared=False, **values):
        return raid.raid_item_create(
            actor=world.administrator,
            engagement=scope.engagement,
            kind=kind,
            values=raid.RaidFields(title=title, shared_with_client=shared, **values),
        )

    item(world.mine, "risk", "Pharmacy interface vendor slips", likelihood=4, impact=5, review_on=RAISED)
    item(world.mine, "issue", "Pharmacy test data missing", shared=True, severity="high")
    item(world.other, "risk", "Pharmacy budget overrun", likelihood=2, impact=3, review_on=RAISED)

    # When the lead and the client's PMO lead search for pharmacy
    # Then the lead finds both items of her engagement and not the other client's
    assert sorted(_titles(world.lead, "pharmacy", kind="raid_item")) == [
        "Pharmacy interface vendor slips",
        "Pharmacy test data missing",
    ]
    # And the client finds only the shared issue
    assert _titles(world.client_user, "pharmacy", kind="raid_item") == ["Pharmacy test data missing"]


def test_narrowed_to_the_users_engagements_a_search_finds_what_it_finds_unnarrowed(world):
    # Given the same word in rows of every engagement and in a person's name (no engagement)
    for scope in (world.mine, world.sibling, world.other):
        factories.make_check_in(
            engagement=scope.engagement, attendees=[scope.stakeholder], summary="Quokka census"
        )
    factories.make_role(
        engagement=world.mine.engagement,
        stakeholder=factories.make_stakeholder(client=world.mine.engagement.client, name="Quinn Quokka"),
    )
    search_index_rebuild()
    theirs = list(engagement_list(user=world.consultant).values_list("pk", flat=True))

    # When the consultant searches with and without the narrowing to their engagements
    narrowed = search_document_list(user=world.consultant, query="quokka", within_engagements=theirs)
    plain = search_document_list(user=world.consultant, query="quokka")

    # Then both find the same documents, the person included
    assert narrowed is not None and plain is not None
    assert [h.object_id for h in narrowed.hits] == [h.object_id for h in plain.hits]
    assert any(h.kind.name == "stakeholder" for h in narrowed.hits)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the cap is PostgreSQL's (search.selectors)")
def test_a_query_with_more_matches_than_are_ranked_is_ranked_among_the_newest(world, monkeypatch):
    # Given three check-ins about okapis, a day apart, and room to rank two
    monkeypatch.setattr(search_selectors, "RANKED_AT_MOST", 2)
    now = timezone.now()
    newest_first = [
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[world.mine.stakeholder],
            summary=f"Okapi review {days}",
            occurred_at=now - dt.timedelta(days=days),
        )
        for days in (1, 2, 3)
    ]

    # When the lead searches for it, across the firm and narrowed to their engagements
    for within in (None, [world.mine.engagement.pk]):
        found = search_document_list(user=world.lead, query="okapi", within_engagements=within)

        # Then the two newest are found, the oldest not
        assert found is not None
        assert {h.object_id for h in found.hits} == {c.pk for c in newest_first[:2]}


def test_each_kind_is_dated_by_its_day_not_by_when_its_row_was_written(world, time_machine):
    from communications import raid

    # Given, at 23:30 UTC on 10 March (11 March in the client's Berlin), a change request raised
    # on 2 March, a decision taken on 4 March and a risk raised that evening
    time_machine.move_to(dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC), tick=False)
    _change(world, world.mine, "Gazelle interface scope")
    decision = raid.RaidFields(title="Gazelle go-live ward by ward", decided_on=dt.date(2026, 3, 4))
    risk = raid.RaidFields(title="Gazelle vendor slips", likelihood=3, impact=4, review_on=RAISED)
    for kind, values in (("decision", decision), ("risk", risk)):
        raid.raid_item_create(
            actor=world.administrator, engagement=world.mine.engagement, kind=kind, values=values
        )
    expected = {
        "Gazelle interface scope": RAISED,
        "Gazelle go-live ward by ward": dt.date(2026, 3, 4),
        "Gazelle vendor slips": dt.date(2026, 3, 11),
    }

    # When the lead searches for them, as the services indexed them and after a rebuild
    for rebuilt in (False, True):
        if rebuilt:
            search_index_rebuild()
        found = search_document_list(user=world.lead, query="gazelle")

        # Then each is dated by the day that matters for its kind, a day and not a moment
        assert found is not None
        assert {_plain(hit.title): hit.dated for hit in found.hits} == expected
        assert all(hit.happened_at is None for hit in found.hits)


def test_the_parts_of_a_result_text_read_apart(world):
    # Given a change request, whose kind and description are parts of its text, and a check-in
    # whose summary ends a sentence before its two decisions
    _change(world, world.mine, "Ibis interface", description="Raised by the ibis board")
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        summary="Ibis plan reviewed.",
        decisions="Go with the ibis vendor\nKeep the pilot ward",
    )

    # When the lead searches for it
    changes = search_document_list(user=world.lead, query="ibis", kind="change_request")
    check_ins = search_document_list(user=world.lead, query="ibis", kind="check_in")

    # Then the parts are apart: a dot between them, a space after a full stop
    assert changes is not None and check_ins is not None
    assert _plain(changes.hits[0].snippet) == "Scope change · Raised by the ibis board"
    assert (
        _plain(check_ins.hits[0].snippet)
        == "Ibis plan reviewed. Go with the ibis vendor · Keep the pilot ward"
    )
