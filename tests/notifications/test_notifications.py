"""Who is told what, and when: quiet hours, weekends, reminder leads and digest times in the
recipient's zone; recording notifications; and the services behind the bell and the preferences."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from engagements.models import Membership
from engagements.working_days import working_day_calendar
from notifications.models import IN_APP_ONLY_EVENTS, Notification, NotificationEvent, NotificationPreference
from notifications.selectors import notification_list, notification_unread_count, preference_for
from notifications.services import (
    NotificationDraft,
    notification_mark_read,
    notification_preference_save,
    notifications_mark_all_read,
    notifications_record,
)
from notifications.timing import (
    digest_last_slot,
    digest_slot,
    digest_window_key,
    email_allowed_from,
    email_allowed_until,
    email_is_held,
    reminder_time,
)
from tests import factories

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")
GERMANY = working_day_calendar(country="DE")
NOW = dt.datetime(2026, 3, 18, 9, 0, tzinfo=UTC)


def _prefs(**fields):
    return NotificationPreference(**fields)


def _night(**fields):
    """Quiet from 22:00 to 07:00, across midnight."""
    return _prefs(quiet_hours_start=time(22, 0), quiet_hours_end=time(7, 0), **fields)


def _at(zone, year, month, day, hour, minute):
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


# Quiet hours and weekends


@pytest.mark.parametrize(
    ("local", "held"),
    [
        ((2026, 3, 17, 21, 59), False),
        ((2026, 3, 17, 22, 0), True),
        ((2026, 3, 17, 23, 30), True),
        ((2026, 3, 18, 3, 0), True),
        ((2026, 3, 18, 6, 59), True),
        ((2026, 3, 18, 7, 0), False),
        ((2026, 3, 18, 12, 0), False),
    ],
)
def test_quiet_hours_across_midnight_hold_email_from_their_start_until_their_end(local, held):
    # Given quiet hours 22:00-07:00 in Berlin, then on a weekday email is held inside them only
    assert email_is_held(preference=_night(), zone=BERLIN, at=_at(BERLIN, *local)) is held


def test_email_held_at_night_may_go_when_the_quiet_hours_end_next_morning():
    # Given quiet hours 22:00-07:00 in Berlin, when something happens at 23:30 on a Tuesday
    allowed = email_allowed_from(preference=_night(), zone=BERLIN, at=_at(BERLIN, 2026, 3, 17, 23, 30))

    # Then its email may go at 07:00 Wednesday, Berlin time
    assert allowed == _at(BERLIN, 2026, 3, 18, 7, 0).astimezone(UTC)
    assert allowed.tzinfo == UTC


def test_a_weekend_kept_free_holds_email_until_the_night_after_it_ends_on_monday_morning():
    # Given weekends kept free and quiet hours 22:00-07:00, when something happens on Saturday morning
    allowed = email_allowed_from(preference=_night(), zone=BERLIN, at=_at(BERLIN, 2026, 3, 21, 10, 0))

    # Then Monday's small hours are quiet too, so its email goes at 07:00 Monday
    assert allowed == _at(BERLIN, 2026, 3, 23, 7, 0).astimezone(UTC)


def test_a_user_who_takes_email_on_weekends_is_mailed_on_saturday():
    # Given a user who takes email on weekends, when something happens on Saturday at 10:00
    saturday = _at(BERLIN, 2026, 3, 21, 10, 0)

    # Then nothing is held
    assert not email_is_held(preference=_prefs(email_on_weekends=True), zone=BERLIN, at=saturday)
    assert email_allowed_from(preference=_prefs(email_on_weekends=True), zone=BERLIN, at=saturday) == saturday
    assert email_is_held(preference=_prefs(), zone=BERLIN, at=saturday)


def test_weekends_are_the_users_own_saturday_not_utcs():
    # Given a New York user with weekends free: Friday 21:00 there is already Saturday in UTC
    friday_evening = _at(NEW_YORK, 2026, 3, 20, 21, 0)
    assert friday_evening.astimezone(UTC).weekday() == 5

    # Then it is still Friday for them, and email goes
    assert not email_is_held(preference=_prefs(), zone=NEW_YORK, at=friday_evening)


def test_email_allowed_until_steps_back_before_the_quiet_hours_begin():
    # Given quiet hours 22:00-07:00, when the latest moment before 06:30 Wednesday is asked for
    latest = email_allowed_until(preference=_night(), zone=BERLIN, at=_at(BERLIN, 2026, 3, 18, 6, 30))

    # Then it is a minute before the quiet hours began on Tuesday evening
    assert latest == _at(BERLIN, 2026, 3, 17, 21, 59).astimezone(UTC)


# Reminder lead


def _reminder(lead, due_at, zone=BERLIN, **fields):
    preference = _prefs(reminder_lead=lead, **fields)
    return reminder_time(preference=preference, zone=zone, due_at=due_at.astimezone(UTC), calendar=GERMANY)


Lead = NotificationPreference.ReminderLead


def test_the_default_lead_is_one_working_day():
    assert NotificationPreference().reminder_lead == Lead.ONE_WORKING_DAY


def test_a_lead_in_hours_is_that_many_hours_of_real_time():
    # Given a check-in due Wednesday 14:00 Berlin, then one hour and four hours before are 13:00 and 10:00
    due = _at(BERLIN, 2026, 3, 18, 14, 0)
    assert _reminder(Lead.ONE_HOUR, due) == _at(BERLIN, 2026, 3, 18, 13, 0).astimezone(UTC)
    assert _reminder(Lead.FOUR_HOURS, due) == _at(BERLIN, 2026, 3, 18, 10, 0).astimezone(UTC)


def test_four_hours_before_a_check_in_just_after_the_clocks_go_forward_is_four_real_hours():
    # Given a check-in at 05:00 Berlin on 29 March 2026, three hours after the clocks jumped to summer time
    due = _at(BERLIN, 2026, 3, 29, 5, 0)

    # Then the reminder comes four real hours earlier: 00:00 local on the clock, not 01:00
    reminder = _reminder(Lead.FOUR_HOURS, due, email_on_weekends=True)
    assert reminder == due.astimezone(UTC) - dt.timedelta(hours=4)
    assert reminder.astimezone(BERLIN).time() == time(0, 0)


def test_one_working_day_before_a_monday_check_in_is_the_friday_before_at_the_same_local_time():
    # Given a check-in due Monday 23 March 10:00 Berlin
    reminder = _reminder(Lead.ONE_WORKING_DAY, _at(BERLIN, 2026, 3, 23, 10, 0))

    # Then the weekend does not count: the reminder comes Friday 10:00
    assert reminder == _at(BERLIN, 2026, 3, 20, 10, 0).astimezone(UTC)


def test_working_days_skip_the_easter_public_holidays_of_the_calendar():
    # Given a check-in due Tuesday 7 April 2026 09:00 Berlin, after Good Friday and Easter Monday
    due = _at(BERLIN, 2026, 4, 7, 9, 0)

    # Then one working day before is Thursday 2 April and two are Wednesday 1 April, at 09:00
    assert _reminder(Lead.ONE_WORKING_DAY, due) == _at(BERLIN, 2026, 4, 2, 9, 0).astimezone(UTC)
    assert _reminder(Lead.TWO_WORKING_DAYS, due) == _at(BERLIN, 2026, 4, 1, 9, 0).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "due", "expected_utc"),
    [
        # Berlin springs forward on 29 March: Monday 09:00 CEST is 07:00 UTC, Friday 09:00 CET 08:00 UTC.
        (BERLIN, (2026, 3, 30, 9, 0), dt.datetime(2026, 3, 27, 8, 0, tzinfo=UTC)),
        # Berlin falls back on 25 October: Monday 09:00 CET is 08:00 UTC, Friday 09:00 CEST 07:00 UTC.
        (BERLIN, (2026, 10, 26, 9, 0), dt.datetime(2026, 10, 23, 7, 0, tzinfo=UTC)),
        # New York springs forward on Sunday 8 March.
        (NEW_YORK, (2026, 3, 9, 9, 0), dt.datetime(2026, 3, 6, 14, 0, tzinfo=UTC)),
        # New York falls back on Sunday 1 November.
        (NEW_YORK, (2026, 11, 2, 9, 0), dt.datetime(2026, 10, 30, 13, 0, tzinfo=UTC)),
        # Kolkata has no daylight saving: always UTC+05:30.
        (KOLKATA, (2026, 3, 30, 9, 0), dt.datetime(2026, 3, 27, 3, 30, tzinfo=UTC)),
    ],
    ids=["berlin-march", "berlin-october", "new-york-march", "new-york-november", "kolkata"],
)
def test_a_working_day_lead_over_a_clock_change_keeps_the_local_time(zone, due, expected_utc):
    # Given a Monday 09:00 check-in in the owner's zone, the weekend before it changing the clocks
    reminder = _reminder(Lead.ONE_WORKING_DAY, _at(zone, *due), zone=zone)

    # Then the reminder is the Friday at 09:00 local, which is a different UTC hour
    assert reminder == expected_utc
    assert reminder.astimezone(zone).time() == time(9, 0)


def test_a_reminder_that_falls_in_quiet_hours_comes_before_they_begin():
    # Given quiet hours 22:00-07:00 and a check-in due Wednesday 07:30, with a one-hour lead
    reminder = _reminder(
        Lead.ONE_HOUR, _at(BERLIN, 2026, 3, 18, 7, 30), quiet_hours_start=time(22), quiet_hours_end=time(7)
    )

    # Then it comes on Tuesday evening, a minute before the quiet hours, not in the night
    assert reminder == _at(BERLIN, 2026, 3, 17, 21, 59).astimezone(UTC)


def test_a_reminder_held_by_a_free_weekend_and_quiet_hours_comes_on_friday_evening():
    # Given weekends free, quiet hours 22:00-07:00, and a check-in Monday 07:30 with a one-hour lead
    reminder = _reminder(
        Lead.ONE_HOUR, _at(BERLIN, 2026, 3, 23, 7, 30), quiet_hours_start=time(22), quiet_hours_end=time(7)
    )

    # Then neither the weekend nor Friday night will do: it comes Friday 21:59
    assert reminder == _at(BERLIN, 2026, 3, 20, 21, 59).astimezone(UTC)


# Digest slots


def test_the_digest_comes_at_the_users_local_time_on_the_next_day_once_todays_has_passed():
    # Given a digest at 08:00, asked at 09:00 Wednesday Berlin, then the next is Thursday 08:00
    slot = digest_slot(preference=_prefs(), zone=BERLIN, at=_at(BERLIN, 2026, 3, 18, 9, 0))
    assert slot == _at(BERLIN, 2026, 3, 19, 8, 0).astimezone(UTC)

    # And asked at 07:00, it is today's
    assert digest_slot(preference=_prefs(), zone=BERLIN, at=_at(BERLIN, 2026, 3, 18, 7, 0)) == _at(
        BERLIN, 2026, 3, 18, 8, 0
    ).astimezone(UTC)


def test_a_weekend_kept_free_moves_fridays_late_digest_to_monday():
    # Given a digest at 08:00, asked Friday at 09:00
    friday = _at(BERLIN, 2026, 3, 20, 9, 0)

    # Then weekends kept free wait for Monday, weekends on take Saturday
    assert digest_slot(preference=_prefs(), zone=BERLIN, at=friday) == _at(
        BERLIN, 2026, 3, 23, 8, 0
    ).astimezone(UTC)
    assert digest_slot(preference=_prefs(email_on_weekends=True), zone=BERLIN, at=friday) == _at(
        BERLIN, 2026, 3, 21, 8, 0
    ).astimezone(UTC)


@pytest.mark.parametrize(
    ("zone", "friday", "monday_utc"),
    [
        (BERLIN, (2026, 3, 27, 9, 0), dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC)),
        (BERLIN, (2026, 10, 23, 9, 0), dt.datetime(2026, 10, 26, 7, 0, tzinfo=UTC)),
        (NEW_YORK, (2026, 3, 6, 9, 0), dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC)),
        (NEW_YORK, (2026, 10, 30, 9, 0), dt.datetime(2026, 11, 2, 13, 0, tzinfo=UTC)),
    ],
    ids=["berlin-march", "berlin-october", "new-york-march", "new-york-november"],
)
def test_the_digest_stays_at_eight_local_across_a_clock_change(zone, friday, monday_utc):
    # Given a digest at 08:00 and weekends free, asked on the Friday before a clock change
    slot = digest_slot(preference=_prefs(), zone=zone, at=_at(zone, *friday))

    # Then Monday's digest is at 08:00 local, which has moved in UTC
    assert slot == monday_utc
    assert slot.astimezone(zone).time() == time(8, 0)


def test_the_digest_due_is_the_latest_slot_passed_and_a_free_weekend_keeps_fridays():
    # Given a digest at 08:00 in Berlin
    # Then at 08:00 Wednesday it is Wednesday's, a minute before it Tuesday's
    wednesday = _at(BERLIN, 2026, 3, 18, 8, 0)
    assert digest_last_slot(preference=_prefs(), zone=BERLIN, at=wednesday) == wednesday.astimezone(UTC)
    assert digest_last_slot(preference=_prefs(), zone=BERLIN, at=wednesday - dt.timedelta(minutes=1)) == _at(
        BERLIN, 2026, 3, 17, 8, 0
    ).astimezone(UTC)

    # And on Monday morning after the clocks went forward, with weekends kept free, it is
    # Friday's (07:00 UTC); with weekends on, Sunday's (06:00 UTC, summer time)
    monday = _at(BERLIN, 2026, 3, 30, 7, 0)
    assert digest_last_slot(preference=_prefs(), zone=BERLIN, at=monday) == dt.datetime(
        2026, 3, 27, 7, 0, tzinfo=UTC
    )
    assert digest_last_slot(preference=_prefs(email_on_weekends=True), zone=BERLIN, at=monday) == dt.datetime(
        2026, 3, 29, 6, 0, tzinfo=UTC
    )


def test_a_kolkata_digest_is_half_past_two_utc_and_its_window_is_the_local_date():
    # Given a digest at 08:00 in Kolkata (UTC+05:30), asked at 08:30 local on Wednesday
    slot = digest_slot(preference=_prefs(), zone=KOLKATA, at=_at(KOLKATA, 2026, 3, 18, 8, 30))

    # Then the next is Thursday 02:30 UTC, and its window is named by Thursday's local date
    assert slot == dt.datetime(2026, 3, 19, 2, 30, tzinfo=UTC)
    assert digest_window_key(slot=slot, zone=KOLKATA) == "2026-03-19"


def test_a_digest_window_is_named_by_the_local_date_even_when_utc_is_still_on_the_day_before():
    # Given a slot at 23:00 UTC on 18 March: in Kolkata it is already 04:30 on the 19th
    assert digest_window_key(slot=dt.datetime(2026, 3, 18, 23, 0, tzinfo=UTC), zone=KOLKATA) == "2026-03-19"


# Recording notifications


def _draft(user, key="follow-up-1", event=NotificationEvent.FOLLOW_UP_OVERDUE, engagement=None):
    return NotificationDraft(
        recipient_id=user.pk,
        event=event,
        key=key,
        message="Approve the data migration plan is overdue",
        url="/follow-ups/",
        engagement_id=engagement.pk if engagement else None,
    )


def test_recording_honours_each_users_in_app_and_email_choice(db):
    # Given three users: defaults, email only for overdue follow-ups, and neither
    both, email_only, neither = factories.consultant(), factories.consultant(), factories.consultant()
    notification_preference_save(user=email_only, follow_up_overdue_in_app=False)
    notification_preference_save(user=neither, follow_up_overdue_in_app=False, follow_up_overdue_email=False)

    # When an overdue follow-up is recorded for each
    notifications_record(drafts=[_draft(u) for u in (both, email_only, neither)], as_of=NOW)

    # Then the rows say how each is told, and the one who wants nothing has no row
    rows = {n.recipient_id: (n.in_app, n.email) for n in Notification.objects.all()}
    assert rows == {both.pk: (True, True), email_only.pk: (False, True)}
    # And an email-only notification never shows under the bell
    assert notification_unread_count(user=email_only) == 0
    assert notification_unread_count(user=both) == 1


def test_recording_the_same_event_twice_tells_nobody_twice(db):
    # Given a consultant told once about an overdue follow-up
    user = factories.consultant()
    notifications_record(drafts=[_draft(user)], as_of=NOW)

    # When a sweep running again records the same event, and a different one
    notifications_record(
        drafts=[_draft(user), _draft(user, key="follow-up-2")], as_of=NOW + dt.timedelta(hours=1)
    )

    # Then there is one row per event, the first keeping its time
    assert sorted(Notification.objects.values_list("key", flat=True)) == ["follow-up-1", "follow-up-2"]
    assert Notification.objects.get(key="follow-up-1").created_at == NOW


def test_inactive_users_are_told_nothing(db):
    # Given a consultant who has left
    user = factories.consultant(is_active=False)

    # When an event is recorded for them, then nothing is
    notifications_record(drafts=[_draft(user)], as_of=NOW)
    assert not Notification.objects.exists()


@pytest.mark.parametrize("size", [3, 30])
def test_recording_costs_two_queries_whatever_the_number_of_drafts(db, django_assert_num_queries, size):
    # Given as many users as drafts
    users = [factories.consultant() for _ in range(size)]

    # Then recording costs the same two queries: recipients with preferences, one insert
    with django_assert_num_queries(2):
        notifications_record(drafts=[_draft(u) for u in users], as_of=NOW)
    assert Notification.objects.count() == size


# Marking read


def test_marking_a_notification_read_keeps_its_first_read_time(world):
    # Given an unread notification of the consultant
    notification = factories.make_notification(recipient=world.consultant, engagement=world.mine.engagement)

    # When it is marked read twice
    notification_mark_read(user=world.consultant, notification_id=notification.pk, as_of=NOW)
    again = notification_mark_read(
        user=world.consultant, notification_id=notification.pk, as_of=NOW + dt.timedelta(hours=1)
    )

    # Then it is read since the first time, and the bell no longer counts it
    assert again.read_at == NOW
    assert notification_unread_count(user=world.consultant) == 0


@pytest.mark.parametrize("who", ["lead", "administrator"])
def test_someone_elses_notification_cannot_be_marked_read(world, who):
    # Given the consultant's notification
    notification = factories.make_notification(recipient=world.consultant, engagement=world.mine.engagement)

    # When a teammate or an administrator tries to mark it read, then it is not found and stays unread
    with pytest.raises(Http404):
        notification_mark_read(user=getattr(world, who), notification_id=notification.pk, as_of=NOW)
    notification.refresh_from_db()
    assert notification.read_at is None


def test_marking_all_read_is_one_update_of_the_users_own_unread(world, django_assert_num_queries):
    # Given three unread and one read notification of the consultant, and one of the lead
    for _ in range(3):
        factories.make_notification(recipient=world.consultant)
    factories.make_notification(recipient=world.consultant, read_at=NOW - dt.timedelta(days=1))
    lead_notification = factories.make_notification(recipient=world.lead)

    # When the consultant marks all read
    with django_assert_num_queries(1):
        changed = notifications_mark_all_read(user=world.consultant, as_of=NOW)

    # Then the three changed, the earlier read time stays, and the lead's is untouched
    assert changed == 3
    assert notification_unread_count(user=world.consultant) == 0
    read_times = Notification.objects.filter(recipient=world.consultant).values_list("read_at", flat=True)
    assert sorted(t for t in read_times if t is not None) == [
        NOW - dt.timedelta(days=1),
        NOW,
        NOW,
        NOW,
    ]
    lead_notification.refresh_from_db()
    assert lead_notification.read_at is None
    # And a second call changes nothing
    assert notifications_mark_all_read(user=world.consultant, as_of=NOW) == 0


# Scoping


def test_notifications_are_their_recipients_alone_administrators_included(world):
    # Given a notification for the consultant and one for the administrator
    mine = factories.make_notification(recipient=world.consultant, engagement=world.mine.engagement)
    admins = factories.make_notification(recipient=world.administrator)

    # Then each sees only their own, the administrator too
    for role, user in world.users().items():
        expected = (
            {mine.pk} if user == world.consultant else {admins.pk} if user == world.administrator else set()
        )
        assert set(Notification.objects.visible_to(user).values_list("pk", flat=True)) == expected, role
        assert set(notification_list(user=user).values_list("pk", flat=True)) == expected, role


def test_a_notification_about_an_engagement_the_user_left_is_no_longer_shown(world):
    # Given the consultant's notifications about their engagement and about nothing in particular
    about_engagement = factories.make_notification(
        recipient=world.consultant, engagement=world.mine.engagement
    )
    general = factories.make_notification(recipient=world.consultant)

    # When they leave the engagement's team
    Membership.objects.filter(engagement=world.mine.engagement, user=world.consultant).delete()

    # Then only the general one is shown and counted
    assert list(notification_list(user=world.consultant)) == [general]
    assert notification_unread_count(user=world.consultant) == 1
    assert about_engagement.pk not in set(
        Notification.objects.visible_to(world.consultant).values_list("pk", flat=True)
    )


def test_inactive_and_anonymous_users_see_no_notifications(world):
    from django.contrib.auth.models import AnonymousUser

    factories.make_notification(recipient=world.consultant)
    world.consultant.is_active = False
    assert not Notification.objects.visible_to(world.consultant).exists()
    assert not Notification.objects.visible_to(AnonymousUser()).exists()


def test_notification_preferences_are_their_users_and_administrators_see_all(world):
    # Given saved preferences of the consultant and the lead
    consultant_prefs = notification_preference_save(user=world.consultant, email_on_weekends=True)
    lead_prefs = notification_preference_save(user=world.lead, digest_time=time(9, 0))

    # Then each user sees their own, administrators see both, nobody else any
    for role, user in world.users().items():
        shown = set(NotificationPreference.objects.visible_to(user).values_list("pk", flat=True))
        if role == "administrator":
            assert shown == {consultant_prefs.pk, lead_prefs.pk}
        elif user == world.consultant:
            assert shown == {consultant_prefs.pk}
        elif user == world.lead:
            assert shown == {lead_prefs.pk}
        else:
            assert shown == set(), role


# Preferences


def test_a_user_who_never_saved_preferences_has_the_defaults(db):
    user = factories.consultant()
    preference = preference_for(user=user)
    assert preference.pk is None
    assert (preference.reminder_lead, preference.digest_time, preference.email_on_weekends) == (
        Lead.ONE_WORKING_DAY,
        time(8, 0),
        False,
    )
    assert all(preference.wants(event, "in_app") for event in NotificationEvent)
    assert all(
        preference.wants(event, "email") != (event in IN_APP_ONLY_EVENTS) for event in NotificationEvent
    )


def test_saving_preferences_creates_the_row_once_and_then_changes_it(db):
    # Given a user saving twice
    user = factories.consultant()
    first = notification_preference_save(user=user, reminder_lead=Lead.FOUR_HOURS, sponsor_silent_email=False)
    second = notification_preference_save(user=user, quiet_hours_start=time(22), quiet_hours_end=time(7))

    # Then there is one row with both changes
    assert first.pk == second.pk
    assert NotificationPreference.objects.filter(user=user).count() == 1
    saved = preference_for(user=user)
    assert (saved.reminder_lead, saved.sponsor_silent_email, saved.quiet_hours_start) == (
        Lead.FOUR_HOURS,
        False,
        time(22),
    )


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"quiet_hours_start": time(22)}, "quiet_hours_end"),
        ({"quiet_hours_end": time(7)}, "quiet_hours_start"),
    ],
)
def test_one_end_of_the_quiet_hours_is_an_error_on_the_missing_end(db, given, missing):
    # Given a user giving only one end of the quiet hours
    user = factories.consultant()

    # Then it is refused on the missing field, with the rule's words, and nothing is saved
    with pytest.raises(ValidationError) as refused:
        notification_preference_save(user=user, **given)
    assert refused.value.message_dict == {missing: ["Give both ends of the quiet hours, or neither."]}
    assert not NotificationPreference.objects.filter(user=user).exists()


def test_an_unknown_reminder_lead_is_a_field_error(db):
    with pytest.raises(ValidationError) as refused:
        notification_preference_save(user=factories.consultant(), reminder_lead="3d")
    assert set(refused.value.message_dict) == {"reminder_lead"}
