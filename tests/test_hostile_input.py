"""Input that must not hurt: each case answers with a field error (or 400/413), never a 500 or a hang.

Every refused write is checked to have left nothing half-saved. A row that
slipped past today's checks (written with QuerySet.update, as an old release
or a script could) must not stall the pages that read it either.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from communications.calendar_feeds import calendar_feed_create
from communications.models import Channel, CheckIn, FollowUp, FollowUpComment, Occurrence
from communications.scheduling import occurrences_dispatch, occurrences_send_reminders, occurrences_sweep
from communications.services import check_in_log
from notifications.models import OutboxMessage
from pmaas.parsers import MAX_JSON_DEPTH
from pmaas.validation import DATE_RANGE_MESSAGE, LONG_TEXT_MAX_LENGTH
from tests import factories
from tests.factories import World

# A daily rule on 30 February: dateutil would walk every day to the year 9999 looking for one.
NEVER_OCCURS = "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30"


def post_json(client: Client, url: str, body: Any) -> Any:
    return client.post(url, body, content_type="application/json")


def channel_form(world: World, **overrides: str) -> dict[str, str]:
    data = {
        "stakeholder": str(world.mine.stakeholder.pk),
        "kind": "video",
        "title": "Steering call",
        "details": "",
        "cadence": "advanced",
        "weekday": "TU",
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "starts_on": "2026-02-03",
        "local_time": "09:00",
        "duration_minutes": "30",
        "owner": str(world.lead.pk),
        "grace_hours": "48",
    }
    data.update(overrides)
    return data


def channel_body(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "engagement": world.mine.engagement.pk,
        "stakeholder": world.mine.stakeholder.pk,
        "title": "Steering call",
        "recurrence": "FREQ=WEEKLY;BYDAY=TU",
        "starts_on": "2026-02-03",
        "local_time": "09:00",
        "owner": world.lead.pk,
    }
    body.update(overrides)
    return body


# --- recurrence rules ------------------------------------------------------------------------------

BAD_RULES = [
    NEVER_OCCURS,
    "FREQ=WEEKLY;COUNT=0",
    "FREQ=DAILY;BYMONTH=13",
    "FREQ=MONTHLY;BYMONTHDAY=32",
    "FREQ=WEEKLY;BYDAY=TU;UNTIL=99991231T235959Z",
    "FREQ=DAILY;INTERVAL=99999999999999999999",
    "FREQ=YEARLY;BYYEARDAY=400",
    "FREQ=WEEKLY;BYDAY=TU;BYDAY=WE",
]


@pytest.mark.parametrize("rule", BAD_RULES)
def test_plan_page_refuses_a_rule_that_cannot_be_planned_beside_the_rule(
    client: Client, world: World, rule: str
) -> None:
    # Given the engagement lead on the form that adds a channel
    client.force_login(world.lead)
    before = Channel.objects.count()

    # When a rule that never occurs, or has impossible values, is sent
    response = client.post(
        reverse("channel_create", args=[world.mine.engagement.pk]), channel_form(world, rrule=rule)
    )

    # Then the form comes back with the problem under the rule, and no channel was planned
    assert response.status_code == 200
    assert response.context["form"].errors["rrule"]
    assert Channel.objects.count() == before


@pytest.mark.parametrize("rule", BAD_RULES)
def test_api_refuses_a_rule_that_cannot_be_planned_with_a_field_error(
    client: Client, world: World, rule: str
) -> None:
    client.force_login(world.lead)
    before = Channel.objects.count()

    response = post_json(client, reverse("v1:channel-list"), channel_body(world, recurrence=rule))

    assert response.status_code == 400
    assert "recurrence" in response.json()
    assert Channel.objects.count() == before


def test_a_never_occurring_rule_written_behind_the_services_back_leaves_the_pages_working(
    client: Client, world: World
) -> None:
    # Given a channel whose stored rule never occurs, written past the checks with QuerySet.update
    channel = world.mine.channel
    Channel.objects.filter(pk=channel.pk).update(recurrence=NEVER_OCCURS, owner=world.lead)
    client.force_login(world.lead)

    # When the owner opens My week and the plan, and the channel is resumed from a pause
    week = client.get(reverse("home"))
    plan = client.get(reverse("engagement_plan", args=[channel.engagement_id]))
    client.post(reverse("channel_pause", args=[channel.pk]))
    client.post(reverse("channel_pause", args=[channel.pk]))
    api = client.get(reverse("v1:channel-detail", args=[channel.pk]))

    # Then every page answers; the plan says the channel needs attention; it has no next due time
    assert week.status_code == 200
    assert plan.status_code == 200
    assert "Needs attention" in plan.content.decode()
    assert api.status_code == 200
    channel.refresh_from_db()
    assert channel.status == Channel.Status.ACTIVE
    assert channel.next_due_at is None


def test_the_occurrence_sweep_and_calendar_feed_pass_over_a_never_occurring_stored_rule(
    client: Client, world: World
) -> None:
    # Given a channel past its due time whose stored rule was broken past the checks
    channel = world.mine.channel
    Channel.objects.filter(pk=channel.pk).update(recurrence=NEVER_OCCURS)
    _, token = calendar_feed_create(actor=channel.owner)

    # When the dispatcher sweeps long after its due time and the owner's calendar is fetched
    due_at = Channel.objects.get(pk=channel.pk).next_due_at
    assert due_at is not None
    occurrences_sweep(as_of=datetime(2030, 1, 1, tzinfo=UTC))
    calendar = client.get(reverse("calendar_feed", args=[token]))

    # Then the sweep marks the overdue occurrence missed and moves on: the channel has no next
    # due time, and the feed lists no event for it
    assert Occurrence.objects.get(channel=channel, due_at=due_at).status == Occurrence.Status.MISSED
    channel.refresh_from_db()
    assert channel.next_due_at is None
    assert calendar.status_code == 200
    assert f"channel-{channel.pk}-" not in calendar.content.decode()


# --- dates at the edges of the calendar -----------------------------------------------------------


def check_in_form(world: World, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "engagement": str(world.mine.engagement.pk),
        "attendees": [str(world.mine.stakeholder.pk)],
        "kind": "call",
        "occurred_at": (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "summary": "Agreed the cut-over weekend.",
        "sentiment": "0",
        "decisions": "",
        "follow_ups-TOTAL_FORMS": "0",
        "follow_ups-INITIAL_FORMS": "0",
        "follow_ups-MIN_NUM_FORMS": "0",
        "follow_ups-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def check_in_body(world: World, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "engagement": world.mine.engagement.pk,
        "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "summary": "Walked the sponsor through the cut-over plan.",
        "attendees": [world.mine.stakeholder.pk],
    }
    body.update(overrides)
    return body


def written() -> dict[str, int]:
    return {
        "check_ins": CheckIn.objects.count(),
        "follow_ups": FollowUp.objects.count(),
        "comments": FollowUpComment.objects.count(),
        "channels": Channel.objects.count(),
    }


def as_new_yorker(client: Client, world: World) -> None:
    world.lead.time_zone = "America/New_York"
    world.lead.save(update_fields=["time_zone"])
    client.force_login(world.lead)


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "9999-12-31T23:59", "1899-12-31T12:00"])
def test_check_in_page_refuses_a_moment_at_the_edge_of_the_calendar(
    client: Client, world: World, when: str
) -> None:
    as_new_yorker(client, world)
    before = written()

    response = client.post(reverse("check_in_create"), check_in_form(world, occurred_at=when))

    assert response.status_code == 200
    assert response.context["form"].errors["occurred_at"] == [DATE_RANGE_MESSAGE]
    assert written() == before


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00-05:00", "9999-12-31T23:59:00-05:00", "0001-01-01T00:00"]
)
def test_check_in_api_refuses_a_moment_at_the_edge_of_the_calendar(
    client: Client, world: World, when: str
) -> None:
    as_new_yorker(client, world)
    before = written()

    response = post_json(client, reverse("v1:check-in-list"), check_in_body(world, occurred_at=when))

    assert response.status_code == 400
    assert "occurred_at" in response.json()
    assert written() == before


@pytest.mark.parametrize(
    ("due_on", "due_time"), [("0001-01-01", ""), ("9999-12-31", "23:59"), ("0001-01-01", "00:00")]
)
def test_redating_a_follow_up_to_the_edge_of_the_calendar_is_a_field_error(
    client: Client, world: World, due_on: str, due_time: str
) -> None:
    # Given a New York lead re-dating an open follow-up
    as_new_yorker(client, world)
    item = world.mine.follow_up
    due_before = item.due_at

    # When the new date is the first or last day the calendar has
    response = client.post(
        reverse("follow_up_redate", args=[item.pk]),
        {"due_on": due_on, "due_time": due_time, "seen_updated_at": item.updated_at.isoformat()},
    )

    # Then the form says so under the date, and the item keeps its due time
    assert response.status_code == 200
    assert response.context["form"].errors["due_on"] == [DATE_RANGE_MESSAGE]
    item.refresh_from_db()
    assert item.due_at == due_before


def test_redating_a_follow_up_into_the_past_is_refused_not_made_overdue(client: Client, world: World) -> None:
    # Given an open follow-up due next week
    as_new_yorker(client, world)
    item = world.mine.follow_up
    FollowUp.objects.filter(pk=item.pk).update(due_at=timezone.now() + timedelta(days=7))
    item.refresh_from_db()
    yesterday = timezone.localdate(timezone.now() - timedelta(days=1), ZoneInfo("America/New_York"))

    # When it is re-dated to yesterday
    response = client.post(
        reverse("follow_up_redate", args=[item.pk]),
        {"due_on": yesterday.isoformat(), "due_time": "", "seen_updated_at": item.updated_at.isoformat()},
    )

    # Then the form refuses it under the date, and the item is neither moved nor overdue
    assert response.status_code == 200
    assert "already passed" in " ".join(response.context["form"].errors["due_on"])
    item.refresh_from_db()
    assert item.due_at > timezone.now()


def test_follow_up_api_refuses_a_due_time_past_the_end_of_the_calendar(client: Client, world: World) -> None:
    as_new_yorker(client, world)
    before = written()
    body = {"engagement": world.mine.engagement.pk, "title": "Send the minutes", "owner_user": world.lead.pk}

    response = post_json(
        client, reverse("v1:follow-up-list"), {**body, "due_at": "9999-12-31T23:59:00-05:00"}
    )

    assert response.status_code == 400
    assert "due_at" in response.json()
    assert written() == before


@pytest.mark.parametrize(
    "query",
    [{"from": "9999-12-31", "to": "9999-12-31"}, {"from": "0001-01-01", "to": "0001-01-02"}],
)
def test_compliance_api_refuses_a_window_at_the_edge_of_the_calendar(
    client: Client, world: World, query: dict[str, str]
) -> None:
    client.force_login(world.lead)

    response = client.get(reverse("v1:compliance-list"), query)

    assert response.status_code == 400
    assert set(response.json()) <= {"from", "to"}


def test_compliance_page_refuses_a_window_at_the_end_of_the_calendar(client: Client, world: World) -> None:
    client.force_login(world.lead)

    response = client.get(reverse("compliance_portfolio"), {"start": "9999-12-31", "end": "9999-12-31"})

    assert response.status_code == 200
    assert response.context["form"].errors["start"] == [DATE_RANGE_MESSAGE]


# --- ids that name no row --------------------------------------------------------------------------

HUGE_ID = str(2**64)
NO_IDS = [HUGE_ID, "1.5", "-1", "0", "1e3", "٣"]


@pytest.mark.parametrize(
    "path",
    [
        f"/engagements/{HUGE_ID}/",
        f"/engagements/{HUGE_ID}/plan/",
        f"/follow-ups/{HUGE_ID}/redate/",
        f"/account/calendar/?engagement={HUGE_ID}",
        f"/api/v1/engagements/{HUGE_ID}/",
        f"/api/v1/channels/{HUGE_ID}/",
        "/api/v1/channels/1.5/",
    ],
)
def test_an_id_past_64_bits_in_a_path_is_not_found(client: Client, world: World, path: str) -> None:
    client.force_login(world.lead)

    assert client.get(path).status_code == 404


@pytest.mark.parametrize("value", NO_IDS)
@pytest.mark.parametrize("name", ["engagement", "channel"])
def test_check_in_page_ignores_an_id_in_the_query_string_that_names_no_row(
    client: Client, world: World, name: str, value: str
) -> None:
    # Given the lead, whose check-in form would otherwise start from a channel of theirs
    client.force_login(world.lead)

    # When the form is opened with an id that names no row
    response = client.get(reverse("check_in_create"), {name: value})

    # Then the form opens with no channel picked, rather than one the id was rounded or wrapped onto
    assert response.status_code == 200
    assert response.context["form"]["channel"].value() in (None, "")


@pytest.mark.parametrize("value", NO_IDS)
def test_check_in_page_refuses_an_attendee_id_that_names_no_row(
    client: Client, world: World, value: str
) -> None:
    client.force_login(world.lead)
    before = written()

    response = client.post(
        reverse("check_in_create"), check_in_form(world, attendees=[str(world.mine.stakeholder.pk), value])
    )

    assert response.status_code == 200
    assert response.context["form"].errors["attendees"]
    assert written() == before


@pytest.mark.parametrize("value", [HUGE_ID, "1.5"])
def test_bulk_complete_refuses_an_id_that_names_no_row_and_completes_nothing(
    client: Client, world: World, value: str
) -> None:
    client.force_login(world.lead)
    item = world.mine.follow_up

    response = client.post(
        reverse("follow_up_bulk_complete", args=[item.engagement_id]),
        {"follow_up_ids": [str(item.pk), value]},
        follow=True,
    )

    # Then the list says to pick from it, and not even the good id was completed
    assert "Pick follow-ups from the list." in [str(m) for m in response.context["messages"]]
    item.refresh_from_db()
    assert item.status == FollowUp.Status.OPEN


@pytest.mark.parametrize("value", NO_IDS)
@pytest.mark.parametrize(
    ("route", "name"),
    [
        ("v1:channel-list", "engagement"),
        ("v1:channel-list", "stakeholder"),
        ("v1:follow-up-list", "owner_user"),
        ("v1:stakeholder-role-list", "engagement"),
        ("v1:engagement-list", "client"),
        ("v1:compliance-list", "engagement"),
    ],
)
def test_api_filter_refuses_an_id_that_names_no_row(
    client: Client, world: World, route: str, name: str, value: str
) -> None:
    client.force_login(world.lead)

    response = client.get(reverse(route), {name: value})

    assert response.status_code == 400
    assert name in response.json()


@pytest.mark.parametrize("value", [2**64, 1.5, "1.5", True, -1, 0, [1], {"id": 1}])
def test_api_body_refuses_an_id_that_names_no_row_instead_of_rounding_it(
    client: Client, world: World, value: Any
) -> None:
    # Given 1 is the id of an engagement the lead may see, so that 1.5 read as 1 would be accepted
    client.force_login(world.lead)
    before = written()

    # When a check-in names its engagement and an attendee with the value
    response = post_json(
        client, reverse("v1:check-in-list"), check_in_body(world, engagement=value, attendees=[value])
    )

    # Then both are field errors and nothing was written
    assert response.status_code == 400
    assert {"engagement", "attendees"} <= set(response.json())
    assert written() == before


# --- bodies too large or too deep ------------------------------------------------------------------


def test_json_nested_five_thousand_deep_is_a_bad_request(client: Client, world: World) -> None:
    client.force_login(world.lead)
    before = written()
    body = '{"summary": ' + "[" * 5000 + "]" * 5000 + "}"

    response = client.post(reverse("v1:check-in-list"), body, content_type="application/json")

    assert response.status_code == 400
    assert "nested deeper" in response.json()["detail"]
    assert written() == before


def test_json_nested_past_the_limit_but_parseable_is_a_bad_request(client: Client, world: World) -> None:
    client.force_login(world.lead)
    body = check_in_body(world)
    deep: Any = "x"
    for _ in range(MAX_JSON_DEPTH + 1):
        deep = [deep]
    body["decisions"] = deep

    response = post_json(client, reverse("v1:check-in-list"), body)

    assert response.status_code == 400


def test_a_body_over_the_limit_answers_413_with_a_message_on_a_page(
    client: Client, world: World, settings: Any
) -> None:
    client.force_login(world.lead)
    before = written()
    summary = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = client.post(reverse("check_in_create"), check_in_form(world, summary=summary))

    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert written() == before


def test_a_body_over_the_limit_answers_413_with_json_in_the_api(
    client: Client, world: World, settings: Any
) -> None:
    client.force_login(world.lead)
    before = written()
    summary = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = post_json(client, reverse("v1:check-in-list"), check_in_body(world, summary=summary))

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert written() == before


# --- text without end ------------------------------------------------------------------------------

TOO_LONG = "x" * (LONG_TEXT_MAX_LENGTH + 1)


@pytest.mark.parametrize("field", ["summary", "decisions"])
def test_check_in_page_refuses_text_past_the_limit_under_its_field(
    client: Client, world: World, field: str
) -> None:
    client.force_login(world.lead)
    before = written()

    response = client.post(reverse("check_in_create"), check_in_form(world, **{field: TOO_LONG}))

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert written() == before


@pytest.mark.parametrize("field", ["summary", "decisions"])
def test_check_in_api_refuses_text_past_the_limit_under_its_field(
    client: Client, world: World, field: str
) -> None:
    client.force_login(world.lead)
    before = written()

    response = post_json(client, reverse("v1:check-in-list"), check_in_body(world, **{field: TOO_LONG}))

    assert response.status_code == 400
    assert field in response.json()
    assert written() == before


def test_follow_up_comment_api_refuses_a_body_past_the_limit(client: Client, world: World) -> None:
    client.force_login(world.lead)
    before = written()

    response = post_json(
        client, reverse("v1:follow-up-comments", args=[world.mine.follow_up.pk]), {"body": TOO_LONG}
    )

    assert response.status_code == 400
    assert "body" in response.json()
    assert written() == before


def test_the_services_refuse_text_past_the_limit_whoever_calls_them(world: World) -> None:
    # Given a caller that skips the forms and serializers (a script, a later interface)
    before = written()

    # When it logs a check-in with a summary past the limit
    with pytest.raises(ValidationError) as refused:
        check_in_log(
            actor=world.lead,
            engagement=world.mine.engagement,
            occurred_at=timezone.now() - timedelta(hours=1),
            summary=TOO_LONG,
            attendees=[world.mine.stakeholder],
        )

    # Then the model's own check refuses it under the field, and nothing is written
    assert "summary" in refused.value.message_dict
    assert written() == before


def test_the_api_schema_states_the_text_limits(client: Client, world: World) -> None:
    client.force_login(world.lead)

    schema = client.get(reverse("v1:schema"), {"format": "json"}).json()

    check_in = schema["components"]["schemas"]["CheckInCreateRequest"]["properties"]
    assert check_in["summary"]["maxLength"] == LONG_TEXT_MAX_LENGTH


# --- edits that leave out the version they were opened on ----------------------------------------

EDIT_PAGES = [
    ("channel_edit", "channel", "seen_updated_at", "title"),
    ("follow_up_redate", "follow_up", "seen_updated_at", "due_at"),
    ("milestone_edit", "milestone", "seen_updated_at", "name"),
    ("change_request_edit", "change_request", "seen_updated_at", "title"),
    ("stakeholder_edit", "stakeholder", "updated_at", "name"),
    ("stakeholder_role_edit", "role", "updated_at", "notes"),
]


def _as_posted(form: Any, *, leave_out: str, change: str) -> dict[str, Any]:
    """What the edit form would send as opened, with one field changed and the version left out."""
    data: dict[str, Any] = {}
    for bound in form:
        value = bound.value()
        if value is None or bound.name == leave_out:
            continue
        data[bound.name] = [str(v) for v in value] if isinstance(value, list | tuple) else str(value)
    if change in data:
        data[change] = data[change] + " (changed)"
    return data


@pytest.mark.parametrize(("route", "attr", "seen", "field"), EDIT_PAGES)
def test_an_edit_without_the_version_it_was_opened_on_is_refused(
    client: Client, world: World, route: str, attr: str, seen: str, field: str
) -> None:
    # Given the lead on an edit page, and the row as it is
    client.force_login(world.lead)
    row = getattr(world.mine, attr)
    url = reverse(route, args=[row.pk])
    page = client.get(url)
    assert page.status_code == 200
    before = type(row).objects.filter(pk=row.pk).values().get()

    # When the form is sent with a change but without the version it was opened on
    response = client.post(url, _as_posted(page.context["form"], leave_out=seen, change=field))

    # Then it is refused on the form, and the row is as it was
    assert response.status_code == 200
    assert response.context["form"].errors[seen]
    assert type(row).objects.filter(pk=row.pk).values().get() == before


def test_health_override_without_the_version_it_was_opened_on_is_refused(
    client: Client, world: World
) -> None:
    # Given the lead of an engagement whose health is computed
    client.force_login(world.lead)
    engagement = world.mine.engagement

    # When an override is sent without the version of the engagement it was chosen on
    response = client.post(
        reverse("engagement_health", args=[engagement.pk]), {"health": "red", "reason": "Late"}
    )

    # Then the overview shows the refusal and the health is not overridden
    assert response.status_code == 200
    assert response.context["health_form"].errors["seen_updated_at"]
    engagement.refresh_from_db()
    assert engagement.health_override != "red"


# --- mail subjects ---------------------------------------------------------------------------------


def test_a_reminder_subject_reads_as_typed_on_one_line_from_the_outbox_to_the_sent_mail(
    db: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    # Given a channel whose title and stakeholder's name hold &, < and a line break with a header after it
    as_of = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    stakeholder = factories.make_stakeholder(
        client=engagement.client, name="Smith & <Sons>\nBcc: mallory@example.com"
    )
    role = factories.make_role(engagement=engagement, stakeholder=stakeholder)
    channel = factories.make_channel(role=role, owner=lead, title="Budget & scope <review>\r\nX-Evil: 1")
    Channel.objects.filter(pk=channel.pk).update(next_due_at=as_of + timedelta(hours=3))
    occurrences_dispatch(as_of=as_of)

    # When its reminder goes through the outbox and is sent
    with django_capture_on_commit_callbacks(execute=True):
        occurrences_send_reminders(as_of=as_of)

    # Then the subject reads as typed (no HTML entities), on one line, and adds no header
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert "Budget & scope <review> X-Evil: 1" in sent.subject
    assert "Smith & <Sons> Bcc: mallory@example.com" in sent.subject
    assert not [part for part in ("&amp;", "&lt;", "\n", "\r") if part in sent.subject]
    headers = sent.message()
    assert headers.get_all("Bcc") is None
    assert headers.get_all("X-Evil") is None
    assert sent.bcc == []
    assert OutboxMessage.objects.get(recipient=lead).subject == sent.subject


def test_an_api_path_whose_id_is_not_a_whole_number_answers_json_404(client, world):
    # Given a consultant who asks for a follow-up by "1.5", which no route matches
    client.force_login(world.consultant)

    # When the API answers
    response = client.get("/api/v1/follow-ups/1.5/")

    # Then it is the API's 404, in JSON, as for any row that does not exist
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_long_text_boxes_do_not_cut_a_paste_short_in_the_browser(client, world):
    # A maxlength on the box would make the browser drop the end of a long paste without a word;
    # the server refuses it with the count instead, keeping every character (tested above).
    client.force_login(world.consultant)
    page = client.get(reverse("check_in_create"), {"engagement": world.mine.engagement.pk}).content.decode()
    summary = page[page.index('name="summary"') - 200 : page.index('name="summary"') + 200]
    assert "<textarea" in summary and "maxlength" not in summary
