"""The bell, the notification list, marking read, and the notification preferences page."""

from __future__ import annotations

import datetime as dt
import re
from datetime import UTC, time

import pytest
import time_machine
from django.urls import reverse

from notifications.models import Notification, NotificationPreference
from notifications.services import notification_preference_save
from notifications.views import NOTIFICATIONS_PAGE_SIZE
from tests import factories

LIST = reverse("notification_list")
PREFERENCES = reverse("notification_preferences")
NOW = dt.datetime(2026, 3, 18, 9, 0, tzinfo=UTC)


def _bell(html: str) -> str:
    """The bell's accessible name, then its visible text."""
    found = re.search(r'<a id="notification-bell"[^>]*aria-label="([^"]*)"[^>]*>(.*?)</a>', html, re.S)
    assert found, "no bell on the page"
    return f"{found.group(1)} | {re.sub(r'<[^>]+>', '', found.group(2)).strip()}"


def _read(notification: Notification) -> bool:
    notification.refresh_from_db()
    return notification.read_at is not None


# The bell


def test_the_bell_says_how_many_notifications_are_unread(client, world):
    # Given the consultant with two unread notifications and one read
    for _ in range(2):
        factories.make_notification(recipient=world.consultant, engagement=world.mine.engagement)
    factories.make_notification(recipient=world.consultant, read_at=NOW)
    client.force_login(world.consultant)

    # When any page is opened
    html = client.get(reverse("home")).content.decode()

    # Then the bell links to the list, reads "Notifications, 2 unread" and shows a 2
    assert f'href="{LIST}"' in html
    assert _bell(html) == "Notifications, 2 unread | Notifications 2"


def test_the_bell_shows_no_number_when_all_is_read(client, world):
    factories.make_notification(recipient=world.consultant, read_at=NOW)
    client.force_login(world.consultant)
    html = client.get(reverse("home")).content.decode()
    assert _bell(html) == "Notifications, 0 unread | Notifications"
    bell = re.search(r'<a id="notification-bell".*?</a>', html, re.S)
    assert bell and 'class="badge' not in bell.group(0)


def test_anonymous_visitors_see_no_bell_and_cost_no_count(client, db, django_assert_num_queries):
    # Given nobody logged in, when the login page is opened, then there is no bell and no query at all
    with django_assert_num_queries(0):
        html = client.get(reverse("login")).content.decode()
    assert "notification-bell" not in html


# The list


def test_the_list_shows_newest_first_with_message_engagement_and_local_time(client, world):
    # Given a Berlin consultant with an older and a newer notification
    world.consultant.time_zone = "Europe/Berlin"
    world.consultant.save()
    factories.make_notification(
        recipient=world.consultant, message="Older one", created_at=dt.datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    )
    factories.make_notification(
        recipient=world.consultant,
        engagement=world.mine.engagement,
        message="Newer one",
        created_at=dt.datetime(2026, 3, 18, 8, 0, tzinfo=UTC),
    )
    client.force_login(world.consultant)

    # When they open the list
    html = client.get(LIST).content.decode()

    # Then the newer comes first, with its engagement and its time in Berlin (UTC+1 in March)
    assert html.index("Newer one") < html.index("Older one")
    assert "EHR-A · EHR rollout" in html
    assert "Wed 18 Mar 2026, 09:00" in html
    assert "Europe/Berlin" in html


def test_unread_notifications_are_marked_and_the_filter_shows_only_them(client, world):
    # Given one unread and one read notification
    factories.make_notification(recipient=world.consultant, message="Still to read")
    factories.make_notification(recipient=world.consultant, message="Seen already", read_at=NOW)
    client.force_login(world.consultant)

    # When the whole list is shown, then the unread one carries the mark
    html = client.get(LIST).content.decode()
    row = re.search(r"<tr [^>]*notification-unread.*?</tr>", html, re.S)
    assert row and "Still to read" in row.group(0) and "Unread" in row.group(0)
    assert html.count("notification-unread") == 1

    # When the list is filtered to unread, then only that one is there
    unread = client.get(LIST, {"show": "unread"}).content.decode()
    assert "Still to read" in unread
    assert "Seen already" not in unread


def test_an_empty_list_says_what_will_appear_there(client, world):
    client.force_login(world.consultant)
    html = client.get(LIST).content.decode()
    assert "overdue and escalated follow-ups" in html
    assert "will appear here" in html


def test_the_list_is_paged(client, world):
    # Given one more notification than a page holds
    for n in range(NOTIFICATIONS_PAGE_SIZE + 1):
        factories.make_notification(
            recipient=world.consultant, message=f"Item {n:02d}", created_at=NOW + dt.timedelta(minutes=n)
        )
    client.force_login(world.consultant)

    # Then the first page holds the newest, and the oldest is on page 2
    first = client.get(LIST).content.decode()
    assert "Item 25" in first and "Item 00" not in first
    assert 'rel="next"' in first
    assert "Item 00" in client.get(LIST, {"page": 2}).content.decode()


def test_the_list_shows_nobody_elses_notifications(client, world):
    factories.make_notification(recipient=world.lead, message="For the lead")
    client.force_login(world.administrator)
    assert "For the lead" not in client.get(LIST).content.decode()


@pytest.mark.parametrize("size", [5, 50])
def test_list_query_count_does_not_grow_with_notifications(client, world, django_assert_num_queries, size):
    # Given the consultant with many notifications across engagements
    for _ in range(size):
        factories.make_notification(recipient=world.consultant, engagement=world.mine.engagement)
    client.force_login(world.consultant)

    # Then the page costs session, user, the bell's count, the header's role, the page count
    # and the rows
    with django_assert_num_queries(6):
        response = client.get(LIST)
    assert response.content.decode().count('data-label="Engagement"') == min(size, NOTIFICATIONS_PAGE_SIZE)


# Marking read


def test_mark_read_without_javascript_posts_and_comes_back_to_the_list(client, world):
    # Given an unread notification
    notification = factories.make_notification(recipient=world.consultant)
    client.force_login(world.consultant)

    # When "Mark read" is pressed without JavaScript
    response = client.post(LIST + "?show=unread", {"notification": notification.pk})

    # Then it is read, and they are back on the list they were on
    assert response.status_code == 302
    assert response["Location"] == LIST + "?show=unread"
    assert _read(notification)


def test_mark_read_with_htmx_swaps_the_row_and_the_bell_in_place(client, world):
    # Given two unread notifications
    notification = factories.make_notification(recipient=world.consultant, message="First")
    factories.make_notification(recipient=world.consultant, message="Second")
    client.force_login(world.consultant)

    # When one is marked read through htmx
    response = client.post(LIST, {"notification": notification.pk}, HTTP_HX_REQUEST="true")

    # Then the answer is its row, read now, and the bell counting one
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="notification-{notification.pk}"' in html
    assert "notification-unread" not in html
    assert "Mark read" not in html
    assert 'hx-swap-oob="true"' in html
    assert _bell(html) == "Notifications, 1 unread | Notifications 1"
    assert "<html" not in html


def test_opening_a_notification_marks_it_read_and_follows_its_link(client, world):
    # Given an unread notification pointing at the engagement's follow-ups
    url = reverse("engagement_follow_ups", args=[world.mine.engagement.pk])
    notification = factories.make_notification(recipient=world.consultant, url=url)
    client.force_login(world.consultant)

    # When it is opened from the list
    response = client.post(LIST, {"notification": notification.pk, "open": "1"})

    # Then it is read and they land on the page it is about
    assert response.status_code == 302
    assert response["Location"] == url
    assert _read(notification)


def test_a_link_leading_out_of_the_app_is_not_followed(client, world):
    notification = factories.make_notification(recipient=world.consultant, url="//evil.example/")
    client.force_login(world.consultant)
    response = client.post(LIST, {"notification": notification.pk, "open": "1"})
    assert response["Location"] == LIST


@pytest.mark.parametrize("who", ["lead", "administrator"])
def test_someone_elses_notification_answers_404_and_stays_unread(client, world, who):
    # Given the consultant's notification
    notification = factories.make_notification(recipient=world.consultant)
    client.force_login(getattr(world, who))

    # When another user, even an administrator, marks or opens it, then it is not found
    assert client.post(LIST, {"notification": notification.pk}).status_code == 404
    assert client.post(LIST, {"notification": notification.pk, "open": "1"}).status_code == 404
    assert not _read(notification)


def test_a_post_that_names_nothing_is_refused(client, world):
    client.force_login(world.consultant)
    assert client.post(LIST, {"notification": "not-a-number"}).status_code == 400
    assert client.post(LIST, {}).status_code == 400


def test_mark_all_read_reads_every_one_and_the_bell_drops_to_zero(client, world):
    # Given three unread notifications of the consultant and one of the lead
    mine = [factories.make_notification(recipient=world.consultant) for _ in range(3)]
    lead = factories.make_notification(recipient=world.lead)
    client.force_login(world.consultant)

    # When "Mark all read" is pressed
    response = client.post(LIST, {"all": "1"}, follow=True)

    # Then all of theirs are read, the lead's is not, and the page says so
    assert all(_read(n) for n in mine)
    assert not _read(lead)
    html = response.content.decode()
    assert "Marked 3 notifications read." in html
    assert _bell(html) == "Notifications, 0 unread | Notifications"


@time_machine.travel(NOW, tick=False)
def test_marking_read_records_the_time_it_was_read(client, world):
    notification = factories.make_notification(recipient=world.consultant)
    client.force_login(world.consultant)
    client.post(LIST, {"notification": notification.pk})
    notification.refresh_from_db()
    assert notification.read_at == NOW


# Preferences


def _preferences_post(**overrides):
    data = {
        "reminder_lead": "1wd",
        "digest_time": "08:00",
        "quiet_hours_start": "",
        "quiet_hours_end": "",
        "check_in_reminder_in_app": "on",
        "check_in_reminder_email": "on",
        "check_in_missed_in_app": "on",
        "check_in_missed_email": "on",
        "follow_up_overdue_in_app": "on",
        "follow_up_overdue_email": "on",
        "follow_up_escalated_in_app": "on",
        "follow_up_escalated_email": "on",
        "sponsor_silent_in_app": "on",
        "sponsor_silent_email": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_preferences_page_shows_each_event_with_in_app_and_email_and_names_the_zone(client, world):
    # Given a New York consultant who never saved preferences
    world.consultant.time_zone = "America/New_York"
    world.consultant.save()
    client.force_login(world.consultant)

    # When they open the page
    html = client.get(PREFERENCES).content.decode()

    # Then each event has both boxes, ticked by default, and each digestible event an at-once box,
    # unticked by default (the digest); an event told in the app only has no email box; the lead
    # is one working day, and the zone is named
    assert "A follow-up I answer for went overdue" in html
    assert html.count('type="checkbox"') == 21
    assert 'name="update_acknowledged_email"' not in html and 'name="update_failed_email"' not in html
    # The RAID review notice gathers a day's late items: mailed in the digest, never at once
    assert 'name="raid_review_due_in_app" id="id_raid_review_due_in_app" checked' in html
    assert 'name="raid_review_due_email" id="id_raid_review_due_email" checked' in html
    assert 'name="raid_review_due_at_once"' not in html
    assert 'name="update_failed_in_app" id="id_update_failed_in_app" checked' in html
    # An update waiting for approval is mailed at once, always on its own: no at-once box
    assert 'name="update_approval_needed_email" id="id_update_approval_needed_email" checked' in html
    assert 'name="update_approval_needed_at_once"' not in html
    assert 'name="follow_up_overdue_email" id="id_follow_up_overdue_email" checked' in html
    assert 'name="follow_up_escalated_at_once" id="id_follow_up_escalated_at_once">' in html
    assert 'name="check_in_reminder_at_once"' not in html
    assert '<option value="1wd" selected>' in html
    assert "America/New_York" in html
    assert 'value="08:00"' in html


def test_saving_preferences_stores_them_and_the_page_shows_them_again(client, world):
    # Given the consultant turning off sponsor email, taking weekend email and setting quiet hours
    client.force_login(world.consultant)
    data = _preferences_post(
        sponsor_silent_email=None,
        email_on_weekends="on",
        quiet_hours_start="21:30",
        quiet_hours_end="06:45",
        reminder_lead="4h",
        digest_time="07:15",
    )

    # When they save
    response = client.post(PREFERENCES, data, follow=True)

    # Then the preferences are stored and shown
    preference = NotificationPreference.objects.get(user=world.consultant)
    assert not preference.sponsor_silent_email
    assert preference.sponsor_silent_in_app
    assert preference.email_on_weekends
    assert (preference.quiet_hours_start, preference.quiet_hours_end) == (time(21, 30), time(6, 45))
    assert (preference.reminder_lead, preference.digest_time) == ("4h", time(7, 15))
    html = response.content.decode()
    assert "Your notification preferences are saved." in html
    assert 'value="21:30"' in html


@pytest.mark.parametrize(
    ("given", "missing"), [("quiet_hours_start", "quiet_hours_end"), ("quiet_hours_end", "quiet_hours_start")]
)
def test_one_end_of_the_quiet_hours_is_an_error_that_keeps_what_was_typed(client, world, given, missing):
    # Given the consultant giving one end of the quiet hours and a new digest time
    client.force_login(world.consultant)
    data = _preferences_post(**{given: "22:15"}, digest_time="09:45")

    # When they save
    response = client.post(PREFERENCES, data)

    # Then the rule shows beside the missing end, what they typed is kept, and nothing is saved
    html = response.content.decode()
    assert response.status_code == 200
    errors = re.search(rf'id="id_{missing}_errors">(.*?)</div>', html, re.S)
    assert errors and "Give both ends of the quiet hours, or neither." in errors.group(1)
    assert 'value="22:15"' in html
    assert 'value="09:45"' in html
    assert not NotificationPreference.objects.filter(user=world.consultant).exists()


def test_a_malformed_time_is_a_field_error_that_keeps_the_other_input(client, world):
    client.force_login(world.consultant)
    response = client.post(PREFERENCES, _preferences_post(digest_time="25:99", quiet_hours_start="22:00"))
    html = response.content.decode()
    assert re.search(r'id="id_digest_time_errors">.*?Enter a valid time', html, re.S)
    assert 'value="25:99"' in html
    assert 'value="22:00"' in html


def test_saved_preferences_prefill_the_form(client, world):
    notification_preference_save(user=world.consultant, reminder_lead="2wd", check_in_missed_in_app=False)
    client.force_login(world.consultant)
    html = client.get(PREFERENCES).content.decode()
    assert '<option value="2wd" selected>' in html
    assert 'name="check_in_missed_in_app" id="id_check_in_missed_in_app">' in html


def test_the_preferences_are_linked_from_the_settings_and_the_list(client, world):
    client.force_login(world.consultant)
    assert f'href="{PREFERENCES}"' in client.get(reverse("account_settings")).content.decode()
    assert f'href="{PREFERENCES}"' in client.get(LIST).content.decode()
