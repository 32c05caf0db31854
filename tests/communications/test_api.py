"""API v1 for plans, check-ins, follow-ups and sponsor updates: scoped reads, writes through the services."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from accounts.models import User
from communications.models import Channel, CheckIn, FollowUp, FollowUpComment
from communications.services import FollowUpSpec, follow_ups_flag_overdue
from tests import factories
from tests.factories import Scope, World
from tests.test_route_matrix import _shared_with_clients

SCOPES = ("mine", "sibling", "other")
SEES = {
    "administrator": {"mine", "sibling", "other"},
    "practice_lead": {"mine", "sibling", "other"},
    "engagement_lead": {"mine"},
    "consultant": {"mine"},
    "client_pmo_lead": {"mine", "sibling"},
}
# URL basename → the attribute of a Scope holding one row of that resource.
RESOURCES = {
    "channel": "channel",
    "check-in": "check_in",
    "follow-up": "follow_up",
    "follow-up-comment": "comment",
    "sponsor-subscription": "subscription",
    "delivery": "delivery",
}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def post(client: Client, url: str, body: Any) -> Any:
    return client.post(url, body, content_type="application/json")


def scope(world: World, name: str) -> Scope:
    scope_: Scope = getattr(world, name)
    return scope_


def written() -> dict[str, int]:
    return {
        "check_ins": CheckIn.objects.count(),
        "attendees": CheckIn.attendees.through.objects.count(),
        "follow_ups": FollowUp.objects.count(),
        "comments": FollowUpComment.objects.count(),
        "channels": Channel.objects.count(),
    }


def check_in_body(world: World, **overrides: Any) -> dict[str, Any]:
    """A check-in on the consultant's engagement that the API accepts as it is."""
    body: dict[str, Any] = {
        "engagement": world.mine.engagement.pk,
        "occurred_at": iso(timezone.now() - timedelta(hours=1)),
        "summary": "Walked the sponsor through the cut-over plan.",
        "attendees": [world.mine.stakeholder.pk],
        "team_attendees": [world.consultant.pk],
    }
    body.update(overrides)
    return body


def follow_up_spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"title": "Send the minutes", "due_at": iso(timezone.now() + timedelta(days=2))}
    spec.update(overrides)
    return spec


def channel_body(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "engagement": world.mine.engagement.pk,
        "stakeholder": world.mine.stakeholder.pk,
        "title": "Fortnightly steering call",
        "recurrence": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
        "starts_on": "2026-01-08",
        "local_time": "15:30",
        "owner": world.lead.pk,
        "kind": "video",
    }
    body.update(overrides)
    return body


def follow_up_body(world: World, **overrides: Any) -> dict[str, Any]:
    body = follow_up_spec(engagement=world.mine.engagement.pk, owner_user=world.lead.pk)
    body.update(overrides)
    return body


@pytest.mark.parametrize("basename", sorted(RESOURCES))
@pytest.mark.parametrize("role", sorted(SEES))
def test_list_shows_only_rows_of_engagements_in_the_callers_scope(
    client: Client, world: World, basename: str, role: str
) -> None:
    # Given a user of each role, and one row of each resource on mine, sibling and other
    client.force_login(world.users()[role])

    # When they list the resource
    response = client.get(reverse(f"v1:{basename}-list"))

    # Then they get exactly the rows of the engagements they may see (a client: those shared with clients)
    assert response.status_code == 200
    shown = {row["id"] for row in response.json()["results"]}
    names = [
        name
        for name in SEES[role]
        if role != "client_pmo_lead"
        or _shared_with_clients(getattr(scope(world, name), RESOURCES[basename]), None)
    ]
    assert shown == {getattr(scope(world, name), RESOURCES[basename]).pk for name in names}
    assert {row["engagement"] for row in response.json()["results"]} == {
        scope(world, name).engagement.pk for name in names
    }


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

    # When they ask for it by id
    response = client.get(reverse(f"v1:{basename}-detail", args=[row.pk]))

    # Then it does not exist for them
    assert response.status_code == 404


@pytest.mark.parametrize("basename", sorted(RESOURCES))
def test_retrieve_inside_the_callers_scope_answers_the_row(
    client: Client, world: World, basename: str
) -> None:
    # Given the client PMO lead and a row on their client's engagement
    client.force_login(world.client_user)
    row = getattr(world.sibling, RESOURCES[basename])

    # When they ask for it by id
    response = client.get(reverse(f"v1:{basename}-detail", args=[row.pk]))

    # Then they read it when it is shared with clients (pmaas/sharing.py), and it does not exist otherwise
    if _shared_with_clients(row, None):
        assert response.status_code == 200
        assert response.json()["id"] == row.pk
    else:
        assert response.status_code == 404


@pytest.mark.parametrize("basename", ["check-in", "follow-up", "channel"])
def test_anonymous_callers_are_refused(client: Client, world: World, basename: str) -> None:
    # When someone who has not logged in lists or creates
    listed = client.get(reverse(f"v1:{basename}-list"))
    created = post(client, reverse(f"v1:{basename}-list"), {})

    # Then both are refused before anything is read or written
    assert listed.status_code in {401, 403}
    assert created.status_code in {401, 403}


def test_check_in_with_attendees_and_follow_ups_is_logged(client: Client, world: World) -> None:
    # Given the consultant on mine, and a check-in against its planned channel with two follow-ups
    client.force_login(world.consultant)
    before = written()
    body = check_in_body(
        world,
        channel=world.mine.channel.pk,
        kind="video",
        sentiment=1,
        decisions="Go-live stays on 1 September.",
        follow_ups=[
            follow_up_spec(title="Send the minutes", owner_user=world.consultant.pk),
            follow_up_spec(
                title="Approve the test plan", owner_stakeholder=world.mine.stakeholder.pk, details="By mail"
            ),
        ],
    )

    # When they post it
    response = post(client, reverse("v1:check-in-list"), body)

    # Then it is created with its attendees and follow-ups, and answered as it now stands
    assert response.status_code == 201, response.json()
    data = response.json()
    check_in = CheckIn.objects.get(pk=data["id"])
    assert check_in.logged_by == world.consultant
    assert data["engagement"] == world.mine.engagement.pk
    assert data["attendees"] == [{"id": world.mine.stakeholder.pk, "name": world.mine.stakeholder.name}]
    assert [person["id"] for person in data["team_attendees"]] == [world.consultant.pk]
    assert data["sentiment"] == 1
    assert data["sentiment_display"] == "Positive"
    assert sorted(data["follow_ups"]) == sorted(check_in.follow_ups.values_list("pk", flat=True))
    assert {f.title for f in check_in.follow_ups.all()} == {"Send the minutes", "Approve the test plan"}
    assert written()["check_ins"] == before["check_ins"] + 1
    assert written()["follow_ups"] == before["follow_ups"] + 2


def test_check_in_files_its_decisions_in_the_raid_log_when_asked(client: Client, world: World) -> None:
    # Given the consultant logging two decisions and asking to file them
    client.force_login(world.consultant)
    body = check_in_body(
        world, decisions="Go-live stays on 1 September.\nTrain super-users first.", file_decisions=True
    )

    # When they post it
    response = post(client, reverse("v1:check-in-list"), body)

    # Then each line is a decision of that check-in in the engagement's RAID log
    assert response.status_code == 201, response.json()
    query: dict[str, str | int] = {"engagement": world.mine.engagement.pk, "kind": "decision"}
    filed = client.get(reverse("v1:raid-item-list"), query).json()["results"]
    mine = sorted(item["title"] for item in filed if item["check_in"] == response.json()["id"])
    assert mine == ["Go-live stays on 1 September.", "Train super-users first."]


def test_filing_decisions_without_any_is_400_under_decisions_and_logs_nothing(
    client: Client, world: World
) -> None:
    client.force_login(world.consultant)
    before = written()

    response = post(
        client, reverse("v1:check-in-list"), check_in_body(world, decisions="", file_decisions=True)
    )

    assert response.status_code == 400
    assert "decisions" in response.json()
    assert written() == before


def test_check_in_with_an_attendee_outside_the_callers_scope_is_refused_as_unknown(
    client: Client, world: World
) -> None:
    # Given the consultant naming a stakeholder of another client's engagement
    client.force_login(world.consultant)
    before = written()

    # When they post the check-in
    response = post(
        client, reverse("v1:check-in-list"), check_in_body(world, attendees=[world.other.stakeholder.pk])
    )

    # Then the id is unknown to them and nothing is written
    assert response.status_code == 400
    assert "does not exist" in response.json()["attendees"][0]
    assert written() == before


def test_check_in_with_a_visible_attendee_of_another_engagement_is_refused_by_the_rules(
    client: Client, world: World
) -> None:
    # Given a practice lead, who sees every stakeholder, naming one of the sibling engagement on mine
    client.force_login(world.practice_lead)
    before = written()

    # When they post the check-in
    response = post(
        client,
        reverse("v1:check-in-list"),
        check_in_body(world, attendees=[world.sibling.stakeholder.pk], team_attendees=[]),
    )

    # Then the service refuses the attendee by name and nothing is written
    assert response.status_code == 400
    assert "Not stakeholders of this engagement" in response.json()["attendees"][0]
    assert written() == before


@pytest.mark.parametrize(
    ("login", "owner", "error_key", "message"),
    [
        ("consultant", {"owner_stakeholder": "other"}, "follow_ups[0].owner_stakeholder", "does not exist"),
        ("consultant", {"owner_user": "outsider"}, "follow_ups[0].owner_user", "does not exist"),
        ("practice_lead", {"owner_stakeholder": "sibling"}, "follow_ups[0].owner", "no role"),
        ("practice_lead", {"owner_user": "outsider"}, "follow_ups[0].owner", "team"),
    ],
)
def test_check_in_follow_up_owned_outside_the_engagement_is_refused(
    client: Client, world: World, login: str, owner: dict[str, str], error_key: str, message: str
) -> None:
    # Given a follow-up whose owner belongs to another engagement (unseen, or seen but elsewhere)
    client.force_login(getattr(world, login))
    people = {
        "other": world.other.stakeholder.pk,
        "sibling": world.sibling.stakeholder.pk,
        "outsider": world.outsider_consultant.pk,
    }
    spec = follow_up_spec(**{field: people[who] for field, who in owner.items()})
    before = written()

    # When the check-in is posted
    response = post(
        client, reverse("v1:check-in-list"), check_in_body(world, team_attendees=[], follow_ups=[spec])
    )

    # Then the owner is refused under the follow-up's own key and nothing is written
    assert response.status_code == 400
    assert message in " ".join(response.json()[error_key])
    assert written() == before


def test_client_user_cannot_log_check_ins(client: Client, world: World) -> None:
    # Given the client PMO lead, who sees mine but may not change it
    client.force_login(world.client_user)
    before = written()

    # When they post a check-in that would otherwise be valid
    response = post(client, reverse("v1:check-in-list"), check_in_body(world, team_attendees=[]))

    # Then they are refused and nothing is written
    assert response.status_code == 403
    assert written() == before


TOMORROW = "2030-01-01T09:00:00Z"


@pytest.mark.parametrize(
    ("make_body", "field"),
    [
        (lambda w: {}, "engagement"),
        (lambda w: check_in_body(w, occurred_at="yesterday"), "occurred_at"),
        (lambda w: check_in_body(w, occurred_at="2026-02-30T10:00:00Z"), "occurred_at"),
        (lambda w: check_in_body(w, engagement="mine"), "engagement"),
        (lambda w: check_in_body(w, attendees=str(w.mine.stakeholder.pk)), "attendees"),
        (lambda w: check_in_body(w, attendees=[]), "attendees"),
        (lambda w: check_in_body(w, sentiment=7), "sentiment"),
        (lambda w: check_in_body(w, sentiment="glowing"), "sentiment"),
        (lambda w: check_in_body(w, kind="carrier pigeon"), "kind"),
        (lambda w: check_in_body(w, summary="   "), "summary"),
        (lambda w: check_in_body(w, summary="nul\x00byte"), "summary"),
        (lambda w: check_in_body(w, follow_ups="soon"), "follow_ups"),
        (lambda w: check_in_body(w, follow_ups=[follow_up_spec(due_at="next week")]), "follow_ups[0].due_at"),
        (lambda w: check_in_body(w, follow_ups=[{"due_at": TOMORROW}]), "follow_ups[0].title"),
        (lambda w: check_in_body(w, follow_ups=[follow_up_spec()]), "follow_ups[0].owner"),
        (lambda w: check_in_body(w, occurred_at=iso(timezone.now() + timedelta(days=3))), "occurred_at"),
        (lambda w: check_in_body(w, occurred_at="9999-12-31T23:00:00-05:00"), "occurred_at"),
        (lambda w: [check_in_body(w)], "non_field_errors"),
    ],
)
def test_malformed_check_in_is_answered_400_with_the_field(
    client: Client, world: World, make_body: Callable[[World], Any], field: str
) -> None:
    # Given the consultant and a body with one thing wrong
    client.force_login(world.consultant)
    before = written()

    # When they post it
    response = post(client, reverse("v1:check-in-list"), make_body(world))

    # Then the answer is 400 naming the field, and nothing is written
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert written() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"recurrence": "FREQ=SOMETIMES"}, "recurrence"),
        ({"recurrence": "FREQ=WEEKLY;INTERVAL=0"}, "recurrence"),
        ({"recurrence": "FREQ=WEEKLY;BYDAY=XX"}, "recurrence"),
        ({"recurrence": ""}, "recurrence"),
        ({"local_time": "25:00"}, "local_time"),
        ({"starts_on": "2026-13-01"}, "starts_on"),
        ({"starts_on": "9999-12-31"}, "starts_on"),
        ({"grace_period": "forever"}, "grace_period"),
        ({"grace_period": "-1 00:00:00"}, "grace_period"),
        ({"grace_period": "999999999 00:00:00"}, "grace_period"),
        ({"recurrence": "FREQ=DAILY", "grace_period": "2 00:00:00"}, "grace_period"),
        ({"recurrence": "FREQ=WEEKLY;BYDAY=TH", "grace_period": "10 00:00:00"}, "grace_period"),
        ({"duration": "00:04:59"}, "duration"),
        ({"duration": "08:00:01"}, "duration"),
        ({"duration": "an hour"}, "duration"),
        ({"kind": "pigeon"}, "kind"),
        ({"title": "x" * 201}, "title"),
        ({"owner": None}, "owner"),
        ({"engagement": 10**12}, "engagement"),
    ],
)
def test_malformed_channel_is_answered_400_with_the_field(
    client: Client, world: World, overrides: dict[str, Any], field: str
) -> None:
    # Given the engagement lead and a channel body with one thing wrong
    client.force_login(world.lead)
    before = written()

    # When they post it
    response = post(client, reverse("v1:channel-list"), channel_body(world, **overrides))

    # Then the answer is 400 naming the field, and nothing is written
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert written() == before


def test_body_that_is_not_json_is_answered_400(client: Client, world: World) -> None:
    # Given the consultant
    client.force_login(world.consultant)

    # When they post something that does not parse
    response = client.post(reverse("v1:check-in-list"), "{not json", content_type="application/json")

    # Then the answer says so
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_channel_is_planned_with_its_first_due_time(client: Client, world: World) -> None:
    # Given the engagement lead of mine
    client.force_login(world.lead)

    # When they plan a fortnightly call with the sponsor
    response = post(client, reverse("v1:channel-list"), channel_body(world, grace_period="1 00:00:00"))

    # Then it is created, owned by them, with a next due time in the future
    assert response.status_code == 201, response.json()
    data = response.json()
    channel = Channel.objects.get(pk=data["id"])
    assert channel.owner == world.lead
    assert channel.recurrence == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"
    assert data["next_due_at"] is not None
    assert datetime.fromisoformat(data["next_due_at"]) > timezone.now()
    assert data["grace_period"] == "1 00:00:00"
    assert data["duration"] == "00:30:00"
    assert data["stakeholder_name"] == world.mine.stakeholder.name


def test_channel_is_planned_with_the_duration_given(client: Client, world: World) -> None:
    # Given the engagement lead
    client.force_login(world.lead)

    # When they plan a workshop of an hour and a half
    response = post(client, reverse("v1:channel-list"), channel_body(world, duration="01:30:00"))

    # Then the channel lasts that long, and says so
    assert response.status_code == 201, response.json()
    assert response.json()["duration"] == "01:30:00"
    assert Channel.objects.get(pk=response.json()["id"]).duration == timedelta(minutes=90)


@pytest.mark.parametrize(
    ("login", "owner", "message"),
    [
        ("consultant", "outsider", "does not exist"),
        ("practice_lead", "outsider", "team"),
    ],
)
def test_channel_owner_outside_the_team_is_refused(
    client: Client, world: World, login: str, owner: str, message: str
) -> None:
    # Given an owner who is not on mine's team (unseen by the consultant, seen by a practice lead)
    client.force_login(getattr(world, login))
    before = written()

    # When a channel is planned with them as owner
    response = post(
        client, reverse("v1:channel-list"), channel_body(world, owner=world.outsider_consultant.pk)
    )

    # Then the owner is refused and nothing is written
    assert response.status_code == 400
    assert message in " ".join(response.json()["owner"])
    assert written() == before


def test_follow_up_is_recorded_outside_a_check_in(client: Client, world: World) -> None:
    # Given the consultant on mine
    client.force_login(world.consultant)

    # When they record an action item for the lead
    response = post(client, reverse("v1:follow-up-list"), follow_up_body(world, details="Two pages at most"))

    # Then it is created, open, with no check-in
    assert response.status_code == 201, response.json()
    data = response.json()
    follow_up = FollowUp.objects.get(pk=data["id"])
    assert follow_up.owner_user == world.lead
    assert follow_up.created_by == world.consultant
    assert data["status"] == "open"
    assert data["check_in"] is None
    assert data["owner_name"] == str(world.lead)
    assert data["is_overdue"] is False


def test_follow_up_agreed_for_a_day_is_due_by_its_end_in_the_zone_given(client: Client, world: World) -> None:
    # Given the consultant recording an item agreed for a day in Tokyo
    client.force_login(world.consultant)
    day = (timezone.now() + timedelta(days=5)).date()
    body = follow_up_body(world, due_on=day.isoformat(), due_zone="Asia/Tokyo")
    del body["due_at"]

    # When they post it
    response = post(client, reverse("v1:follow-up-list"), body)

    # Then it is due at the end of that day in Tokyo, and reads back as that day
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["due_on"] == day.isoformat()
    assert data["due_zone"] == "Asia/Tokyo"
    due = FollowUp.objects.get(pk=data["id"]).due_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert (due.date(), due.hour, due.minute) == (day, 23, 59)


def test_follow_up_for_a_day_without_a_zone_is_due_by_the_end_of_that_day_where_the_caller_is(
    client: Client, world: World
) -> None:
    # Given a consultant who works in New York (the API itself answers in UTC)
    User.objects.filter(pk=world.consultant.pk).update(time_zone="America/New_York")
    client.force_login(world.consultant)
    day = (timezone.now() + timedelta(days=5)).date()
    body = follow_up_body(world, due_on=day.isoformat())
    del body["due_at"]

    # When they record an item for a day without naming a zone
    data = post(client, reverse("v1:follow-up-list"), body).json()

    # Then it is that day in New York
    assert (data["due_on"], data["due_zone"]) == (day.isoformat(), "America/New_York")


def test_follow_up_due_at_a_moment_has_no_day(client: Client, world: World) -> None:
    client.force_login(world.consultant)

    data = post(client, reverse("v1:follow-up-list"), follow_up_body(world)).json()

    assert (data["due_on"], data["due_zone"]) == (None, "")


def test_a_follow_up_is_redated_through_the_api_and_its_overdue_mark_goes(
    client: Client, world: World
) -> None:
    # Given the lead's item that fell overdue yesterday
    item = factories.make_follow_up(engagement=world.mine.engagement, owner_user=world.lead)
    FollowUp.objects.filter(pk=item.pk).update(due_at=timezone.now() - timedelta(days=1))
    follow_ups_flag_overdue(as_of=timezone.now())
    client.force_login(world.consultant)
    seen = client.get(reverse("v1:follow-up-detail", args=[item.pk])).json()
    assert seen["is_overdue"] is True

    # When the consultant gives it until a day next week
    day = (timezone.now() + timedelta(days=7)).date()
    response = post(
        client,
        reverse("v1:follow-up-redate", args=[item.pk]),
        {"due_on": day.isoformat(), "due_zone": "Europe/Berlin", "seen_updated_at": seen["updated_at"]},
    )

    # Then it is due that day, no longer overdue, and the move is in its history
    assert response.status_code == 200, response.json()
    data = response.json()
    assert (data["due_on"], data["is_overdue"], data["overdue_at"]) == (day.isoformat(), False, None)
    assert item.redates.get().redated_by == world.consultant


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"due_at": "2020-01-01T09:00:00Z"}, "due_at"),
        ({}, "due_at"),
        ({"due_on": "not a day"}, "due_on"),
        ({"due_at": "2031-01-01T09:00:00Z", "seen_updated_at": "2020-01-01T00:00:00Z"}, "non_field_errors"),
    ],
)
def test_a_redate_refused_is_400_under_its_field_and_moves_nothing(
    client: Client, world: World, body: dict[str, Any], field: str
) -> None:
    item = factories.make_follow_up(engagement=world.mine.engagement, owner_user=world.lead)
    client.force_login(world.lead)

    response = post(client, reverse("v1:follow-up-redate", args=[item.pk]), body)

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert FollowUp.objects.get(pk=item.pk).due_at == item.due_at
    assert not item.redates.exists()


def test_a_client_user_cannot_redate_what_the_team_owes(client: Client, world: World) -> None:
    item = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, shared_with_client=True
    )
    client.force_login(world.client_user)

    response = post(
        client,
        reverse("v1:follow-up-redate", args=[item.pk]),
        {"due_at": iso(timezone.now() + timedelta(days=9))},
    )

    assert response.status_code == 403
    assert not item.redates.exists()


@pytest.mark.parametrize(
    ("login", "overrides", "field"),
    [
        ("consultant", {"owner_user": None, "owner_stakeholder": "other"}, "owner_stakeholder"),
        ("practice_lead", {"owner_user": None, "owner_stakeholder": "sibling"}, "owner"),
        ("practice_lead", {"owner_user": "outsider"}, "owner"),
        ("consultant", {"engagement": "other engagement"}, "engagement"),
        ("consultant", {"due_at": "tomorrow"}, "due_at"),
        ("consultant", {"due_at": None}, "due_at"),
        ("consultant", {"due_on": "2031-02-30"}, "due_on"),
        ("consultant", {"due_on": "2031-02-03"}, "due_on"),
        ("consultant", {"due_zone": "Europe/Berlin"}, "due_zone"),
        ("consultant", {"due_at": None, "due_on": "2031-02-03", "due_zone": "Mars/Olympus"}, "due_zone"),
        ("consultant", {"owner_stakeholder": "mine"}, "owner"),
    ],
)
def test_follow_up_refused_is_answered_400_and_not_written(
    client: Client, world: World, login: str, overrides: dict[str, Any], field: str
) -> None:
    # Given a follow-up whose owner or engagement is wrong for the caller
    client.force_login(getattr(world, login))
    ids = {
        "other": world.other.stakeholder.pk,
        "sibling": world.sibling.stakeholder.pk,
        "mine": world.mine.stakeholder.pk,
        "outsider": world.outsider_consultant.pk,
        "other engagement": world.other.engagement.pk,
    }
    body = follow_up_body(world, **{key: ids.get(value, value) for key, value in overrides.items()})
    body = {key: value for key, value in body.items() if value is not None or key != "due_at"}
    before = written()

    # When they post it
    response = post(client, reverse("v1:follow-up-list"), body)

    # Then it is refused under the field and nothing is written
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert written() == before


def test_client_user_completes_their_own_follow_up(client: Client, world: World) -> None:
    # Given the client PMO lead, who owns mine's follow-up through their stakeholder record
    client.force_login(world.client_user)

    # When they complete it
    response = post(client, reverse("v1:follow-up-complete", args=[world.mine.follow_up.pk]), None)

    # Then it is done, by them
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "done"
    assert response.json()["completed_by"] == world.client_user.pk
    world.mine.follow_up.refresh_from_db()
    assert world.mine.follow_up.status == FollowUp.Status.DONE


def test_client_user_cannot_complete_follow_ups_owed_by_others(client: Client, world: World) -> None:
    # Given follow-ups the client PMO lead sees but does not own: the lead's on mine, and sibling's
    owed_by_lead = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, shared_with_client=True
    )
    client.force_login(world.client_user)

    # When they try to complete them
    answers = [
        post(client, reverse("v1:follow-up-complete", args=[item.pk]), None).status_code
        for item in (owed_by_lead, world.sibling.follow_up)
    ]

    # Then they are refused and both stay open
    assert answers == [403, 403]
    assert (
        FollowUp.objects.filter(pk__in=[owed_by_lead.pk, world.sibling.follow_up.pk], status="open").count()
        == 2
    )


def test_completing_a_follow_up_outside_scope_answers_404(client: Client, world: World) -> None:
    # Given the client PMO lead and a follow-up of another client
    client.force_login(world.client_user)

    # When they try to complete it
    response = post(client, reverse("v1:follow-up-complete", args=[world.other.follow_up.pk]), None)

    # Then it does not exist for them and stays open
    assert response.status_code == 404
    world.other.follow_up.refresh_from_db()
    assert world.other.follow_up.status == FollowUp.Status.OPEN


def test_completed_follow_up_is_reopened(client: Client, world: World) -> None:
    # Given a follow-up the consultant completed
    client.force_login(world.consultant)
    url = reverse("v1:follow-up-complete", args=[world.mine.follow_up.pk])
    assert post(client, url, None).status_code == 200

    # When they reopen it
    response = post(client, reverse("v1:follow-up-reopen", args=[world.mine.follow_up.pk]), None)

    # Then it is open again, with no completion recorded
    assert response.status_code == 200
    assert response.json()["status"] == "open"
    assert response.json()["completed_at"] is None


def test_client_user_comments_on_their_own_follow_up(client: Client, world: World) -> None:
    # Given the client PMO lead and the follow-up they own
    client.force_login(world.client_user)

    # When they comment on it
    response = post(
        client,
        reverse("v1:follow-up-comments", args=[world.mine.follow_up.pk]),
        {"body": "Signed off on Friday."},
    )

    # Then the comment is stored under their name
    assert response.status_code == 201, response.json()
    comment = FollowUpComment.objects.get(pk=response.json()["id"])
    assert comment.author == world.client_user
    assert comment.follow_up == world.mine.follow_up
    assert response.json()["body"] == "Signed off on Friday."


@pytest.mark.parametrize(
    ("login", "target", "body", "status"),
    [
        ("client_user", "sibling", {"body": "Not mine"}, 403),
        ("consultant", "other", {"body": "Not ours"}, 404),
        ("consultant", "mine", {"body": "  "}, 400),
        ("consultant", "mine", {}, 400),
    ],
)
def test_comment_refused_writes_nothing(
    client: Client, world: World, login: str, target: str, body: dict[str, Any], status: int
) -> None:
    # Given a comment the caller may not write, or an empty one
    client.force_login(getattr(world, login))
    follow_up = scope(world, target).follow_up
    before = written()

    # When they post it
    response = post(client, reverse("v1:follow-up-comments", args=[follow_up.pk]), body)

    # Then it is refused and nothing is written
    assert response.status_code == status
    assert written() == before


def test_is_overdue_means_open_and_past_due_in_the_api_as_on_the_pages(client: Client, world: World) -> None:
    # Given on mine a late open item not yet seen by the scan, and late items the scan flagged,
    # then completed or cancelled
    now = timezone.now()
    engagement = world.mine.engagement

    def late(title: str) -> FollowUp:
        due_at = now - timedelta(days=1)
        return factories.make_follow_up(
            engagement=engagement, owner_user=world.lead, title=title, due_at=due_at
        )

    done, cancelled = late("Done late"), late("Cancelled late")
    follow_ups_flag_overdue(as_of=now)
    unflagged = late("Still open")
    FollowUp.objects.filter(pk=done.pk).update(status="done", completed_at=now)
    FollowUp.objects.filter(pk=cancelled.pk).update(status="cancelled")
    client.force_login(world.consultant)

    # When the API lists them, filters them, and the follow-ups page shows them
    rows = client.get(reverse("v1:follow-up-list"), {"engagement": engagement.pk}).json()["results"]
    filtered = client.get(reverse("v1:follow-up-list"), {"overdue": "true"}).json()["results"]
    page = client.get(reverse("engagement_follow_ups", args=[engagement.pk])).content.decode()

    # Then only the open late item is overdue, in the API field, its filter and the page alike
    assert {row["id"] for row in rows if row["is_overdue"]} == {unflagged.pk}
    assert {row["id"] for row in filtered} == {unflagged.pk}
    assert {
        row["id"]: row["overdue_at"] is not None for row in rows if row["id"] in {done.pk, cancelled.pk}
    } == {
        done.pk: True,
        cancelled.pk: True,
    }
    marked = set(re.findall(r'<tr id="follow-up-(\d+)" class="follow-up-row is-overdue">', page))
    assert marked == {str(unflagged.pk)}


def test_follow_ups_filter_by_status_engagement_owner_and_overdue(client: Client, world: World) -> None:
    # Given on mine an overdue item owed by the lead and the client's item done
    now = timezone.now()
    late = factories.make_follow_up(
        engagement=world.mine.engagement, owner_user=world.lead, due_at=now - timedelta(days=1)
    )
    follow_ups_flag_overdue(as_of=now)
    client.force_login(world.consultant)
    assert (
        post(client, reverse("v1:follow-up-complete", args=[world.mine.follow_up.pk]), None).status_code
        == 200
    )
    url = reverse("v1:follow-up-list")

    def listed(**params: Any) -> set[int]:
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    # When they filter, then each filter narrows as named
    assert listed(overdue="true") == {late.pk}
    assert listed(overdue="false") == {world.mine.follow_up.pk}
    assert listed(status="done") == {world.mine.follow_up.pk}
    assert listed(status="open") == {late.pk}
    assert listed(owner_user=world.lead.pk) == {late.pk}
    assert listed(engagement=world.mine.engagement.pk) == {late.pk, world.mine.follow_up.pk}
    # and an engagement outside their scope is no valid choice
    assert client.get(url, {"engagement": world.other.engagement.pk}).status_code == 400
    assert client.get(url, {"status": "someday"}).status_code == 400


def test_check_ins_filter_by_engagement_and_time(client: Client, world: World) -> None:
    # Given an older check-in on mine next to the world's recent one
    long_ago = timezone.now() - timedelta(days=10)
    older = factories.make_check_in(
        engagement=world.mine.engagement, attendees=[world.mine.stakeholder], occurred_at=long_ago
    )
    client.force_login(world.practice_lead)
    url = reverse("v1:check-in-list")

    # When the practice lead filters by time and engagement
    before = client.get(url, {"occurred_at_before": iso(long_ago + timedelta(days=1))})
    after = client.get(url, {"occurred_at_after": iso(long_ago + timedelta(days=1))})
    mine = client.get(url, {"engagement": world.mine.engagement.pk})
    malformed = client.get(url, {"occurred_at_after": "last week"})
    beyond_the_calendar = client.get(url, {"occurred_at_before": "9999-12-31T23:59:59-12:00"})

    # Then each answer holds just the matching check-ins
    assert {row["id"] for row in before.json()["results"]} == {older.pk}
    assert {row["id"] for row in after.json()["results"]} == {
        world.mine.check_in.pk,
        world.sibling.check_in.pk,
        world.other.check_in.pk,
    }
    assert {row["id"] for row in mine.json()["results"]} == {older.pk, world.mine.check_in.pk}
    assert malformed.status_code == 400
    assert beyond_the_calendar.status_code == 400


def test_channels_filter_by_engagement_stakeholder_and_status(client: Client, world: World) -> None:
    # Given a paused channel beside the active one on mine
    paused = factories.make_channel(role=world.mine.role, owner=world.lead, title="Monthly review")
    Channel.objects.filter(pk=paused.pk).update(status=Channel.Status.PAUSED)
    client.force_login(world.practice_lead)
    url = reverse("v1:channel-list")

    # When the practice lead filters
    by_status = client.get(url, {"status": "paused"})
    by_stakeholder = client.get(url, {"stakeholder": world.sibling.stakeholder.pk})
    by_engagement = client.get(url, {"engagement": str(world.mine.engagement.pk), "status": "active"})

    # Then each answer holds just the matching channels
    assert {row["id"] for row in by_status.json()["results"]} == {paused.pk}
    assert {row["id"] for row in by_stakeholder.json()["results"]} == {world.sibling.channel.pk}
    assert {row["id"] for row in by_engagement.json()["results"]} == {world.mine.channel.pk}


def _queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def _add_check_ins(world: World, count: int) -> None:
    for n in range(count):
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[world.mine.stakeholder],
            actor=world.lead,
            team_attendees=[world.consultant],
            channel=world.mine.channel,
            summary=f"Check-in {n}",
            follow_ups=[
                FollowUpSpec(
                    title=f"Item {n}", due_at=timezone.now() + timedelta(days=1), owner_user=world.lead
                )
            ],
        )


def _add_follow_ups(world: World, count: int) -> None:
    for n in range(count):
        owner: dict[str, Any] = (
            {"owner_user": world.lead} if n % 2 else {"owner_stakeholder": world.mine.stakeholder}
        )
        factories.make_follow_up(engagement=world.mine.engagement, title=f"Item {n}", **owner)


@pytest.mark.parametrize(("basename", "add"), [("check-in", _add_check_ins), ("follow-up", _add_follow_ups)])
def test_list_query_count_does_not_grow_with_rows(
    client: Client,
    world: World,
    django_assert_num_queries: DjangoAssertNumQueries,
    basename: str,
    add: Callable[[World, int], None],
) -> None:
    # Given the consultant and 5 extra rows on mine
    client.force_login(world.consultant)
    url = reverse(f"v1:{basename}-list")
    add(world, 5)
    with_five = _queries_for(client, url)

    # When 45 more rows are added and the list is read again
    add(world, 45)

    # Then it costs the same number of queries
    with django_assert_num_queries(with_five):
        response = client.get(url)
    assert len(response.json()["results"]) == 50
