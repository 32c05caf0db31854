"""The communication plan pages: the list of channels, adding, editing, pausing; cadence in words."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from communications import services
from communications.models import Channel
from communications.recurrence import describe_rule
from communications.serializers import ChannelSerializer
from pmaas.concurrency import STALE_MESSAGE
from pmaas.errors import NotAllowed
from tests import factories

HX = {"HTTP_HX_REQUEST": "true"}


def _plan(engagement):
    return reverse("engagement_plan", args=[engagement.pk])


def _channel_post(channel=None, **overrides):
    data = {
        "stakeholder": str(channel.stakeholder_id) if channel else "",
        "kind": "video",
        "title": "Fortnightly sponsor sync",
        "details": "Teams link in the invite.",
        "cadence": "fortnightly",
        "weekday": "TU",
        "rrule": "",
        "starts_on": "2026-02-03",
        "local_time": "09:00",
        "duration_minutes": "30",
        "owner": str(channel.owner_id) if channel else "",
        "grace_hours": "48",
    }
    if channel is not None:
        data["seen_updated_at"] = channel.updated_at.isoformat()
    data.update(overrides)
    return data


# describe_rule: the cadence in words


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("FREQ=WEEKLY;BYDAY=TU", "every Tuesday at 09:00 Europe/Berlin"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", "every other Tuesday at 09:00 Europe/Berlin"),
        ("FREQ=WEEKLY;INTERVAL=3;BYDAY=MO", "every 3 weeks on Monday at 09:00 Europe/Berlin"),
        ("FREQ=WEEKLY;BYDAY=MO,TH", "every Monday and Thursday at 09:00 Europe/Berlin"),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", "every weekday at 09:00 Europe/Berlin"),
        ("FREQ=WEEKLY;BYDAY=FR,MO,TU,WE,TH", "every weekday at 09:00 Europe/Berlin"),
        ("FREQ=DAILY;INTERVAL=2", "every other day at 09:00 Europe/Berlin"),
        ("FREQ=MONTHLY;BYDAY=1TU", "monthly on the first Tuesday at 09:00 Europe/Berlin"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "monthly on the last Friday at 09:00 Europe/Berlin"),
        ("FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2", "monthly on the second Tuesday at 09:00 Europe/Berlin"),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "on the last working day of the month at 09:00 Europe/Berlin",
        ),
        ("FREQ=MONTHLY;BYMONTHDAY=15", "monthly on the 15th at 09:00 Europe/Berlin"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", "monthly on the last day at 09:00 Europe/Berlin"),
        ("FREQ=MONTHLY;INTERVAL=3;BYDAY=1MO", "every 3 months on the first Monday at 09:00 Europe/Berlin"),
        ("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", "every year on 1 March at 09:00 Europe/Berlin"),
        ("FREQ=WEEKLY;BYDAY=MO;COUNT=6", "every Monday at 09:00 Europe/Berlin, 6 times"),
        (
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260630T220000Z",
            "every Monday at 09:00 Europe/Berlin, until 1 July 2026",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260630T000000",
            "every Monday at 09:00 Europe/Berlin, until 30 June 2026",
        ),
    ],
)
def test_describe_rule_puts_the_product_cadences_into_words(rule: str, words: str) -> None:
    # Given a rule of the product's vocabulary, when it is described
    # Then the words say the cadence, the local time and the zone
    assert describe_rule(rule, local_time=time(9, 0), time_zone="Europe/Berlin") == words


def test_describe_rule_takes_the_weekday_of_the_start_when_the_rule_names_none() -> None:
    # Given a weekly rule without BYDAY starting on a Wednesday
    words = describe_rule(
        "FREQ=WEEKLY", local_time=time(14, 30), time_zone="UTC", starts_on=dt.date(2026, 3, 4)
    )

    # Then the cadence falls on Wednesdays, as dateutil expands it
    assert words == "every Wednesday at 14:30 UTC"


def test_describe_rule_reads_the_same_in_summer_and_winter() -> None:
    # Given one Berlin cadence started in January (CET) and one started in July (CEST)
    winter = describe_rule(
        "FREQ=WEEKLY;BYDAY=TU", local_time=time(9), time_zone="Europe/Berlin", starts_on=dt.date(2026, 1, 6)
    )
    summer = describe_rule(
        "FREQ=WEEKLY;BYDAY=TU", local_time=time(9), time_zone="Europe/Berlin", starts_on=dt.date(2026, 7, 7)
    )

    # Then both say the zone's name, never an offset or CET/CEST
    assert winter == summer == "every Tuesday at 09:00 Europe/Berlin"


def test_describe_rule_keeps_the_local_time_of_a_half_hour_zone() -> None:
    # Given a monthly cadence at 10:00 in Kolkata (UTC+05:30)
    words = describe_rule("FREQ=MONTHLY;BYDAY=1TU", local_time=time(10, 0), time_zone="Asia/Kolkata")

    # Then the local time is shown as set, not converted
    assert words == "monthly on the first Tuesday at 10:00 Asia/Kolkata"


def test_describe_rule_falls_back_to_the_rule_text_outside_its_vocabulary() -> None:
    # Given a valid rule no sentence template covers
    words = describe_rule("FREQ=MONTHLY;BYDAY=1MO,3MO", local_time=time(9), time_zone="UTC")

    # Then it is shown as written rather than described wrongly
    assert words == "repeating as FREQ=MONTHLY;BYDAY=1MO,3MO at 09:00 UTC"


def test_describe_rule_refuses_a_rule_that_does_not_parse() -> None:
    with pytest.raises(ValidationError):
        describe_rule("FREQ=HOURLY", local_time=time(9), time_zone="UTC")


def test_channel_api_shows_the_cadence_in_words(world) -> None:
    # Given the world's weekly Tuesday channel of a Berlin stakeholder
    # When the API serialises it
    data = ChannelSerializer(world.mine.channel).data

    # Then a read-only cadence field describes it
    assert data["cadence"] == "every Tuesday at 09:00 Europe/Berlin"


# The plan page


@pytest.mark.parametrize("role", ["administrator", "practice_lead", "engagement_lead", "consultant"])
def test_plan_lists_each_channel_with_cadence_owner_and_edit_controls(client, world, role) -> None:
    # Given a firm user who may change the engagement
    client.force_login(world.users()[role])

    # When they open the plan
    response = client.get(_plan(world.mine.engagement))

    # Then the channel shows in words, with its owner and controls to change it
    assert response.status_code == 200
    page = response.content.decode()
    assert "every Tuesday at 09:00 Europe/Berlin" in page
    assert world.mine.channel.stakeholder.name in page
    assert str(world.lead) in page
    assert reverse("channel_edit", args=[world.mine.channel.pk]) in page
    assert 'aria-label="Pause: Weekly one-to-one"' in page
    assert reverse("channel_create", args=[world.mine.engagement.pk]) in page


def test_the_plan_and_its_form_ask_how_you_meet_not_for_a_kind(client, world) -> None:
    # Given the lead of the engagement
    client.force_login(world.lead)

    # When they open the plan and the form to add a channel
    plan = client.get(_plan(world.mine.engagement)).content.decode()
    form = client.get(reverse("channel_create", args=[world.mine.engagement.pk])).content.decode()

    # Then both speak of how you meet
    assert '<th scope="col">How</th>' in plan and '<td data-label="How">Meeting</td>' in plan
    assert '<label for="id_kind">How you meet</label>' in form
    assert ">Kind<" not in plan and ">Kind<" not in form


def test_the_plan_is_not_shown_to_the_client_pmo_lead(client, world) -> None:
    # Given the client's PMO lead
    client.force_login(world.client_user)

    # When they open the plan, or the engagement overview
    response = client.get(_plan(world.mine.engagement))
    overview = client.get(reverse("engagement_detail", args=[world.mine.engagement.pk])).content.decode()

    # Then there is no such page for them (pmaas/sharing.py shares no channel), and no tab leads to it
    assert response.status_code == 404
    assert _plan(world.mine.engagement) not in overview


def test_client_pmo_lead_is_refused_every_plan_change(client, world) -> None:
    # Given the client's PMO lead
    client.force_login(world.client_user)
    channel = world.mine.channel

    # When they try to add, edit or pause
    responses = [
        client.get(reverse("channel_create", args=[world.mine.engagement.pk])),
        client.post(reverse("channel_edit", args=[channel.pk]), _channel_post(channel)),
        client.post(reverse("channel_pause", args=[channel.pk])),
    ]

    # Then none is done, and nothing changed: the plan does not exist for them
    assert [r.status_code for r in responses] == [404, 404, 404]
    channel.refresh_from_db()
    assert (channel.status, channel.title) == (Channel.Status.ACTIVE, "Weekly one-to-one")


def test_plan_query_count_does_not_grow_with_channels(client, world, django_assert_num_queries) -> None:
    # Given the lead and the plan with 5, then 50 channels
    client.force_login(world.lead)
    url = _plan(world.mine.engagement)
    for size in (5, 50):
        while Channel.objects.filter(engagement=world.mine.engagement).count() < size:
            factories.make_channel(role=world.mine.role, owner=world.lead, title="Another line")

        # Then the page is served with the same number of queries (compliance: one grouped query)
        with django_assert_num_queries(8):
            response = client.get(url)
        assert response.content.decode().count('data-label="Cadence"') == size


# Adding a channel


def test_a_channel_is_planned_and_edited_with_its_duration(client, world) -> None:
    # Given the consultant adding a 45-minute channel
    client.force_login(world.consultant)
    data = _channel_post(
        stakeholder=str(world.mine.stakeholder.pk), owner=str(world.consultant.pk), duration_minutes="45"
    )
    client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)
    channel = Channel.objects.get(title="Fortnightly sponsor sync")

    # When they open it again and make it an hour
    form = client.get(reverse("channel_edit", args=[channel.pk])).content.decode()
    response = client.post(
        reverse("channel_edit", args=[channel.pk]), _channel_post(channel, duration_minutes="60")
    )

    # Then the form showed the 45 minutes, and the channel now lasts an hour
    assert channel.duration == dt.timedelta(minutes=45)
    assert 'name="duration_minutes"' in form
    assert 'value="45"' in form
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.duration == dt.timedelta(hours=1)


@pytest.mark.parametrize("minutes", ["0", "4", "481", "half an hour"])
def test_a_duration_outside_five_minutes_to_eight_hours_is_refused_on_the_form(
    client, world, minutes
) -> None:
    # Given the consultant on the add form
    client.force_login(world.consultant)
    data = _channel_post(
        stakeholder=str(world.mine.stakeholder.pk), owner=str(world.consultant.pk), duration_minutes=minutes
    )

    # When they give a duration out of range
    response = client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)

    # Then the form comes back with the error under the duration, and nothing is planned
    assert response.status_code == 200
    assert response.context["form"].errors.keys() == {"duration_minutes"}
    assert not Channel.objects.filter(title="Fortnightly sponsor sync").exists()


def test_adding_a_channel_with_a_common_cadence_plans_it(client, world) -> None:
    # Given the consultant on the add form
    client.force_login(world.consultant)
    data = _channel_post(stakeholder=str(world.mine.stakeholder.pk), owner=str(world.consultant.pk))

    # When they pick "every other week" on Tuesday
    response = client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)

    # Then the channel is planned with that rule and a next due time, and they are back on the plan
    assert response.status_code == 302
    assert response["Location"] == _plan(world.mine.engagement)
    channel = Channel.objects.get(title="Fortnightly sponsor sync")
    assert channel.recurrence == "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"
    assert (channel.owner, channel.kind, channel.grace_period) == (
        world.consultant,
        "video",
        dt.timedelta(days=2),
    )
    assert channel.next_due_at is not None


@pytest.mark.parametrize(
    ("cadence", "rrule", "expected"),
    [
        ("weekly", "", "FREQ=WEEKLY;BYDAY=TH"),
        ("monthly_first", "", "FREQ=MONTHLY;BYDAY=1TH"),
        ("last_working_day", "", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
        ("advanced", "FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=MONTHLY;BYMONTHDAY=15"),
    ],
)
def test_each_cadence_choice_stores_its_rule(client, world, cadence, rrule, expected) -> None:
    client.force_login(world.lead)
    data = _channel_post(
        stakeholder=str(world.mine.stakeholder.pk),
        owner=str(world.lead.pk),
        cadence=cadence,
        weekday="TH",
        rrule=rrule,
    )

    response = client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)

    assert response.status_code == 302
    assert Channel.objects.get(title="Fortnightly sponsor sync").recurrence == expected


def _errors_of(response, field):
    return response.context["form"].errors.get(field, [])


def test_a_bad_rrule_is_refused_next_to_the_field_and_the_input_kept(client, world) -> None:
    # Given the lead typing an hourly rule in the advanced field
    client.force_login(world.lead)
    data = _channel_post(
        stakeholder=str(world.mine.stakeholder.pk),
        owner=str(world.lead.pk),
        cadence="advanced",
        rrule="FREQ=HOURLY;INTERVAL=1",
        title="Hourly pestering",
    )

    # When they save
    response = client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)

    # Then the form comes back with the error beside the rule and what they typed
    page = response.content.decode()
    assert response.status_code == 200
    assert _errors_of(response, "rrule") == [
        "A cadence must repeat DAILY, WEEKLY, MONTHLY or YEARLY (FREQ=…)."
    ]
    assert 'id="id_rrule_errors"' in page
    assert 'value="FREQ=HOURLY;INTERVAL=1"' in page
    assert 'value="Hourly pestering"' in page
    assert not Channel.objects.filter(title="Hourly pestering").exists()


def test_a_grace_period_reaching_the_next_meeting_is_refused_beside_the_grace_field(client, world) -> None:
    # Given the lead planning a daily stand-up with the form's default two days' grace
    client.force_login(world.lead)
    data = _channel_post(
        stakeholder=str(world.mine.stakeholder.pk),
        owner=str(world.lead.pk),
        cadence="advanced",
        rrule="FREQ=DAILY",
        title="Daily stand-up",
        grace_hours="48",
    )

    # When they save
    response = client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)

    # Then the grace field says why, and nothing is planned
    assert response.status_code == 200
    assert _errors_of(response, "grace_hours") == [
        "Keep the grace period shorter than 1 day (24 hours), the closest two meetings of this cadence, "
        "so each meeting is held or missed before the next one falls due."
    ]
    assert not Channel.objects.filter(title="Daily stand-up").exists()


def test_a_wrongly_typed_time_is_refused_and_kept(client, world) -> None:
    client.force_login(world.lead)
    data = _channel_post(
        stakeholder=str(world.mine.stakeholder.pk), owner=str(world.lead.pk), local_time="9 o'clock"
    )

    response = client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)

    assert _errors_of(response, "local_time") == ["Enter a valid time."]
    assert 'value="9 o&#x27;clock"' in response.content.decode()
    assert not Channel.objects.filter(title="Fortnightly sponsor sync").exists()


def test_an_owner_from_another_team_is_refused(client, world) -> None:
    # Given the practice lead (who sees every user) naming the other team's consultant as owner
    client.force_login(world.practice_lead)
    data = _channel_post(stakeholder=str(world.mine.stakeholder.pk), owner=str(world.outsider_consultant.pk))

    # When they save
    response = client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)

    # Then the owner list of this engagement's team refuses them
    assert response.status_code == 200
    assert _errors_of(response, "owner")
    assert not Channel.objects.filter(title="Fortnightly sponsor sync").exists()


def test_a_stakeholder_of_another_engagement_is_refused(client, world) -> None:
    # Given the practice lead naming the sibling engagement's stakeholder
    client.force_login(world.practice_lead)
    data = _channel_post(stakeholder=str(world.sibling.stakeholder.pk), owner=str(world.lead.pk))

    response = client.post(reverse("channel_create", args=[world.mine.engagement.pk]), data)

    assert _errors_of(response, "stakeholder")
    assert not Channel.objects.filter(title="Fortnightly sponsor sync").exists()


def test_channel_update_refuses_a_stakeholder_of_another_engagement_itself(world) -> None:
    # Given a caller that skips the form's scoped list
    # When the service is handed the sibling's stakeholder
    with pytest.raises(ValidationError) as refused:
        services.channel_update(
            actor=world.lead,
            channel=world.mine.channel,
            seen_updated_at=None,
            **{**_service_values(world), "stakeholder": world.sibling.stakeholder},
        )

    # Then it says why, under the field
    assert refused.value.message_dict["stakeholder"] == ["This person has no role on the engagement."]


# Editing a channel


def _fresh(channel: Channel) -> Channel:
    # Logging the world's check-in moved the channel on in the database, not in memory.
    channel.refresh_from_db()
    return channel


def _service_values(world):
    channel = _fresh(world.mine.channel)
    return {
        "stakeholder": channel.stakeholder,
        "title": channel.title,
        "recurrence_rule": channel.recurrence,
        "starts_on": channel.starts_on,
        "local_time": channel.local_time,
        "owner": channel.owner,
    }


def test_edit_form_opens_with_the_channel_and_its_preset_cadence(client, world) -> None:
    client.force_login(world.lead)
    _fresh(world.mine.channel)

    response = client.get(reverse("channel_edit", args=[world.mine.channel.pk]))

    form = response.context["form"]
    assert (form["cadence"].value(), form["weekday"].value()) == ("weekly", "TU")
    assert form["title"].value() == "Weekly one-to-one"
    assert world.mine.channel.updated_at.isoformat() in response.content.decode()


def test_editing_the_cadence_recomputes_the_next_due_time(client, world) -> None:
    # Given the weekly Tuesday channel
    channel = _fresh(world.mine.channel)
    client.force_login(world.lead)

    # When the lead moves it to Thursdays
    response = client.post(
        reverse("channel_edit", args=[channel.pk]),
        _channel_post(channel, cadence="weekly", weekday="TH", title="Thursday sync"),
    )

    # Then it is saved and falls due on a Thursday at 09:00 Berlin time
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.title, channel.recurrence) == ("Thursday sync", "FREQ=WEEKLY;BYDAY=TH")
    assert channel.next_due_at is not None
    local = channel.next_due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (local.weekday(), local.hour) == (3, 9)


def test_channel_update_keeps_the_next_due_time_when_the_cadence_is_unchanged(world) -> None:
    channel = _fresh(world.mine.channel)
    due = channel.next_due_at

    updated = services.channel_update(
        actor=world.lead,
        channel=channel,
        seen_updated_at=channel.updated_at,
        **{**_service_values(world), "title": "Renamed"},
        as_of=dt.datetime(2030, 1, 1, tzinfo=UTC),
    )

    assert (updated.title, updated.next_due_at) == ("Renamed", due)


def test_a_stale_edit_is_refused_and_does_not_overwrite(client, world) -> None:
    # Given two people who opened the same channel
    channel = _fresh(world.mine.channel)
    client.force_login(world.lead)
    seen = channel.updated_at.isoformat()
    services.channel_update(
        actor=world.consultant,
        channel=channel,
        seen_updated_at=channel.updated_at,
        **{**_service_values(world), "title": "First save wins"},
    )

    # When the second saves from the copy they opened
    response = client.post(
        reverse("channel_edit", args=[channel.pk]),
        _channel_post(channel, seen_updated_at=seen, title="Second save"),
    )

    # Then they are told, their input is kept, and the first save stands
    page = response.content.decode()
    assert response.status_code == 200
    assert STALE_MESSAGE in response.context["form"].non_field_errors()
    assert 'value="Second save"' in page
    channel.refresh_from_db()
    assert channel.title == "First save wins"
    # and saving again, now against what is there, goes through
    assert channel.updated_at.isoformat() in page


# Pausing and resuming


def test_pausing_then_resuming_a_channel(client, world) -> None:
    # Given an active channel
    channel = world.mine.channel
    client.force_login(world.consultant)

    # When the consultant pauses it
    response = client.post(reverse("channel_pause", args=[channel.pk]))

    # Then it is paused with no next due time, and they are back on the plan
    assert response.status_code == 302
    assert response["Location"] == _plan(world.mine.engagement)
    channel.refresh_from_db()
    assert (channel.status, channel.next_due_at) == (Channel.Status.PAUSED, None)

    # When they press it again, it resumes with a next due time in the future
    client.post(reverse("channel_pause", args=[channel.pk]))
    channel.refresh_from_db()
    assert channel.status == Channel.Status.ACTIVE
    assert channel.next_due_at is not None


def test_resuming_recomputes_next_due_from_now_not_from_the_backlog(world) -> None:
    # Given a channel paused for months
    channel = services.channel_pause(actor=world.lead, channel=world.mine.channel)
    later = dt.datetime(2026, 9, 1, 12, 0, tzinfo=UTC)

    # When it is resumed
    resumed = services.channel_resume(actor=world.lead, channel=channel, as_of=later)

    # Then the next due time is the first Tuesday 09:00 Berlin after the resumption
    assert resumed.next_due_at == dt.datetime(2026, 9, 8, 7, 0, tzinfo=UTC)


def test_pausing_twice_changes_nothing_the_second_time(world) -> None:
    first = services.channel_pause(actor=world.lead, channel=world.mine.channel)
    second = services.channel_pause(actor=world.lead, channel=world.mine.channel)

    assert (second.status, second.updated_at) == (Channel.Status.PAUSED, first.updated_at)


def test_pause_service_forbids_the_client_pmo_lead(world) -> None:
    with pytest.raises(NotAllowed):
        services.channel_pause(actor=world.client_user, channel=world.mine.channel)


def test_pausing_with_htmx_returns_the_row(client, world) -> None:
    client.force_login(world.lead)

    response = client.post(reverse("channel_pause", args=[world.mine.channel.pk]), **HX)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith(f'<tr id="channel-{world.mine.channel.pk}"')
    assert "<html" not in page
    assert 'aria-label="Resume: Weekly one-to-one"' in page


def test_plan_shows_the_next_due_time_in_the_users_zone(client, world) -> None:
    # Given a lead in Kolkata and a channel due at 09:00 Berlin time on a winter Tuesday
    world.lead.time_zone = "Asia/Kolkata"
    world.lead.save(update_fields=["time_zone"])
    Channel.objects.filter(pk=world.mine.channel.pk).update(
        next_due_at=dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    )
    client.force_login(world.lead)

    # When they open the plan
    page = client.get(_plan(world.mine.engagement)).content.decode()

    # Then the due time is shown in their zone (UTC+05:30), the cadence in the stakeholder's
    assert "Tue 1 Dec 2026, 13:30" in page
    assert "every Tuesday at 09:00 Europe/Berlin" in page


def test_editing_a_paused_channel_leaves_it_without_a_due_time(world) -> None:
    paused = services.channel_pause(actor=world.lead, channel=world.mine.channel)

    updated = services.channel_update(
        actor=world.lead,
        channel=paused,
        seen_updated_at=paused.updated_at,
        **{**_service_values(world), "recurrence_rule": "FREQ=WEEKLY;BYDAY=FR"},
    )

    assert (updated.status, updated.next_due_at, updated.recurrence) == (
        Channel.Status.PAUSED,
        None,
        "FREQ=WEEKLY;BYDAY=FR",
    )


def test_a_daily_channel_keeps_its_grace_of_hours_through_an_edit(client, world) -> None:
    # Given a daily stand-up whose check-ins count for 12 hours after the due time
    channel = factories.make_channel(
        role=world.mine.role,
        owner=world.lead,
        title="Daily stand-up",
        recurrence_rule="FREQ=DAILY",
        grace_period=dt.timedelta(hours=12),
    )
    client.force_login(world.lead)

    # When the lead opens its edit form and saves it as shown
    page = client.get(reverse("channel_edit", args=[channel.pk])).content.decode()
    field = page[page.index('name="grace_hours"') - 120 : page.index('name="grace_hours"') + 120]

    # Then the form shows 12 hours, not a whole day rounded away
    assert 'value="12"' in field
