from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from accounts.models import User
from communications import services
from communications.models import Channel, FollowUp, SilenceFlag
from communications.silence import channel_interval, silence_follow_up_title, silences_flag
from engagements.models import Engagement
from notifications.models import Notification, NotificationEvent
from stakeholders.models import StakeholderRole
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# Monday 5 January 2026: the plan is set up; its first meeting is Tuesday 6 January at 09:00 UTC.
SET_UP = dt.datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
FIRST_MEETING = dt.datetime(2026, 1, 6, 9, 0, tzinfo=UTC)
WEEKLY = "FREQ=WEEKLY;BYDAY=TU"
# 1.5 × 7 days.
WEEKLY_ALLOWANCE = dt.timedelta(days=10, hours=12)


def _sponsor(
    *,
    rule: str = WEEKLY,
    kind: str = StakeholderRole.Kind.SPONSOR,
    owner: User | None = None,
    channel_owner: User | None = None,
    lead: User | None = None,
    name: str = "Dr Anna Weber",
    engagement: Engagement | None = None,
) -> tuple[StakeholderRole, Channel]:
    """A sponsor on an active engagement with one planned channel, all set up on SET_UP."""
    with time_machine.travel(SET_UP, tick=False):
        if engagement is None:
            lead = lead or factories.consultant()
            engagement = factories.make_engagement(lead=lead)
        stakeholder = factories.make_stakeholder(client=engagement.client, name=name)
        role = factories.make_role(
            engagement=engagement, stakeholder=stakeholder, kind=kind, relationship_owner=owner
        )
        channel_owner = channel_owner or lead or engagement.memberships.get().user
        channel = factories.make_channel(
            role=role, owner=channel_owner, recurrence_rule=rule, starts_on=dt.date(2026, 1, 6)
        )
    return role, channel


def _check_in(
    role: StakeholderRole, at: dt.datetime, *, attendees: list[Any] | None = None, **kwargs: Any
) -> Any:
    actor = role.engagement.memberships.first().user  # type: ignore[union-attr]
    return factories.make_check_in(
        engagement=role.engagement,
        attendees=attendees if attendees is not None else [role.stakeholder],
        actor=actor,
        occurred_at=at,
        as_of=at,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("rule", "days"),
    [
        pytest.param("FREQ=WEEKLY;BYDAY=TU", 7, id="weekly"),
        pytest.param("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", 14, id="every-other-week"),
        pytest.param("FREQ=MONTHLY;BYDAY=1TU", 35, id="first-tuesday-of-the-month"),
        pytest.param("FREQ=MONTHLY;BYMONTHDAY=1", 31, id="first-of-the-month"),
        pytest.param("FREQ=WEEKLY;BYDAY=MO,TH", 4, id="monday-and-thursday"),
    ],
)
def test_planned_interval_is_the_longest_gap_the_rule_leaves(rule, days):
    # Given a cadence, when its planned interval is measured
    interval = channel_interval(rule=rule, starts_on=dt.date(2026, 1, 6), local_time=dt.time(9, 0))

    # Then it is the longest wait between two planned meetings
    assert interval == dt.timedelta(days=days)


def test_a_rule_with_one_occurrence_has_no_interval():
    assert (
        channel_interval(rule="FREQ=WEEKLY;COUNT=1", starts_on=dt.date(2026, 1, 6), local_time=dt.time(9))
        is None
    )


def test_sponsor_is_flagged_only_after_one_and_a_half_weekly_intervals_without_a_check_in():
    # Given a weekly sponsor last seen at the first meeting
    lead = factories.consultant()
    role, _ = _sponsor(owner=lead, lead=lead)
    _check_in(role, FIRST_MEETING)

    # When the sweep runs just inside the allowance, then nothing is raised
    assert silences_flag(as_of=FIRST_MEETING + WEEKLY_ALLOWANCE) == 0
    assert not SilenceFlag.objects.exists()

    # When it runs just past it, then one flag is raised with what it was measured against
    as_of = FIRST_MEETING + WEEKLY_ALLOWANCE + dt.timedelta(minutes=1)
    assert silences_flag(as_of=as_of) == 1
    flag = SilenceFlag.objects.get()
    assert (flag.engagement, flag.stakeholder) == (role.engagement, role.stakeholder)
    assert flag.last_contact_at == FIRST_MEETING
    assert flag.allowed_silence == WEEKLY_ALLOWANCE
    assert flag.raised_at == as_of
    assert flag.cleared_at is None


def test_flag_comes_with_a_follow_up_for_the_relationship_owner_due_next_working_day():
    # Given a sponsor owned by a consultant who is not the channel's owner, silent since the first meeting
    lead = factories.consultant()
    owner = factories.consultant()
    with time_machine.travel(SET_UP, tick=False):
        engagement = factories.make_engagement(lead=lead, members=(owner,))
    role, _ = _sponsor(engagement=engagement, owner=owner, channel_owner=lead)
    _check_in(role, FIRST_MEETING)

    # When the sweep runs on Friday 23 January 2026, 17 days later
    friday = dt.datetime(2026, 1, 23, 10, 0, tzinfo=UTC)
    silences_flag(as_of=friday)

    # Then the relationship owner has a follow-up saying who and for how long, due by the end of Monday
    flag = SilenceFlag.objects.select_related("follow_up").get()
    follow_up = flag.follow_up
    assert follow_up is not None
    assert follow_up.owner_user == owner
    assert follow_up.created_by is None
    assert follow_up.status == FollowUp.Status.OPEN
    assert follow_up.title == (
        "Get back in touch with Dr Anna Weber (sponsor): no check-in for over 2 weeks, expected weekly"
    )
    assert follow_up.due_at == dt.datetime(2026, 1, 26, 16, 0, tzinfo=UTC)  # 17:00 in Berlin


def test_the_follow_up_is_due_one_working_day_later_on_the_clients_calendar():
    # Given a sponsor of a Berlin client, silent since the first meeting
    lead = factories.consultant()
    role, _ = _sponsor(owner=lead, lead=lead)
    _check_in(role, FIRST_MEETING)

    # When the sweep runs on Thursday 22 January 2026 at 23:30 UTC, already Friday 00:30 in Berlin
    silences_flag(as_of=dt.datetime(2026, 1, 22, 23, 30, tzinfo=UTC))

    # Then the day counted from is Berlin's Friday: due by the end of Monday in Berlin (17:00),
    # not by the end of Friday as counting from UTC's Thursday would give
    follow_up = SilenceFlag.objects.select_related("follow_up").get().follow_up
    assert follow_up is not None
    assert follow_up.due_at == dt.datetime(2026, 1, 26, 16, 0, tzinfo=UTC)


def test_the_follow_up_is_due_at_the_end_of_the_next_local_working_day_past_a_regional_holiday():
    # Given a sponsor of an English client (London), silent since the first meeting
    lead = factories.consultant()
    with time_machine.travel(SET_UP, tick=False):
        client = factories.make_client(country="GB", time_zone="Europe/London")
        engagement = factories.make_engagement(client=client, lead=lead)
    role, _ = _sponsor(engagement=engagement, owner=lead)
    _check_in(role, FIRST_MEETING)

    # When the sweep runs late on Friday 28 August 2026, 22:30 in London
    silences_flag(as_of=dt.datetime(2026, 8, 28, 21, 30, tzinfo=UTC))

    # Then the August bank holiday (Monday 31, England only) does not count:
    # due by the end of Tuesday 1 September, 17:00 in London
    follow_up = SilenceFlag.objects.select_related("follow_up").get().follow_up
    assert follow_up is not None
    assert follow_up.due_at == dt.datetime(2026, 9, 1, 16, 0, tzinfo=UTC)


def test_owner_is_told_in_app_with_a_link_to_the_engagement():
    # Given a silent sponsor
    lead = factories.consultant()
    role, _ = _sponsor(owner=lead, lead=lead)

    # When the sweep raises the flag
    as_of = dt.datetime(2026, 1, 23, 10, 0, tzinfo=UTC)
    silences_flag(as_of=as_of)

    # Then the owner has one notification of the event, pointing at the engagement overview
    flag = SilenceFlag.objects.get()
    notification = Notification.objects.get()
    assert notification.recipient == lead
    assert notification.event == NotificationEvent.SPONSOR_SILENT
    assert notification.key == f"silence:{flag.pk}"
    assert notification.url == reverse("engagement_detail", args=[role.engagement_id]) + "#gone-quiet"
    assert notification.engagement_id == role.engagement_id
    assert "Dr Anna Weber" in notification.message


def test_a_larger_factor_in_settings_allows_a_longer_silence(settings):
    # Given k = 2 and a weekly sponsor seen at the first meeting
    settings.SPONSOR_SILENCE_FACTOR = 2.0
    role, _ = _sponsor()
    _check_in(role, FIRST_MEETING)

    # When 11 days pass, then the default 1.5 would flag, but 2 does not
    assert silences_flag(as_of=FIRST_MEETING + dt.timedelta(days=11)) == 0

    # When 14 days and a minute pass, then the flag is raised with the longer allowance
    assert silences_flag(as_of=FIRST_MEETING + dt.timedelta(days=14, minutes=1)) == 1
    assert SilenceFlag.objects.get().allowed_silence == dt.timedelta(days=14)


def test_never_contacted_sponsor_is_measured_from_the_start_of_the_plan():
    # Given a sponsor never met, whose plan begins on 6 January
    role, _ = _sponsor()

    # When the sweep runs 10 days into the plan, then nothing is raised: the plan is young
    assert silences_flag(as_of=FIRST_MEETING + dt.timedelta(days=10)) == 0

    # When it runs past the allowance from the plan's start, then the flag says no contact ever
    assert silences_flag(as_of=FIRST_MEETING + WEEKLY_ALLOWANCE + dt.timedelta(hours=1)) == 1
    flag = SilenceFlag.objects.get()
    assert flag.last_contact_at is None
    assert flag.follow_up is not None
    assert "no check-in for 11 days" in flag.follow_up.title


def test_a_sponsor_added_after_the_plan_began_is_measured_from_when_they_joined():
    # Given a plan running since January and a new sponsor added on 1 March
    lead = factories.consultant()
    first, _ = _sponsor(lead=lead, owner=lead)
    with time_machine.travel(dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC), tick=False):
        late = factories.make_role(
            engagement=first.engagement, kind=StakeholderRole.Kind.SPONSOR, relationship_owner=lead
        )
        factories.make_channel(role=late, owner=lead, recurrence_rule=WEEKLY, starts_on=dt.date(2026, 1, 6))
    _check_in(first, dt.datetime(2026, 3, 3, 9, 0, tzinfo=UTC))

    # When the sweep runs on 5 March, then the newcomer is not flagged for a silence before they joined
    assert silences_flag(as_of=dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC)) == 0


def test_pmo_lead_is_watched_and_a_business_leader_is_not():
    # Given a PMO lead and a business leader on the same engagement, neither ever met
    lead = factories.consultant()
    pmo, _ = _sponsor(kind=StakeholderRole.Kind.PMO_LEAD, lead=lead, owner=lead, name="Ben Ortiz")
    _sponsor(kind=StakeholderRole.Kind.BUSINESS_LEADER, engagement=pmo.engagement, name="Cara Li")

    # When the sweep runs a month in
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # Then only the PMO lead is flagged, and the follow-up names their role
    flag = SilenceFlag.objects.select_related("follow_up").get()
    assert flag.stakeholder == pmo.stakeholder
    assert flag.follow_up is not None
    assert "Ben Ortiz (pmo lead)" in flag.follow_up.title


def test_the_shortest_cadence_of_several_channels_sets_the_allowance():
    # Given a sponsor with a monthly steering committee and a fortnightly one-to-one
    lead = factories.consultant()
    role, _ = _sponsor(rule="FREQ=MONTHLY;BYDAY=1TU", lead=lead, owner=lead)
    with time_machine.travel(SET_UP, tick=False):
        factories.make_channel(
            role=role,
            owner=lead,
            recurrence_rule="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
            starts_on=dt.date(2026, 1, 6),
        )
    # (the first steering committee and one-to-one fall on the same Tuesday: it held both)
    _check_in(role, FIRST_MEETING, covers=list(role.stakeholder.channels.all()))

    # When 22 days pass (past 1.5 × 14, well inside 1.5 × 35)
    silences_flag(as_of=FIRST_MEETING + dt.timedelta(days=22))

    # Then the fortnightly cadence decided
    assert SilenceFlag.objects.get().allowed_silence == dt.timedelta(days=21)


def test_without_a_relationship_owner_the_channel_owner_gets_the_follow_up():
    # Given a sponsor nobody owns, planned by a consultant of the team
    lead = factories.consultant()
    planner = factories.consultant()
    with time_machine.travel(SET_UP, tick=False):
        engagement = factories.make_engagement(lead=lead, members=(planner,))
    _sponsor(engagement=engagement, channel_owner=planner)

    # When the sweep flags them
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # Then the channel's owner holds the follow-up
    assert FollowUp.objects.get().owner_user == planner


def test_without_an_active_owner_or_planner_an_engagement_lead_gets_the_follow_up():
    # Given a sponsor whose relationship owner and channel owner have both left
    lead = factories.consultant()
    gone = factories.consultant()
    with time_machine.travel(SET_UP, tick=False):
        engagement = factories.make_engagement(lead=lead, members=(gone,))
    _sponsor(engagement=engagement, owner=gone, channel_owner=gone)
    User.objects.filter(pk=gone.pk).update(is_active=False)

    # When the sweep flags them
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # Then the engagement lead holds the follow-up and is told
    assert FollowUp.objects.get().owner_user == lead
    assert Notification.objects.get().recipient == lead


def test_sweep_run_twice_raises_one_flag_one_follow_up_and_one_notification():
    # Given a silent sponsor
    _sponsor()
    as_of = dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC)

    # When the sweep runs, then again, then a minute later
    first = silences_flag(as_of=as_of)
    again = silences_flag(as_of=as_of)
    later = silences_flag(as_of=as_of + dt.timedelta(minutes=1))

    # Then the person has one flag, one follow-up and one notification
    assert (first, again, later) == (1, 0, 0)
    assert SilenceFlag.objects.count() == 1
    assert FollowUp.objects.count() == 1
    assert Notification.objects.count() == 1


def test_flag_inserted_by_a_concurrent_sweep_is_not_raised_again():
    # Given a flag another sweep already inserted for the person
    role, _ = _sponsor()
    as_of = dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC)
    SilenceFlag.objects.create(
        engagement=role.engagement,
        stakeholder=role.stakeholder,
        raised_at=as_of - dt.timedelta(minutes=1),
        allowed_silence=WEEKLY_ALLOWANCE,
    )

    # When this sweep runs, then it adds nothing beside it
    assert silences_flag(as_of=as_of) == 0
    assert SilenceFlag.objects.count() == 1
    assert not FollowUp.objects.exists()


def test_check_in_with_the_person_clears_the_flag_and_completes_the_follow_up():
    # Given a flagged sponsor
    lead = factories.consultant()
    role, _ = _sponsor(lead=lead, owner=lead)
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # When the lead logs a call with them
    met = dt.datetime(2026, 2, 9, 15, 0, tzinfo=UTC)
    check_in = _check_in(role, met)

    # Then the flag is cleared by that check-in and the follow-up is done by the lead
    flag = SilenceFlag.objects.select_related("follow_up").get()
    assert flag.cleared_at == met
    assert flag.cleared_by_check_in == check_in
    assert flag.follow_up is not None
    assert flag.follow_up.status == FollowUp.Status.DONE
    assert flag.follow_up.completed_by == lead
    assert flag.follow_up.completed_at == met

    # And the next sweep does not raise it again
    assert silences_flag(as_of=met + dt.timedelta(hours=1)) == 0


def test_check_in_without_the_person_leaves_the_flag_open():
    # Given a flagged sponsor and a colleague of theirs on the engagement
    lead = factories.consultant()
    role, _ = _sponsor(lead=lead, owner=lead)
    colleague = factories.make_role(engagement=role.engagement, kind=StakeholderRole.Kind.TEAM_MEMBER)
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # When a check-in is logged with the colleague only
    _check_in(role, dt.datetime(2026, 2, 9, 15, 0, tzinfo=UTC), attendees=[colleague.stakeholder])

    # Then the sponsor's flag and follow-up stay open
    flag = SilenceFlag.objects.select_related("follow_up").get()
    assert flag.cleared_at is None
    assert flag.follow_up is not None
    assert flag.follow_up.status == FollowUp.Status.OPEN


def test_a_late_logged_check_in_clears_the_flag_when_it_is_newer_than_the_last_contact():
    # Given a sponsor flagged on 6 February, last seen on 6 January
    role, _ = _sponsor()
    _check_in(role, FIRST_MEETING)
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # When a call of 2 February is logged afterwards
    _check_in(role, dt.datetime(2026, 2, 2, 9, 0, tzinfo=UTC))

    # Then it is news, and clears the flag
    assert SilenceFlag.objects.get().cleared_at == dt.datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


def test_a_check_in_older_than_the_last_contact_does_not_clear_the_flag():
    # Given a sponsor flagged on 6 February, last seen on 6 January
    role, _ = _sponsor()
    _check_in(role, FIRST_MEETING)
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # When a December call is logged for the record
    _check_in(role, dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC))

    # Then the silence since January is still open
    assert SilenceFlag.objects.get().cleared_at is None


def test_a_check_in_logged_too_late_to_end_the_silence_keeps_the_one_flag_open():
    # Given a sponsor flagged on 6 February, last seen on 6 January
    lead = factories.consultant()
    role, _ = _sponsor(lead=lead, owner=lead)
    _check_in(role, FIRST_MEETING)
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # When a call of 2 February is logged on 14 February, 12 days later (more than the 10.5 allowed)
    logged = dt.datetime(2026, 2, 14, 9, 0, tzinfo=UTC)
    met = dt.datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
    actor = role.engagement.memberships.first().user  # type: ignore[union-attr]
    factories.make_check_in(
        engagement=role.engagement, attendees=[role.stakeholder], actor=actor, occurred_at=met, as_of=logged
    )
    raised = silences_flag(as_of=logged + dt.timedelta(minutes=1))

    # Then the one lapse keeps its one flag, now measured from the late-logged call
    flag = SilenceFlag.objects.select_related("follow_up").get()
    assert raised == 0
    assert flag.cleared_at is None
    assert flag.last_contact_at == met
    assert flag.follow_up is not None
    assert flag.follow_up.status == FollowUp.Status.OPEN
    # And the owner has one "Get back in touch" follow-up and one notification, not one per churn
    assert FollowUp.objects.filter(title__startswith="Get back in touch").count() == 1
    assert Notification.objects.filter(event=NotificationEvent.SPONSOR_SILENT).count() == 1

    # And a call within the allowance, logged later still, clears it
    _check_in(role, dt.datetime(2026, 2, 16, 9, 0, tzinfo=UTC))
    assert SilenceFlag.objects.get().cleared_at == dt.datetime(2026, 2, 16, 9, 0, tzinfo=UTC)


def test_flag_is_cleared_and_its_follow_up_cancelled_when_the_person_is_no_longer_sponsor():
    # Given a flagged sponsor
    role, _ = _sponsor()
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # When they become a team member and the sweep runs again
    StakeholderRole.objects.filter(pk=role.pk).update(kind=StakeholderRole.Kind.TEAM_MEMBER)
    later = dt.datetime(2026, 2, 6, 9, 1, tzinfo=UTC)
    silences_flag(as_of=later)

    # Then the flag is cleared without a check-in and the follow-up is cancelled
    flag = SilenceFlag.objects.select_related("follow_up").get()
    assert flag.cleared_at == later
    assert flag.cleared_by_check_in is None
    assert flag.follow_up is not None
    assert flag.follow_up.status == FollowUp.Status.CANCELLED


def test_flag_is_cleared_when_the_plan_with_the_person_is_paused():
    # Given a flagged sponsor with one channel
    role, channel = _sponsor()
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))

    # When the channel is paused and the sweep runs again
    services.channel_pause(actor=factories._system(), channel=channel)
    silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 1, tzinfo=UTC))

    # Then nothing is planned, so nothing is flagged
    assert SilenceFlag.objects.open().count() == 0


def test_engagement_on_hold_is_not_watched():
    # Given a silent sponsor on an engagement put on hold
    role, _ = _sponsor()
    Engagement.objects.filter(pk=role.engagement_id).update(status=Engagement.Status.ON_HOLD)

    # When the sweep runs, then nothing is raised
    assert silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC)) == 0


def _portfolio(size: int) -> None:
    lead = factories.consultant()
    with time_machine.travel(SET_UP, tick=False):
        engagement = factories.make_engagement(lead=lead)
    for n in range(size):
        role, _ = _sponsor(engagement=engagement, owner=lead if n % 2 else None, name=f"Sponsor {n}")
        if n % 3 == 0:
            _check_in(role, FIRST_MEETING)


@pytest.mark.parametrize("size", [3, 30])
def test_sweep_query_count_does_not_grow_with_the_portfolio(size, django_assert_num_queries):
    # Given a portfolio of silent sponsors, some met once, some owned by nobody
    _portfolio(size)

    # When the sweep raises them all, then it costs the same queries at any size: roles, channels,
    # leads, open flags; savepoint, flags, lock, follow-ups, their search documents (read, clear,
    # write), links, recipients, notifications, release; and the twelve of recomputing the health of
    # the engagements concerned and of the relationships on them that changed
    with django_assert_num_queries(27):
        raised = silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC))
    assert raised == size

    # And a second run that finds nothing new costs only the four reads
    with django_assert_num_queries(4):
        assert silences_flag(as_of=dt.datetime(2026, 2, 6, 9, 1, tzinfo=UTC)) == 0


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_raise_one_flag_one_follow_up_and_one_notification():
    # Given silent sponsors, committed so that two connections see them
    lead = factories.consultant()
    role, _ = _sponsor(lead=lead, owner=lead)
    _sponsor(engagement=role.engagement, owner=lead, channel_owner=lead, name="Ben Ortiz")
    as_of = dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC)
    start = threading.Barrier(2)
    raised: list[int] = []

    def sweep() -> None:
        try:
            start.wait(timeout=10)
            raised.append(silences_flag(as_of=as_of))
        finally:
            connection.close()

    # When two sweeps run at the same moment on two connections
    workers = [threading.Thread(target=sweep) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    # Then between them each person got one flag, one follow-up and one notification
    assert sorted(raised) in ([0, 2], [1, 1])
    assert SilenceFlag.objects.count() == 2
    assert FollowUp.objects.count() == 2
    assert Notification.objects.count() == 2


def test_the_follow_up_says_how_long_in_words_and_how_often_the_plan_expects_contact():
    # Given a silence of 21 days and 21 hours with a sponsor met every other week
    title = silence_follow_up_title(
        name="Andrew Campbell",
        kind_label="Sponsor",
        silent_for=dt.timedelta(days=21, hours=21),
        interval=dt.timedelta(days=14),
    )

    # Then the follow-up says both as a person would, not "21 days 21 hours, the plan allows 21 days"
    assert title == (
        "Get back in touch with Andrew Campbell (sponsor): "
        "no check-in for over 3 weeks, expected every 2 weeks"
    )
