"""API v1 for correcting check-ins: PATCH/PUT edits keep the earlier version, POST .../delete/ removes one.

The same services and policy actions as the pages (edit_check_in: the author
or the engagement's owners; delete_check_in: the owners, with a reason): 400
with field errors, 403 inside the scope, 404 outside it, and what the check-in
counted for follows it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from accounts.models import User
from communications.models import CheckIn, CheckInDeletion, CheckInRevision
from tests import factories
from tests.factories import World

pytestmark = pytest.mark.django_db

UTC = dt.UTC
REVISIONS = reverse("v1:check-in-revision-list")
LIST = reverse("v1:check-in-list")


def _detail(check_in: CheckIn) -> str:
    return reverse("v1:check-in-detail", args=[check_in.pk])


def _delete(check_in: CheckIn) -> str:
    return reverse("v1:check-in-delete", args=[check_in.pk])


def _patch(client: Client, check_in: CheckIn, body: dict[str, Any]) -> Any:
    return client.patch(_detail(check_in), body, content_type="application/json")


def _seen(client: Client, check_in: CheckIn) -> str:
    """The version an integrator read: updated_at as the API itself gave it."""
    return str(client.get(_detail(check_in)).json()["updated_at"])


def _consultants_check_in(world: World) -> CheckIn:
    return factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.consultant,
        summary="Reviewed the training plan.",
        decisions="Train super-users first",
    )


def _ids(client: Client, url: str, **query: Any) -> set[int]:
    return {row["id"] for row in client.get(url, query).json()["results"]}


# --- editing ----------------------------------------------------------------------------------------------


def test_the_author_corrects_a_check_in_and_reads_it_edited_with_its_earlier_version(client, world):
    # Given a check-in the consultant logged
    check_in = _consultants_check_in(world)
    client.force_login(world.consultant)
    assert client.get(_detail(check_in)).json()["edited_at"] is None

    # When they correct its summary through the API, giving only what changes
    response = _patch(
        client,
        check_in,
        {"summary": "Reviewed the nurse training plan.", "seen_updated_at": _seen(client, check_in)},
    )

    # Then the check-in reads the new summary, marked edited, the rest as it was
    assert response.status_code == 200
    body = client.get(_detail(check_in)).json()
    assert body["summary"] == "Reviewed the nurse training plan."
    assert body["edited_at"] is not None
    assert body["decisions"] == "Train super-users first"
    assert [a["id"] for a in body["attendees"]] == [world.mine.stakeholder.pk]
    # And its earlier version is listed, with who corrected it
    revisions = client.get(REVISIONS, {"check_in": check_in.pk}).json()["results"]
    assert [(r["summary"], r["decisions"], r["edited_by"]) for r in revisions] == [
        ("Reviewed the training plan.", "Train super-users first", world.consultant.pk)
    ]
    assert revisions[0]["attendee_names"] == world.mine.stakeholder.name


def test_put_replaces_time_attendees_summary_and_decisions(client, world):
    # Given the lead and a second stakeholder of the engagement
    check_in = world.mine.check_in
    other = factories.make_role(engagement=world.mine.engagement).stakeholder
    client.force_login(world.lead)
    moved = check_in.occurred_at - dt.timedelta(hours=3)

    # When the lead replaces the whole correction
    response = client.put(
        _detail(check_in),
        {
            "occurred_at": moved.isoformat(),
            "summary": "Steering committee.",
            "attendees": [other.pk],
            "team_attendees": [world.lead.pk],
            "seen_updated_at": _seen(client, check_in),
        },
        content_type="application/json",
    )

    # Then every field reads as sent; decisions left out are emptied
    assert response.status_code == 200, response.json()
    body = response.json()
    assert dt.datetime.fromisoformat(body["occurred_at"]) == moved
    assert ([a["id"] for a in body["attendees"]], [u["id"] for u in body["team_attendees"]]) == (
        [other.pk],
        [world.lead.pk],
    )
    assert (body["summary"], body["decisions"]) == ("Steering committee.", "")


def test_a_correction_files_the_decisions_not_filed_yet_when_asked(client, world):
    # Given the consultant's check-in, its decision never filed
    check_in = _consultants_check_in(world)
    client.force_login(world.consultant)

    # When they add a decision and ask to file them
    response = _patch(
        client,
        check_in,
        {
            "decisions": "Train super-users first\nPilot on ward 3",
            "file_decisions": True,
            "seen_updated_at": _seen(client, check_in),
        },
    )

    # Then both lines are decisions of that check-in in the RAID log
    assert response.status_code == 200, response.json()
    filed = client.get(reverse("v1:raid-item-list"), {"kind": "decision"}).json()["results"]
    assert sorted(item["title"] for item in filed if item["check_in"] == check_in.pk) == [
        "Pilot on ward 3",
        "Train super-users first",
    ]


def test_a_correction_changes_kind_and_sentiment_and_takes_a_check_in_back_from_the_client(client, world):
    # Given a check-in the consultant logged as neutral and shared with the client, whose user reads it
    check_in = factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.consultant,
        summary="Sponsor unhappy with the pharmacy cutover.",
        shared_with_client=True,
    )
    client.force_login(world.client_user)
    assert client.get(_detail(check_in)).status_code == 200
    client.force_login(world.consultant)

    # When the consultant corrects its sentiment and takes it back
    response = _patch(
        client,
        check_in,
        {
            "kind": "call",
            "sentiment": -2,
            "shared_with_client": False,
            "seen_updated_at": _seen(client, check_in),
        },
    )

    # Then it reads very negative and internal, and its earlier version says neutral and shared
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["kind"], body["sentiment"], body["shared_with_client"]) == ("call", -2, False)
    (revision,) = client.get(REVISIONS, {"check_in": check_in.pk}).json()["results"]
    assert (revision["kind"], revision["sentiment"], revision["shared_with_client"]) == ("meeting", 0, True)
    # And the client's user finds it no more
    client.force_login(world.client_user)
    assert client.get(_detail(check_in)).status_code == 404
    assert check_in.pk not in _ids(client, LIST)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occurred_at": "next Tuesday"}, "occurred_at"),
        ({"occurred_at": "2026-02-30T10:00:00Z"}, "occurred_at"),
        ({"summary": ""}, "summary"),
        ({"attendees": []}, "attendees"),
        ({"attendees": [10**6]}, "attendees"),
        ({"team_attendees": "lead"}, "team_attendees"),
        ({"kind": "carrier pigeon"}, "kind"),
        ({"sentiment": 5}, "sentiment"),
        ({"sentiment": "happy"}, "sentiment"),
        ({"shared_with_client": "maybe"}, "shared_with_client"),
    ],
)
def test_a_malformed_correction_is_400_under_its_field_and_changes_nothing(client, world, change, field):
    # Given the lead correcting the world's check-in
    check_in = world.mine.check_in
    client.force_login(world.lead)

    # When the correction is malformed
    response = _patch(client, check_in, {"seen_updated_at": _seen(client, check_in), **change})

    # Then it is refused under that field, and the check-in is as it was
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert client.get(_detail(check_in)).json()["edited_at"] is None
    assert not CheckInRevision.objects.exists()


def test_the_services_rules_answer_400_under_their_fields(client, world):
    # Given the lead, a person of the same client with a role on another engagement only, a time far ahead
    check_in = world.mine.check_in
    client.force_login(world.lead)
    seen = _seen(client, check_in)
    elsewhere = world.sibling.stakeholder
    ahead = check_in.occurred_at + dt.timedelta(days=30)

    # When the lead names that person as attending, or moves the check-in weeks ahead
    foreign = _patch(client, check_in, {"attendees": [elsewhere.pk], "seen_updated_at": seen})
    future = _patch(client, check_in, {"occurred_at": ahead.isoformat(), "seen_updated_at": seen})

    # Then the service refuses each under its field
    assert foreign.status_code == 400, foreign.json()
    assert elsewhere.name in " ".join(foreign.json()["attendees"])
    assert future.status_code == 400 and "occurred_at" in future.json()
    assert not CheckInRevision.objects.exists()


def test_a_correction_without_the_version_read_or_based_on_a_stale_one_is_refused(client, world):
    # Given the lead read the check-in, then someone else corrected it
    check_in = world.mine.check_in
    client.force_login(world.lead)
    seen = _seen(client, check_in)
    assert (
        _patch(client, check_in, {"summary": "First correction.", "seen_updated_at": seen}).status_code == 200
    )

    # When the lead saves on the version they read, and again without saying which one
    stale = _patch(client, check_in, {"summary": "Second correction.", "seen_updated_at": seen})
    unversioned = _patch(client, check_in, {"summary": "Second correction."})

    # Then both are refused with 400, and the first correction stands
    assert stale.status_code == 400
    assert "Someone else changed this" in str(stale.json())
    assert unversioned.status_code == 400 and "seen_updated_at" in unversioned.json()
    assert client.get(_detail(check_in)).json()["summary"] == "First correction."


def test_only_the_author_and_the_owners_may_correct_and_an_outsider_finds_nothing(client, world):
    # Given the world's check-in, which nobody in the cast logged, and one the consultant logged
    theirs = world.mine.check_in
    own = _consultants_check_in(world)
    body = {"summary": "Rewritten.", "seen_updated_at": theirs.updated_at.isoformat()}

    # When the consultant, the client's user and an outsider try to correct them
    client.force_login(world.consultant)
    consultant = _patch(client, theirs, body)
    own_edit = _patch(client, own, {"summary": "Mine.", "seen_updated_at": _seen(client, own)})
    client.force_login(world.client_user)
    client_user = _patch(client, theirs, body)
    client.force_login(world.outsider_consultant)
    outsider = _patch(client, theirs, body)

    # Then the consultant may correct only their own, the client's user never, and the outsider finds none
    assert (consultant.status_code, own_edit.status_code) == (403, 200)
    assert client_user.status_code == 403
    assert outsider.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.summary, theirs.edited_at) == ("Walked through the plan.", None)


def test_a_check_in_not_shared_is_not_found_by_a_client_user(client, world):
    # Given a check-in the team did not share
    internal = _consultants_check_in(world)
    client.force_login(world.client_user)

    # When the client's user tries to correct or delete it
    edit = _patch(client, internal, {"summary": "x", "seen_updated_at": internal.updated_at.isoformat()})
    delete = client.post(_delete(internal), {"reason": "x"}, content_type="application/json")

    # Then it does not exist for them
    assert (edit.status_code, delete.status_code) == (404, 404)


def test_a_client_user_never_reads_the_edited_mark_or_the_earlier_versions(client, world):
    # Given the shared check-in, corrected by the lead
    check_in = world.mine.check_in
    client.force_login(world.lead)
    _patch(client, check_in, {"summary": "Agreed the plan.", "seen_updated_at": _seen(client, check_in)})

    # When the client's user reads it and asks for its earlier versions
    client.force_login(world.client_user)
    detail = client.get(_detail(check_in)).json()
    revisions = client.get(REVISIONS, {"check_in": check_in.pk})

    # Then they read it as it stands, without the mark or the history, which are the team's
    assert detail["summary"] == "Agreed the plan."
    assert "edited_at" not in detail
    assert revisions.status_code == 404


def test_earlier_versions_are_listed_only_within_scope(client, world):
    # Given corrections on two engagements
    mine, other = world.mine.check_in, world.other.check_in
    client.force_login(world.administrator)
    for check_in in (mine, other):
        _patch(client, check_in, {"summary": "Corrected.", "seen_updated_at": _seen(client, check_in)})

    # When the consultant of "mine" lists earlier versions, or filters on the other engagement's check-in
    client.force_login(world.consultant)
    listed = client.get(REVISIONS).json()["results"]
    filtered = client.get(REVISIONS, {"check_in": other.pk})

    # Then only their engagement's are listed, and the other check-in is an unknown filter value
    assert [row["check_in"] for row in listed] == [mine.pk]
    assert filtered.status_code == 400 and "check_in" in filtered.json()


# --- deleting ---------------------------------------------------------------------------------------------


def test_only_the_owners_delete_and_only_with_a_reason(client, world):
    # Given a check-in the consultant logged
    check_in = _consultants_check_in(world)

    # When its author tries to delete it, the client's user too, then the lead without a reason and with one
    client.force_login(world.consultant)
    by_author = client.post(_delete(check_in), {"reason": "Logged twice"}, content_type="application/json")
    client.force_login(world.client_user)
    by_client = client.post(_delete(world.mine.check_in), {"reason": "No"}, content_type="application/json")
    client.force_login(world.lead)
    missing = client.post(_delete(check_in), {}, content_type="application/json")
    blank = client.post(_delete(check_in), {"reason": "   "}, content_type="application/json")
    assert check_in.pk in _ids(client, LIST)
    deleted = client.post(_delete(check_in), {"reason": "Logged twice"}, content_type="application/json")

    # Then author and client are refused, the reasonless deletes ask why, the last one deletes
    assert (by_author.status_code, by_client.status_code) == (403, 403)
    assert missing.status_code == 400 and missing.json() == {"reason": ["Say why the check-in is deleted."]}
    assert blank.status_code == 400 and blank.json() == {"reason": ["Say why the check-in is deleted."]}
    assert deleted.status_code == 204
    # And the check-in is gone from its detail and the list; the record of its deletion says why
    assert client.get(_detail(check_in)).status_code == 404
    assert check_in.pk not in _ids(client, LIST)
    assert (
        client.post(_delete(check_in), {"reason": "Again"}, content_type="application/json").status_code
        == 404
    )
    assert CheckInDeletion.objects.get().reason == "Logged twice"
    assert CheckIn.objects.filter(pk=world.mine.check_in.pk).exists()


def test_an_outsider_cannot_delete_what_they_cannot_see(client, world):
    client.force_login(world.outsider_consultant)
    response = client.post(_delete(world.mine.check_in), {"reason": "x"}, content_type="application/json")
    assert response.status_code == 404
    assert CheckIn.objects.filter(pk=world.mine.check_in.pk).exists()


# --- what a correction counted for follows it -------------------------------------------------------------

# A weekly Tuesday 09:00 Berlin meeting (07:00 UTC in April) with two days' grace.
DUE = dt.datetime(2026, 4, 7, 7, tzinfo=UTC)
AFTER = dt.datetime(2026, 4, 20, tzinfo=UTC)
WEEK_OF_DUE = {"from": "2026-04-06", "to": "2026-04-08"}


def _meeting_held_on_time() -> tuple[User, Any, CheckIn]:
    lead = factories.consultant(time_zone="Europe/Berlin")
    customer = factories.make_client(time_zone="Europe/Berlin", country="DE")
    engagement = factories.make_engagement(client=customer, lead=lead)
    stakeholder = factories.make_stakeholder(client=customer, time_zone="Europe/Berlin")
    role = factories.make_role(engagement=engagement, stakeholder=stakeholder)
    channel = factories.make_channel(
        role=role,
        owner=lead,
        recurrence_rule="FREQ=WEEKLY;BYDAY=TU",
        starts_on=dt.date(2026, 4, 7),
        local_time=dt.time(9),
        as_of=dt.datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert channel.next_due_at == DUE
    check_in = factories.make_check_in(
        engagement=engagement, attendees=[stakeholder], actor=lead, occurred_at=DUE, as_of=DUE
    )
    return lead, engagement, check_in


def _compliance(client: Client, engagement: Any) -> tuple[int, int]:
    response = client.get(reverse("v1:compliance-list"), {"engagement": engagement.pk, **WEEK_OF_DUE})
    assert response.status_code == 200
    (row,) = response.json()["results"]
    return row["due"], row["held_on_time"]


def test_deleting_the_check_in_that_held_a_meeting_makes_compliance_count_it_missed(client):
    # Given the 7 April meeting held on time by a check-in
    lead, engagement, check_in = _meeting_held_on_time()
    with time_machine.travel(AFTER, tick=False):
        client.force_login(lead)
        assert _compliance(client, engagement) == (1, 1)

        # When the lead deletes the check-in through the API, after the meeting's grace ran out
        response = client.post(
            _delete(check_in), {"reason": "Logged on the wrong engagement"}, content_type="application/json"
        )

        # Then the meeting counts as due and not held
        assert response.status_code == 204
        assert _compliance(client, engagement) == (1, 0)


def test_moving_a_check_in_out_of_its_meetings_window_makes_compliance_drop(client):
    # Given the 7 April meeting held on time by a check-in
    lead, engagement, check_in = _meeting_held_on_time()
    with time_machine.travel(DUE + dt.timedelta(hours=20), tick=False):
        client.force_login(lead)
        assert _compliance(client, engagement) == (1, 1)

        # When the lead corrects its time to four days earlier (it was another conversation)
        earlier = DUE - dt.timedelta(days=4)
        response = _patch(
            client, check_in, {"occurred_at": earlier.isoformat(), "seen_updated_at": _seen(client, check_in)}
        )

        # Then the meeting is owed again, not held
        assert response.status_code == 200
        assert _compliance(client, engagement) == (1, 0)


REVISION_LIST_QUERIES = 4


@pytest.mark.parametrize("corrections", [2, 12])
def test_the_list_of_earlier_versions_reads_a_fixed_number_of_queries(
    client, world, django_assert_num_queries, corrections
):
    # Given the world's check-in corrected a few times or many, by different people
    check_in = world.mine.check_in
    for n in range(corrections):
        client.force_login(world.lead if n % 2 else world.administrator)
        _patch(client, check_in, {"summary": f"Correction {n}", "seen_updated_at": _seen(client, check_in)})
    client.force_login(world.lead)

    # When the lead lists them, then the query count does not grow with them
    with django_assert_num_queries(REVISION_LIST_QUERIES):
        response = client.get(REVISIONS, {"check_in": check_in.pk})
    assert len(response.json()["results"]) == corrections
