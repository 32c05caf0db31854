from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from communications.models import CheckIn, FollowUp
from tests import factories

URL = "/check-ins/new/"


def _rows(*rows: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "follow_ups-TOTAL_FORMS": str(len(rows)),
        "follow_ups-INITIAL_FORMS": "0",
        "follow_ups-MIN_NUM_FORMS": "0",
        "follow_ups-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for field in ("title", "owner", "due"):
            data[f"follow_ups-{index}-{field}"] = row.get(field, "")
    return data


def _when(delta: dt.timedelta = dt.timedelta(hours=-1)) -> str:
    return (timezone.now() + delta).strftime("%Y-%m-%dT%H:%M")


def _tomorrow() -> str:
    return (timezone.now() + dt.timedelta(days=1)).strftime("%Y-%m-%d")


def _post_data(world, *rows: dict[str, str], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "engagement": str(world.mine.engagement.pk),
        "attendees": [str(world.mine.stakeholder.pk)],
        "team_attendees": [str(world.consultant.pk)],
        "kind": "call",
        "occurred_at": _when(),
        "summary": "Agreed the cut-over weekend.",
        "sentiment": "1",
        "decisions": "Go-live moves to March.",
        **_rows(*rows),
    }
    data.update(overrides)
    return data


def _counts() -> tuple[int, int]:
    return CheckIn.objects.count(), FollowUp.objects.count()


def _expected_redirect(engagement) -> str:
    try:
        return reverse("engagement_timeline", kwargs={"pk": engagement.pk})
    except NoReverseMatch:
        return reverse("home")


def test_opening_from_a_due_channel_preselects_engagement_stakeholder_kind_and_me(client, world):
    # Given a video channel with a stakeholder on the consultant's engagement
    role = factories.make_role(engagement=world.mine.engagement)
    channel = factories.make_channel(role=role, owner=world.consultant, kind="video")
    client.force_login(world.consultant)

    # When the consultant follows "Log check-in" from the due row
    response = client.get(URL, {"channel": channel.pk})

    # Then the form opens on that engagement, the stakeholder and the consultant ticked, kind set
    form = response.context["form"]
    assert response.status_code == 200
    assert form["engagement"].value() == world.mine.engagement.pk
    assert form["attendees"].value() == [str(role.stakeholder_id)]
    assert form["team_attendees"].value() == [str(world.consultant.pk)]
    assert form["kind"].value() == "video"
    body = response.content.decode()
    assert f'id="attendee-{role.stakeholder_id}" checked' in body
    for label in ("Engagement", "Attendees", "When", "Summary", "Sentiment", "Decisions", "Save check-in"):
        assert label in body
    assert "Add another follow-up" in body


def test_the_form_shows_what_is_still_open_from_the_last_check_in_with_the_stakeholder(client, world):
    # Given the last check-in with the sponsor recorded a decision and left a follow-up open
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        decisions="Budget frozen until **Q3**.",
    )
    client.force_login(world.consultant)

    # When the consultant opens the form for the sponsor's channel
    response = client.get(URL, {"channel": world.mine.channel.pk})

    # Then the decisions and the open follow-up are shown before the fields
    body = response.content.decode()
    assert "Still open from last time" in body
    assert "Budget frozen until <strong>Q3</strong>." in body
    assert world.mine.follow_up.title in body
    assert body.index("Still open from last time") < body.index('name="summary"')


def test_saving_logs_the_check_in_with_attendees_and_follow_ups_and_advances_the_channel(client, world):
    # Given a weekly channel with a stakeholder, due next
    role = factories.make_role(engagement=world.mine.engagement)
    channel = factories.make_channel(role=role, owner=world.consultant)
    due_before = channel.next_due_at
    client.force_login(world.consultant)

    # When the consultant saves a check-in against it with two follow-ups
    response = client.post(
        URL,
        _post_data(
            world,
            {"title": "Send the minutes", "owner": f"user:{world.consultant.pk}", "due": _tomorrow()},
            {
                "title": "Approve the budget",
                "owner": f"stakeholder:{role.stakeholder_id}",
                "due": _tomorrow(),
            },
            channel=str(channel.pk),
            attendees=[str(role.stakeholder_id)],
        ),
    )

    # Then one check-in with its attendees and follow-ups exists and the channel moved on
    assert response.status_code == 302
    assert response["Location"] == _expected_redirect(world.mine.engagement)
    check_in = CheckIn.objects.get(summary="Agreed the cut-over weekend.")
    assert check_in.channel == channel
    assert check_in.kind == "call"
    assert check_in.sentiment == 1
    assert list(check_in.attendees.all()) == [role.stakeholder]
    assert list(check_in.team_attendees.all()) == [world.consultant]
    follow_ups = {f.title: f for f in check_in.follow_ups.all()}
    assert follow_ups["Send the minutes"].owner_user == world.consultant
    assert follow_ups["Approve the budget"].owner_stakeholder == role.stakeholder
    channel.refresh_from_db()
    assert channel.next_due_at is not None and due_before is not None
    assert channel.next_due_at > due_before
    followed = client.get(response["Location"])
    assert "Check-in logged on EHR-A" in followed.content.decode()


def test_blank_follow_up_rows_are_ignored(client, world):
    # Given a form with one untouched follow-up row
    client.force_login(world.consultant)

    # When it is saved
    response = client.post(URL, _post_data(world, {}))

    # Then the check-in is logged without follow-ups
    assert response.status_code == 302
    assert CheckIn.objects.get(summary="Agreed the cut-over weekend.").follow_ups.count() == 0


def test_the_when_field_is_read_in_the_users_time_zone_and_stored_in_utc(client, world):
    # Given a consultant working in New York
    world.consultant.time_zone = "America/New_York"
    world.consultant.save()
    client.force_login(world.consultant)
    local = timezone.now().astimezone(ZoneInfo("America/New_York")) - dt.timedelta(hours=2)

    # When they log a check-in at a local time
    client.post(URL, _post_data(world, occurred_at=local.strftime("%Y-%m-%dT%H:%M")))

    # Then the stored time is that local time in UTC
    stored = CheckIn.objects.get(summary="Agreed the cut-over weekend.").occurred_at
    assert stored == local.replace(second=0, microsecond=0)
    assert stored.astimezone(dt.UTC).hour == local.astimezone(dt.UTC).hour


def test_the_when_field_defaults_to_now_in_the_users_time_zone(client, world):
    # Given a consultant working in Tokyo
    world.consultant.time_zone = "Asia/Tokyo"
    world.consultant.save()
    client.force_login(world.consultant)

    # When they open the form
    response = client.get(URL)

    # Then "When" shows the current local time there
    tokyo = ZoneInfo("Asia/Tokyo")
    value = response.context["form"]["occurred_at"].value()
    shown = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=tokyo)
    assert abs(shown - timezone.now()) < dt.timedelta(minutes=2)


@pytest.mark.parametrize(
    ("case", "where", "field"),
    [
        ("follow-up without owner", "row", "owner"),
        ("follow-up without due date", "row", "due"),
        ("attendee from another engagement", "form", "attendees"),
        ("check-in more than a day ahead", "form", "occurred_at"),
        ("date typed wrongly", "form", "occurred_at"),
        ("no summary", "form", "summary"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_keeping_what_was_typed(client, world, case, where, field):
    # Given a consultant and a check-in with one problem
    client.force_login(world.consultant)
    row = {"title": "Send the minutes", "owner": f"user:{world.consultant.pk}", "due": _tomorrow()}
    overrides: dict[str, Any] = {}
    if case == "follow-up without owner":
        row["owner"] = ""
    elif case == "follow-up without due date":
        row["due"] = ""
    elif case == "attendee from another engagement":
        overrides["attendees"] = [str(world.sibling.stakeholder.pk)]
    elif case == "check-in more than a day ahead":
        overrides["occurred_at"] = _when(dt.timedelta(days=3))
    elif case == "date typed wrongly":
        overrides["occurred_at"] = "31/02/2026 25:00"
    elif case == "no summary":
        overrides["summary"] = ""
    before = _counts()

    # When it is saved
    response = client.post(URL, _post_data(world, row, **overrides))

    # Then it is refused with the message next to the field, the typing kept, nothing saved
    assert response.status_code == 200
    errors = (
        response.context["formset"].forms[0].errors if where == "row" else response.context["form"].errors
    )
    assert field in errors, errors
    body = response.content.decode()
    assert str(errors[field][0]).replace("'", "&#x27;").replace('"', "&quot;") in body
    assert "Go-live moves to March." in body
    assert 'value="Send the minutes"' in body
    if case == "date typed wrongly":
        assert 'value="31/02/2026 25:00"' in body
    assert _counts() == before


def test_a_service_error_on_the_second_follow_up_shows_on_that_row(client, world):
    # Given a check-in logged today whose second follow-up is due the day before
    client.force_login(world.consultant)
    yesterday = (timezone.now() - dt.timedelta(days=2)).strftime("%Y-%m-%d")
    owner = f"user:{world.consultant.pk}"
    before = _counts()

    # When it is saved
    response = client.post(
        URL,
        _post_data(
            world,
            {"title": "Fine", "owner": owner, "due": _tomorrow()},
            {"title": "Too early", "owner": owner, "due": yesterday},
        ),
    )

    # Then the second row carries the refusal and nothing is saved
    assert response.status_code == 200
    rows = response.context["formset"].forms
    assert not rows[0].errors
    assert "cannot be due before the check-in" in str(rows[1].errors["due"])
    assert _counts() == before


@pytest.mark.parametrize("target", ["engagement", "attendee", "owner", "team"])
def test_forged_ids_outside_the_users_scope_are_refused(client, world, target):
    # Given ids of another team's engagement, stakeholder and people, typed into the form
    client.force_login(world.consultant)
    row = {"title": "Send the minutes", "owner": f"user:{world.consultant.pk}", "due": _tomorrow()}
    overrides: dict[str, Any] = {}
    if target == "engagement":
        overrides["engagement"] = str(world.other.engagement.pk)
    elif target == "attendee":
        overrides["attendees"] = [str(world.other.stakeholder.pk)]
    elif target == "owner":
        row["owner"] = f"user:{world.outsider_consultant.pk}"
    elif target == "team":
        overrides["team_attendees"] = [str(world.outsider_consultant.pk)]
    before = _counts()

    # When the form is posted
    response = client.post(URL, _post_data(world, row, **overrides))

    # Then it is refused and nothing is saved
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        form, rows = response.context["form"], response.context["formset"].forms
        assert form.errors or rows[0].errors
    assert _counts() == before


def test_a_forged_channel_of_another_team_is_refused(client, world):
    # Given a channel of another client's engagement posted with an otherwise valid check-in
    client.force_login(world.consultant)
    other_channel = world.other.channel
    due_before = other_channel.next_due_at

    # When it is saved
    response = client.post(URL, _post_data(world, channel=str(other_channel.pk)))

    # Then the post is refused, nothing logged, and that channel is left alone
    assert response.status_code == 200
    assert "channel" in response.context["form"].errors
    assert not CheckIn.objects.filter(summary="Agreed the cut-over weekend.").exists()
    other_channel.refresh_from_db()
    assert other_channel.next_due_at == due_before


def test_add_another_follow_up_without_javascript_keeps_everything_typed(client, world):
    # Given a half-filled form with one follow-up
    client.force_login(world.consultant)
    row = {"title": "Send the minutes", "owner": f"user:{world.consultant.pk}", "due": _tomorrow()}
    before = _counts()

    # When "Add another follow-up" is pressed without JavaScript
    response = client.post(URL, {**_post_data(world, row, summary="Half written"), "add_follow_up": "1"})

    # Then the form comes back with one more blank row, everything kept, no errors, nothing saved
    assert response.status_code == 200
    formset = response.context["formset"]
    assert len(formset.forms) == 2
    body = response.content.decode()
    assert 'name="follow_ups-TOTAL_FORMS" value="2"' in body
    assert 'value="Send the minutes"' in body
    assert f'<option value="user:{world.consultant.pk}" selected>' in body
    assert "Half written" in body
    assert "Go-live moves to March." in body
    assert 'class="field-errors"' not in body
    assert _counts() == before


def test_choosing_another_engagement_without_javascript_lists_its_people(client, world):
    # Given the consultant is on a second engagement with its own stakeholder
    second = factories.make_engagement(client=world.client_a, members=(world.consultant,))
    role = factories.make_role(engagement=second)
    client.force_login(world.consultant)

    # When they choose it and press "Choose"
    response = client.post(
        URL, {**_post_data(world, engagement=str(second.pk), summary="Typed"), "choose_engagement": "1"}
    )

    # Then the attendees are that engagement's stakeholders, with what was typed kept
    assert response.status_code == 200
    assert [s.pk for s in response.context["attendee_options"]] == [role.stakeholder_id]
    assert "Typed" in response.content.decode()
    assert CheckIn.objects.filter(summary="Typed").count() == 0


def test_htmx_add_another_follow_up_returns_the_formset_with_one_more_row(client, world):
    # Given a form with one follow-up filled in
    client.force_login(world.consultant)
    row = {"title": "Send the minutes", "owner": f"user:{world.consultant.pk}", "due": _tomorrow()}

    # When htmx asks for another row
    response = client.get(
        URL, {**_post_data(world, row), "add_follow_up": "1"}, headers={"HX-Request": "true"}
    )

    # Then only the follow-ups fieldset comes back, with the row kept and a blank one added
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith("{#") or body.lstrip().startswith('<fieldset id="follow-ups"')
    assert "<html" not in body
    assert 'name="follow_ups-TOTAL_FORMS" value="2"' in body
    assert 'value="Send the minutes"' in body


def test_htmx_engagement_change_rerenders_the_dependent_fields(client, world):
    # Given the consultant on a second engagement
    second = factories.make_engagement(client=world.client_a, members=(world.consultant,))
    role = factories.make_role(engagement=second)
    client.force_login(world.consultant)

    # When htmx reports the engagement changed
    response = client.get(URL, _post_data(world, engagement=str(second.pk)), headers={"HX-Request": "true"})

    # Then the fields come back for that engagement, without the page around them
    body = response.content.decode()
    assert '<div id="check-in-fields">' in body
    assert "<html" not in body
    assert f'id="attendee-{role.stakeholder_id}"' in body
    assert f'id="attendee-{world.mine.stakeholder.pk}"' not in body


def test_attendee_type_ahead_lists_matches_and_keeps_ticked_ones(client, world):
    # Given two more stakeholders on the consultant's engagement
    ada = factories.make_role(
        engagement=world.mine.engagement,
        stakeholder=factories.make_stakeholder(client=world.client_a, name="Ada Lovelace"),
    )
    factories.make_role(
        engagement=world.mine.engagement,
        stakeholder=factories.make_stakeholder(client=world.client_a, name="Grace Hopper"),
    )
    client.force_login(world.consultant)

    # When the consultant types "lovel" with the sponsor already ticked
    response = client.get(
        reverse("check_in_attendee_options", kwargs={"pk": world.mine.engagement.pk}),
        {"q": "lovel", "attendees": [str(world.mine.stakeholder.pk)]},
        headers={"HX-Request": "true"},
    )

    # Then the match and the ticked sponsor are listed as checkboxes, nobody else
    names = {s.name for s in response.context["attendee_options"]}
    assert names == {"Ada Lovelace", world.mine.stakeholder.name}
    body = response.content.decode()
    assert f'id="attendee-{world.mine.stakeholder.pk}" checked' in body
    assert f'id="attendee-{ada.stakeholder_id}">' in body


def test_attendee_options_of_another_teams_engagement_answer_404(client, world):
    # When the consultant asks for the people of another client's engagement
    client.force_login(world.consultant)
    response = client.get(reverse("check_in_attendee_options", kwargs={"pk": world.other.engagement.pk}))

    # Then it is not found
    assert response.status_code == 404


def test_a_client_pmo_lead_cannot_log_a_check_in(client, world):
    # Given the client PMO lead
    client.force_login(world.client_user)
    before = _counts()

    # When they open the page and then post a check-in anyway
    page = client.get(URL)
    response = client.post(URL, _post_data(world))

    # Then the page offers no form and the post is forbidden, nothing saved
    assert "Save check-in" not in page.content.decode()
    assert response.status_code == 403
    assert _counts() == before
