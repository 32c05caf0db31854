"""Weekly roll-ups: what a week holds after each change, where weeks begin, and the sweep."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communications.models import ConsultantWeeklyRollup, FollowUp, Occurrence, Sentiment, WeeklyRollup
from communications.rollups import week_bounds, week_start_of, weekly_rollups_refresh, weekly_rollups_sweep
from communications.scheduling import occurrences_mark_missed
from communications.services import FollowUpSpec, follow_up_complete
from engagements.models import Membership
from engagements.services import membership_add
from tests import factories

pytestmark = pytest.mark.django_db

# A Wednesday; its week in Berlin began on Monday 9 March 2026.
NOW = dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC)
MONDAY = dt.date(2026, 3, 9)


def _week(engagement, week=MONDAY) -> WeeklyRollup:
    return WeeklyRollup.objects.get(engagement=engagement, week_start=week)


def _plan(**client):
    client_row = factories.make_client(**client)
    lead = factories.consultant()
    engagement = factories.make_engagement(client=client_row, lead=lead)
    role = factories.make_role(engagement=engagement)
    channel = factories.make_channel(role=role, owner=lead)
    return engagement, role, channel, lead


def test_logging_a_check_in_counts_the_meeting_and_its_sentiment_in_its_week(time_machine):
    # Given an engagement whose Tuesday 09:00 meeting, planned on Monday, is due in the week of 9 March
    time_machine.move_to(dt.datetime(2026, 3, 9, 6, 0, tzinfo=dt.UTC))
    engagement, role, channel, lead = _plan()
    time_machine.move_to(NOW)

    # When two check-ins are logged that week, one of them against the plan
    factories.make_check_in(
        engagement=engagement,
        attendees=[role.stakeholder],
        actor=lead,
        channel=channel,
        occurred_at=dt.datetime(2026, 3, 10, 8, 30, tzinfo=dt.UTC),
        sentiment=Sentiment.POSITIVE,
        as_of=NOW,
    )
    factories.make_check_in(
        engagement=engagement,
        attendees=[role.stakeholder],
        actor=lead,
        occurred_at=dt.datetime(2026, 3, 11, 9, 0, tzinfo=dt.UTC),
        sentiment=Sentiment.VERY_NEGATIVE,
        covers=[],
        as_of=NOW,
    )

    # Then the week holds two meetings, their sentiment, and one planned meeting held on time
    week = _week(engagement)
    assert (week.meetings, week.sentiment_sum, week.sentiment_count) == (2, -1, 2)
    assert (week.occurrences_planned, week.occurrences_due, week.occurrences_held) == (1, 1, 1)
    assert (week.occurrences_held_on_time, week.occurrences_missed) == (1, 0)


def test_a_missed_occurrence_is_counted_when_the_sweep_marks_it(time_machine):
    # Given the meeting of Tuesday 10 March, due and never held
    time_machine.move_to(NOW)
    engagement, _role, channel, _lead = _plan()
    due_at = dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC)
    factories.make_occurrence(channel=channel, due_at=due_at, outcome="due")
    weekly_rollups_refresh(engagement_ids=[engagement.pk], weeks=[MONDAY], as_of=NOW)
    assert _week(engagement).occurrences_missed == 0

    # When the missed sweep runs after the grace period ran out
    later = due_at + channel.grace_period + dt.timedelta(hours=1)
    assert occurrences_mark_missed(as_of=later) == 1

    # Then its week shows it missed, due and not held
    week = _week(engagement)
    assert (week.occurrences_planned, week.occurrences_due) == (1, 1)
    assert (week.occurrences_missed, week.occurrences_held, week.occurrences_held_on_time) == (1, 0, 0)


def test_overdue_follow_ups_are_counted_as_they_stood_when_each_week_ended(time_machine):
    # Given a follow-up due on Friday 6 March, still open in the week of 9 March
    time_machine.move_to(NOW)
    engagement, _role, _channel, lead = _plan()
    follow_up = factories.make_follow_up(
        engagement=engagement, owner_user=lead, due_at=dt.datetime(2026, 3, 6, 16, 0, tzinfo=dt.UTC)
    )
    weeks = [dt.date(2026, 3, 2), MONDAY]
    weekly_rollups_refresh(engagement_ids=[engagement.pk], weeks=weeks, as_of=NOW)
    assert [_week(engagement, w).overdue_follow_ups for w in weeks] == [1, 1]

    # When it is completed on Wednesday 11 March
    follow_up_complete(actor=lead, follow_up=follow_up, as_of=NOW)

    # Then this week no longer counts it, and the week it went overdue in still does
    weekly_rollups_refresh(engagement_ids=[engagement.pk], weeks=weeks, as_of=NOW + dt.timedelta(hours=1))
    assert [_week(engagement, w).overdue_follow_ups for w in weeks] == [1, 0]
    assert FollowUp.objects.get(pk=follow_up.pk).status == FollowUp.Status.DONE


def test_weeks_begin_on_monday_midnight_in_the_clients_zone_across_a_clock_change(time_machine):
    # Given a Berlin client; clocks went forward on Sunday 29 March 2026, so that week is 167 hours long
    time_machine.move_to(dt.datetime(2026, 4, 8, 12, 0, tzinfo=dt.UTC))
    engagement, role, _channel, lead = _plan(time_zone="Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    start, end = week_bounds(dt.date(2026, 3, 23), berlin)
    assert end.astimezone(dt.UTC) - start.astimezone(dt.UTC) == dt.timedelta(hours=167)

    # When meetings are logged just either side of Monday 00:00 Berlin time, before and after the change
    moments = [
        dt.datetime(2026, 3, 22, 22, 30, tzinfo=dt.UTC),  # Sunday 23:30 CET: week of 16 March
        dt.datetime(2026, 3, 22, 23, 30, tzinfo=dt.UTC),  # Monday 00:30 CET: week of 23 March
        dt.datetime(2026, 3, 29, 21, 30, tzinfo=dt.UTC),  # Sunday 23:30 CEST: week of 23 March
        dt.datetime(2026, 3, 29, 22, 30, tzinfo=dt.UTC),  # Monday 00:30 CEST: week of 30 March
    ]
    for moment in moments:
        factories.make_check_in(
            engagement=engagement, attendees=[role.stakeholder], actor=lead, occurred_at=moment, covers=[]
        )

    # Then each lands in its local week, which a UTC week would have got wrong twice
    assert [week_start_of(m, berlin) for m in moments] == [
        dt.date(2026, 3, 16),
        dt.date(2026, 3, 23),
        dt.date(2026, 3, 23),
        dt.date(2026, 3, 30),
    ]
    meetings = dict(WeeklyRollup.objects.filter(engagement=engagement).values_list("week_start", "meetings"))
    assert meetings == {dt.date(2026, 3, 16): 1, dt.date(2026, 3, 23): 2, dt.date(2026, 3, 30): 1}


def test_the_sweep_writes_this_week_and_last_and_a_second_run_changes_nothing(time_machine):
    # Given two engagements in different zones with a history of check-ins
    time_machine.move_to(NOW)
    first, role, channel, lead = _plan(time_zone="America/New_York")
    second, *_ = _plan(time_zone="Asia/Tokyo")
    factories.make_occurrence(channel=channel, due_at=dt.datetime(2026, 3, 3, 14, 0, tzinfo=dt.UTC))
    WeeklyRollup.objects.all().delete()

    # When the sweep runs twice
    assert weekly_rollups_sweep(as_of=NOW) == 4
    before = list(WeeklyRollup.objects.order_by("engagement_id", "week_start").values())
    assert weekly_rollups_sweep(as_of=NOW) == 4

    # Then each engagement has exactly this week and last, unchanged by the rerun
    after = list(WeeklyRollup.objects.order_by("engagement_id", "week_start").values())
    assert [(row["engagement_id"], row["week_start"]) for row in after] == [
        (first.pk, dt.date(2026, 3, 2)),
        (first.pk, MONDAY),
        (second.pk, dt.date(2026, 3, 2)),
        (second.pk, MONDAY),
    ]
    assert before == after
    assert _week(first, dt.date(2026, 3, 2)).occurrences_held_on_time == 1


@pytest.mark.parametrize("engagements", [2, 6])
def test_the_sweep_runs_a_fixed_number_of_queries_per_batch(time_machine, engagements):
    # Given a number of engagements with a check-in each
    time_machine.move_to(NOW)
    for _ in range(engagements):
        engagement, role, _channel, lead = _plan()
        factories.make_check_in(engagement=engagement, attendees=[role.stakeholder], actor=lead, covers=[])

    # When the sweep runs in batches of 50, then it costs the same whatever their number:
    # the batch read, zones, check-ins, who took part (attended, logged), occurrences, two overdue
    # counts, the person rows replaced (delete, insert) and the upsert
    with CaptureQueriesContext(connection) as queries:
        weekly_rollups_sweep(as_of=NOW, batch_size=50)
    assert len(queries) == 11
    assert WeeklyRollup.objects.count() == 2 * engagements
    assert ConsultantWeeklyRollup.objects.filter(meetings=1).count() == engagements


def test_a_persons_row_goes_when_they_no_longer_took_part(time_machine):
    # Given a meeting the lead logged and a colleague attended, rolled up
    time_machine.move_to(NOW)
    engagement, role, _channel, lead = _plan()
    colleague = factories.consultant()
    membership_add(actor=lead, engagement=engagement, user=colleague, role=Membership.Role.CONSULTANT)
    check_in = factories.make_check_in(
        engagement=engagement, attendees=[role.stakeholder], actor=lead, team_attendees=[colleague], covers=[]
    )
    rows = ConsultantWeeklyRollup.objects.filter(engagement=engagement, meetings=1)
    assert set(rows.values_list("user_id", flat=True)) == {lead.pk, colleague.pk}

    # When the colleague turns out not to have been there, and the week is rolled up again
    check_in.team_attendees.clear()
    weekly_rollups_refresh(engagement_ids=[engagement.pk], moments=[NOW], as_of=NOW)

    # Then only the lead, who logged it, has a meeting that week
    assert set(rows.values_list("user_id", flat=True)) == {lead.pk}


def test_a_cancelled_occurrence_is_not_planned(time_machine):
    # Given one held and one cancelled occurrence in the week
    time_machine.move_to(NOW)
    engagement, _role, channel, _lead = _plan()
    factories.make_occurrence(channel=channel, due_at=dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.UTC))
    Occurrence.objects.create(
        channel=channel, due_at=dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC), status="cancelled"
    )

    # When the week is refreshed, then only the held one counts
    weekly_rollups_refresh(engagement_ids=[engagement.pk], weeks=[MONDAY], as_of=NOW)
    assert (_week(engagement).occurrences_planned, _week(engagement).occurrences_held) == (1, 1)


def test_a_follow_up_logged_already_overdue_counts_in_every_week_since_it_fell_due(time_machine):
    # Given a check-in logged on Wednesday 11 March for a meeting of 24 February,
    # with a follow-up agreed for 27 February and never done
    time_machine.move_to(NOW)
    engagement, role, _channel, lead = _plan()
    factories.make_check_in(
        engagement=engagement,
        attendees=[role.stakeholder],
        actor=lead,
        occurred_at=dt.datetime(2026, 2, 24, 10, 0, tzinfo=dt.UTC),
        covers=[],
        as_of=NOW,
        follow_ups=[
            FollowUpSpec(
                title="Send the minutes",
                due_at=dt.datetime(2026, 2, 27, 16, 0, tzinfo=dt.UTC),
                owner_user=lead,
            )
        ],
    )

    # Then it is overdue at the end of that week, the next, and this one so far
    overdue = dict(
        WeeklyRollup.objects.filter(engagement=engagement).values_list("week_start", "overdue_follow_ups")
    )
    assert overdue == {dt.date(2026, 2, 23): 1, dt.date(2026, 3, 2): 1, MONDAY: 1}
