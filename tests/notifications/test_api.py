"""API v1 for the caller's notifications and notification preferences."""

from __future__ import annotations

import datetime as dt
from datetime import UTC

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from notifications.models import NotificationPreference
from tests import factories
from tests.factories import World

NOW = dt.datetime(2026, 3, 18, 9, 0, tzinfo=UTC)
LIST = reverse("v1:notification-list")
READ_ALL = reverse("v1:notification-read-all")
ME = reverse("v1:notification-preference-me")


def _detail(notification):
    return reverse("v1:notification-detail", args=[notification.pk])


def _read(notification):
    return reverse("v1:notification-read", args=[notification.pk])


def test_the_list_holds_the_callers_notifications_newest_first(client: Client, world: World) -> None:
    # Given the consultant's older and newer notification, and one for the lead
    older = factories.make_notification(recipient=world.consultant, created_at=NOW - dt.timedelta(days=1))
    newer = factories.make_notification(
        recipient=world.consultant, engagement=world.mine.engagement, created_at=NOW, url="/follow-ups/"
    )
    factories.make_notification(recipient=world.lead)
    client.force_login(world.consultant)

    # When they list their notifications
    body = client.get(LIST).json()

    # Then both of theirs are there, newest first, with the engagement and no one else's
    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    first = body["results"][0]
    assert first["engagement"] == world.mine.engagement.pk
    assert first["engagement_code"] == "EHR-A"
    assert first["event"] == "follow_up_overdue"
    assert first["url"] == "/follow-ups/"
    assert first["read_at"] is None


def test_unread_true_filters_to_the_unread(client: Client, world: World) -> None:
    unread = factories.make_notification(recipient=world.consultant)
    read = factories.make_notification(recipient=world.consultant, read_at=NOW)
    client.force_login(world.consultant)
    assert [row["id"] for row in client.get(LIST, {"unread": "true"}).json()["results"]] == [unread.pk]
    assert [row["id"] for row in client.get(LIST, {"unread": "false"}).json()["results"]] == [read.pk]


def test_an_unreadable_unread_filter_is_400(client: Client, world: World) -> None:
    client.force_login(world.consultant)
    response = client.get(LIST, {"unread": "maybe"})
    assert response.status_code == 400
    assert "unread" in response.json()


@pytest.mark.parametrize("size", [5, 50])
def test_list_costs_the_same_queries_at_any_size(
    client: Client, world: World, django_assert_num_queries, size
) -> None:
    for _ in range(size):
        factories.make_notification(recipient=world.consultant, engagement=world.mine.engagement)
    client.force_login(world.consultant)

    # Then session, user and one page of rows with their engagements: no count
    with django_assert_num_queries(3):
        response = client.get(LIST)
    assert len(response.json()["results"]) == min(size, 50)


@time_machine.travel(NOW, tick=False)
def test_marking_read_answers_the_notification_read_and_is_idempotent(client: Client, world: World) -> None:
    notification = factories.make_notification(recipient=world.consultant)
    client.force_login(world.consultant)

    first = client.post(_read(notification))
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        second = client.post(_read(notification))

    assert first.status_code == second.status_code == 200
    assert first.json()["read_at"] == second.json()["read_at"] == "2026-03-18T09:00:00Z"


@pytest.mark.parametrize("who", ["lead", "administrator"])
def test_someone_elses_notification_is_404_to_read_and_to_mark(
    client: Client, world: World, who: str
) -> None:
    notification = factories.make_notification(recipient=world.consultant)
    client.force_login(getattr(world, who))
    assert client.get(_detail(notification)).status_code == 404
    assert client.post(_read(notification)).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_read_all_marks_the_callers_unread_and_says_how_many(client: Client, world: World) -> None:
    for _ in range(3):
        factories.make_notification(recipient=world.consultant)
    lead = factories.make_notification(recipient=world.lead)
    client.force_login(world.consultant)

    assert client.post(READ_ALL).json() == {"marked_read": 3}
    assert client.post(READ_ALL).json() == {"marked_read": 0}
    assert client.get(LIST, {"unread": "true"}).json()["results"] == []
    lead.refresh_from_db()
    assert lead.read_at is None


def test_the_preferences_of_a_user_who_never_saved_any_are_the_defaults(client: Client, world: World) -> None:
    client.force_login(world.consultant)
    body = client.get(ME).json()
    assert body["reminder_lead"] == "1wd"
    assert body["digest_time"] == "08:00:00"
    assert body["quiet_hours_start"] is None
    assert body["email_on_weekends"] is False
    assert body["sponsor_silent_email"] is True
    # Mail of the digestible events comes in the daily digest unless the user asks for it at once
    assert (body["follow_up_escalated_at_once"], body["check_in_missed_at_once"]) == (False, False)
    assert "check_in_reminder_at_once" not in body


def test_patch_chooses_an_event_to_mail_at_once(client: Client, world: World) -> None:
    client.force_login(world.consultant)
    response = client.patch(ME, {"follow_up_escalated_at_once": True}, content_type="application/json")
    assert response.status_code == 200, response.json()
    assert response.json()["follow_up_escalated_at_once"] is True
    preference = NotificationPreference.objects.get(user=world.consultant)
    assert preference.mails_at_once("follow_up_escalated")
    assert not preference.mails_at_once("follow_up_overdue")


def test_patch_changes_only_the_fields_given(client: Client, world: World) -> None:
    # Given the consultant's default preferences, when they PATCH quiet hours
    client.force_login(world.consultant)
    response = client.patch(
        ME, {"quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}, content_type="application/json"
    )

    # Then those are stored and the rest keep their defaults
    assert response.status_code == 200, response.json()
    preference = NotificationPreference.objects.get(user=world.consultant)
    assert (str(preference.quiet_hours_start), str(preference.quiet_hours_end)) == ("22:00:00", "07:00:00")
    assert preference.reminder_lead == "1wd"
    # And they are the caller's alone: the lead still has none saved
    assert not NotificationPreference.objects.filter(user=world.lead).exists()


def test_put_needs_every_field(client: Client, world: World) -> None:
    client.force_login(world.consultant)
    response = client.put(ME, {"reminder_lead": "4h"}, content_type="application/json")
    assert response.status_code == 400
    assert "digest_time" in response.json()


def test_put_with_every_field_replaces_the_preferences(client: Client, world: World) -> None:
    client.force_login(world.consultant)
    body = client.get(ME).json()
    body.pop("updated_at")
    body.update(reminder_lead="2wd", follow_up_escalated_email=False, email_on_weekends=True)
    response = client.put(ME, body, content_type="application/json")
    assert response.status_code == 200, response.json()
    preference = NotificationPreference.objects.get(user=world.consultant)
    assert (preference.reminder_lead, preference.follow_up_escalated_email, preference.email_on_weekends) == (
        "2wd",
        False,
        True,
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
        ({"quiet_hours_end": "07:00"}, "quiet_hours_start"),
        ({"reminder_lead": "3d"}, "reminder_lead"),
        ({"digest_time": "25:00"}, "digest_time"),
        ({"email_on_weekends": "perhaps"}, "email_on_weekends"),
    ],
)
def test_bad_preferences_are_400_with_the_field(client: Client, world: World, body, field) -> None:
    client.force_login(world.consultant)
    response = client.patch(ME, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not NotificationPreference.objects.filter(user=world.consultant).exists()


def test_one_quiet_hour_end_is_answered_with_the_rule(client: Client, world: World) -> None:
    client.force_login(world.consultant)
    response = client.patch(ME, {"quiet_hours_start": "22:00"}, content_type="application/json")
    assert response.json() == {"quiet_hours_end": ["Give both ends of the quiet hours, or neither."]}


def test_anonymous_callers_are_refused(client: Client, db) -> None:
    assert client.get(LIST).status_code in (401, 403)
    assert client.get(ME).status_code in (401, 403)


def test_the_schema_documents_notifications_and_preferences(tmp_path) -> None:
    import yaml

    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--api-version", "v1", "--validate", "--fail-on-warn", "--file", str(target))
    paths = yaml.safe_load(target.read_text())["paths"]
    assert "404" in paths["/api/v1/notifications/{id}/"]["get"]["responses"]
    assert set(paths["/api/v1/notifications/{id}/read/"]["post"]["responses"]) >= {"200", "403", "404", "429"}
    assert "200" in paths["/api/v1/notifications/read-all/"]["post"]["responses"]
    assert set(paths["/api/v1/notification-preferences/me/"]["patch"]["responses"]) >= {
        "200",
        "400",
        "403",
        "429",
    }
    assert set(paths["/api/v1/notification-preferences/me/"]["put"]["responses"]) >= {
        "200",
        "400",
        "403",
        "429",
    }
    assert "unread" in {p["name"] for p in paths["/api/v1/notifications/"]["get"]["parameters"]}
    fields = yaml.safe_load(target.read_text())["components"]["schemas"]["NotificationPreference"][
        "properties"
    ]
    assert "daily digest" in fields["follow_up_escalated_at_once"]["description"]
