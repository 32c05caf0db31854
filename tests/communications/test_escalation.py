from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django.fixtures import Settings
from time_machine import TimeMachineFixture

from accounts.models import User
from communications.escalation import (
    DIGEST_ITEM_LIMIT,
    at_once_key,
    digest_key,
    events_mail_at_once,
    follow_up_escalation_level,
    follow_ups_escalate,
    follow_ups_notify_overdue,
    follow_ups_send_overdue_digests,
)
from communications.models import FollowUp, FollowUpOverdue
from communications.services import follow_ups_flag_overdue
from communications.tasks import send_daily_digests, sweep_overdue_follow_ups
from engagements.models import Engagement, Membership
from notifications.models import Notification, NotificationEvent, OutboxMessage
from notifications.services import notification_preference_save
from notifications.tasks import MAIL_MAX_RETRIES, send_outbox_message
from pmaas.deadlines import end_of_day
from tests import factories
from tests.flaky_mail import FlakyBackend

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# Tuesday 10 March 2026, and the first sweep after the next morning's digest time (08:00, UTC users).
FLAGGED_AT = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NEXT_DAY = dt.datetime(2026, 3, 11, 8, 5, tzinfo=UTC)
# Thursday 2 April 2026, before Good Friday (3 April) and Easter Monday (6 April), DE public holidays.
DUE_BEFORE_EASTER = dt.datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
# Follow-ups, roles, leads, notifications, recipients, recent digests, the items listed, the
# notifications stamped mailed, the outbox's insert, the savepoint around them, and one
# visibility check per recipient of follow-ups.
DIGEST_SWEEP_QUERIES = 11


@pytest.fixture
def ladder(settings: Settings) -> None:
    settings.FOLLOW_UP_ESCALATION_DAYS = (2, 5)


def _engagement(*, lead: User | None = None, members: tuple[User, ...] = ()) -> Engagement:
    engagement = factories.make_engagement(lead=lead or factories.consultant(), members=members)
    Engagement.objects.filter(pk=engagement.pk).update(country="DE")
    engagement.refresh_from_db()
    return engagement


def _overdue(
    engagement: Engagement, *, title: str = "Send the plan", days_late: int = 0, **owner: Any
) -> FollowUp:
    follow_up = factories.make_follow_up(engagement=engagement, title=title, **owner)
    due_at = FLAGGED_AT - dt.timedelta(days=days_late, hours=2)
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=due_at)
    return follow_up


def _sweep(as_of: dt.datetime, callbacks: Any) -> int:
    with callbacks(execute=True):
        return follow_ups_send_overdue_digests(as_of=as_of)


def _escalate(as_of: dt.datetime, callbacks: Any) -> int:
    """The ladder, then the at-once mail of the same sweep, as ``follow_ups_sweep_overdue`` runs them."""
    with callbacks(execute=True):
        escalated = follow_ups_escalate(as_of=as_of)
        events_mail_at_once(as_of=as_of)
        return escalated


def _due_before_easter(engagement: Engagement, owner: User) -> FollowUp:
    follow_up = factories.make_follow_up(engagement=engagement, owner_user=owner, title="Sign the SOW")
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=DUE_BEFORE_EASTER)
    follow_ups_flag_overdue(as_of=DUE_BEFORE_EASTER + dt.timedelta(hours=1))
    return follow_up


def test_a_recipient_gets_one_digest_of_what_newly_went_overdue_however_often_the_sweep_runs(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an owner with two items flagged yesterday and one flagged the day before
    owner = factories.consultant()
    engagement = _engagement(lead=owner)
    old = _overdue(engagement, owner_user=owner, title="Old news", days_late=1)
    follow_ups_flag_overdue(as_of=FLAGGED_AT - dt.timedelta(days=1))
    _sweep(FLAGGED_AT, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    first = _overdue(engagement, owner_user=owner, title="Book the venue")
    second = _overdue(engagement, owner_user=owner, title="Share the minutes")
    follow_ups_flag_overdue(as_of=FLAGGED_AT)

    # When the digest sweep runs twice after the next digest time
    written = _sweep(NEXT_DAY, django_capture_on_commit_callbacks)
    again = _sweep(NEXT_DAY + dt.timedelta(minutes=5), django_capture_on_commit_callbacks)

    # Then one mail lists both new items, not the old one, and the second run sent nothing
    assert (written, again) == (1, 0)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [owner.email]
    assert "Book the venue" in message.body and "Share the minutes" in message.body
    assert "Old news" not in message.body
    assert isinstance(message, EmailMultiAlternatives)
    assert "Book the venue" in str(message.alternatives[0][0])
    digest = OutboxMessage.objects.get(idempotency_key=digest_key(recipient_id=owner.pk, window="2026-03-11"))
    assert sorted(digest.about["follow_up_ids"]) == sorted([first.pk, second.pk])
    assert (digest.status, digest.attempts) == (OutboxMessage.Status.SENT, 1)
    assert old.pk not in digest.about["follow_up_ids"]


def test_a_window_still_open_is_not_digested_yet(django_capture_on_commit_callbacks: Any):
    # Given an item flagged today
    owner = factories.consultant()
    _overdue(_engagement(lead=owner), owner_user=owner)
    follow_ups_flag_overdue(as_of=FLAGGED_AT)

    # When the sweep runs later the same day, before the next morning's digest time
    written = _sweep(FLAGGED_AT + dt.timedelta(hours=1), django_capture_on_commit_callbacks)

    # Then nothing is written before the digest slot
    assert written == 0
    assert not OutboxMessage.objects.exists()


def test_a_client_owed_item_is_digested_to_the_relationship_owner(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a stakeholder-owned item whose role has a relationship owner other than the lead
    lead, consultant = factories.consultant(), factories.consultant()
    engagement = _engagement(lead=lead, members=(consultant,))
    role = factories.make_role(engagement=engagement, relationship_owner=consultant)
    _overdue(engagement, owner_stakeholder=role.stakeholder, title="Client sends the data extract")
    follow_ups_flag_overdue(as_of=FLAGGED_AT)

    # When the digest sweep runs
    _sweep(NEXT_DAY, django_capture_on_commit_callbacks)

    # Then the relationship owner is told, not the lead
    assert [m.to for m in mail.outbox] == [[consultant.email]]
    assert "Client sends the data extract" in mail.outbox[0].body


def test_a_client_owed_item_without_a_relationship_owner_goes_to_the_lead(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a stakeholder-owned item whose role has no relationship owner
    lead = factories.consultant()
    engagement = _engagement(lead=lead)
    role = factories.make_role(engagement=engagement)
    _overdue(engagement, owner_stakeholder=role.stakeholder)
    follow_ups_flag_overdue(as_of=FLAGGED_AT)

    # When the digest sweep runs
    _sweep(NEXT_DAY, django_capture_on_commit_callbacks)

    # Then the engagement lead is told
    assert [m.to for m in mail.outbox] == [[lead.email]]


def test_a_long_digest_lists_the_first_items_and_links_to_my_week_for_the_rest(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given 23 items of one owner flagged on the same day
    owner = factories.consultant()
    engagement = _engagement(lead=owner)
    for n in range(DIGEST_ITEM_LIMIT + 3):
        _overdue(engagement, owner_user=owner, title=f"Item number {n:02d}")
    follow_ups_flag_overdue(as_of=FLAGGED_AT)

    # When the digest sweep runs
    _sweep(NEXT_DAY, django_capture_on_commit_callbacks)

    # Then one mail lists twenty of them and says three more, with a link to My week
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert body.count("Item number") == DIGEST_ITEM_LIMIT
    assert "and 3 more" in body
    assert reverse("my_week") in body
    assert mail.outbox[0].subject == "Daily digest: 23 follow-ups overdue"


@pytest.mark.parametrize("items", [5, 50])
def test_the_digest_sweep_runs_a_fixed_number_of_queries(items: int, django_capture_on_commit_callbacks: Any):
    # Given overdue items of several owners, team- and client-owned
    lead, consultant = factories.consultant(), factories.consultant()
    engagement = _engagement(lead=lead, members=(consultant,))
    role = factories.make_role(engagement=engagement, relationship_owner=consultant)
    for n in range(items):
        owner: dict[str, Any] = {"owner_user": lead} if n % 2 else {"owner_stakeholder": role.stakeholder}
        _overdue(engagement, title=f"Item {n}", **owner)
    follow_ups_flag_overdue(as_of=FLAGGED_AT)
    follow_ups_notify_overdue(as_of=FLAGGED_AT)

    # When the sweep runs (the send tasks are not run here)
    with CaptureQueriesContext(connection) as queries:
        written = follow_ups_send_overdue_digests(as_of=NEXT_DAY)

    # Then two digests are written in the same few queries whatever the number of items
    assert written == 2
    assert len(queries) == DIGEST_SWEEP_QUERIES + 2, [q["sql"] for q in queries.captured_queries]


def test_escalation_waits_for_working_days_across_a_weekend_and_public_holidays(
    ladder: None, django_capture_on_commit_callbacks: Any
):
    # Given an item due on the Thursday before Easter in a German engagement
    owner, lead = factories.consultant(), factories.consultant()
    engagement = _engagement(lead=lead, members=(owner,))
    follow_up = _due_before_easter(engagement, owner)

    # When the ladder runs on Wednesday 8 April at 16:59 in Berlin (only Tuesday has ended:
    # Good Friday, the weekend and Easter Monday do not count)
    before = _escalate(dt.datetime(2026, 4, 8, 14, 59, tzinfo=UTC), django_capture_on_commit_callbacks)
    follow_up.refresh_from_db()
    level_before = follow_up.escalation_level

    # and at 17:00, when Wednesday, the second working day after the due day, ends
    after = _escalate(dt.datetime(2026, 4, 8, 15, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then it escalates to the engagement lead only at the end of the Wednesday, in the app at once
    # and by email in the lead's digest (no mail of its own)
    assert (before, level_before) == (0, 0)
    assert after == 1
    follow_up.refresh_from_db()
    assert follow_up.escalation_level == 1
    assert follow_up.escalated_at == dt.datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
    told = Notification.objects.get(event=NotificationEvent.FOLLOW_UP_ESCALATED)
    assert (told.recipient, told.key, told.email, told.mailed_at) == (lead, f"{follow_up.pk}:1", True, None)
    assert not OutboxMessage.objects.exists()


def _calendar_engagement(*, time_zone: str, country: str, subdivision: str = "") -> Engagement:
    client = factories.make_client(time_zone=time_zone, country=country, holiday_subdivision=subdivision)
    return factories.make_engagement(client=client, lead=factories.consultant())


def _due(engagement: Engagement, due_at: dt.datetime) -> FollowUp:
    owner = engagement.memberships.get().user
    follow_up = factories.make_follow_up(engagement=engagement, owner_user=owner, title="Sign the SOW")
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=due_at)
    return FollowUp.objects.select_related("engagement__client").get(pk=follow_up.pk)


@pytest.mark.parametrize(
    ("due_at", "rung_one", "rung_two"),
    [
        # Thursday 29 October 2026, 10:00 EDT; clocks go back on Sunday 1 November.
        # Friday and Monday end the two working days: Monday 2 November 17:00 EST.
        (
            dt.datetime(2026, 10, 29, 14, 0, tzinfo=UTC),
            dt.datetime(2026, 11, 2, 22, 0, tzinfo=UTC),
            dt.datetime(2026, 11, 5, 22, 0, tzinfo=UTC),
        ),
        # Wednesday 25 November 2026, 09:00 EST; Thanksgiving (Thursday 26) does not count:
        # Friday and Monday 30 November, 17:00 EST; five days on Thursday 3 December.
        (
            dt.datetime(2026, 11, 25, 14, 0, tzinfo=UTC),
            dt.datetime(2026, 11, 30, 22, 0, tzinfo=UTC),
            dt.datetime(2026, 12, 3, 22, 0, tzinfo=UTC),
        ),
    ],
    ids=["across the clock change", "across Thanksgiving"],
)
def test_a_new_york_item_reaches_each_rung_at_17_00_new_york_time(
    ladder: None, due_at: dt.datetime, rung_one: dt.datetime, rung_two: dt.datetime
):
    # Given an item of a New York client, US holidays
    follow_up = _due(_calendar_engagement(time_zone="America/New_York", country="US"), due_at)
    minute = dt.timedelta(minutes=1)

    # When its level is asked just before and at the end of the second and fifth working days
    levels = [
        follow_up_escalation_level(follow_up=follow_up, as_of=moment)
        for moment in (rung_one - minute, rung_one, rung_two - minute, rung_two)
    ]

    # Then each rung is reached at 17:00 local, not before
    assert levels == [0, 1, 1, 2]


def test_a_sydney_item_reaches_its_rung_at_17_00_sydney_time_on_a_sydney_working_day(ladder: None):
    # Given an item of a Sydney client (NSW) due Thursday 2 April 2026, 09:00 AEDT;
    # Good Friday, the Easter weekend and Easter Monday follow, and clocks go back on Sunday 5 April
    engagement = _calendar_engagement(time_zone="Australia/Sydney", country="AU", subdivision="NSW")
    follow_up = _due(engagement, dt.datetime(2026, 4, 1, 22, 0, tzinfo=UTC))
    # Tuesday 7 and Wednesday 8 April are the two working days: the end of Wednesday, 17:00 AEST
    rung_one = dt.datetime(2026, 4, 8, 7, 0, tzinfo=UTC)

    # Then the rung is not reached at 09:00 or 16:59 Sydney time on the Wednesday, and is at 17:00
    assert (
        follow_up_escalation_level(follow_up=follow_up, as_of=dt.datetime(2026, 4, 7, 23, 0, tzinfo=UTC)) == 0
    )
    assert follow_up_escalation_level(follow_up=follow_up, as_of=rung_one - dt.timedelta(minutes=1)) == 0
    assert follow_up_escalation_level(follow_up=follow_up, as_of=rung_one) == 1


def test_level_two_goes_to_the_practice_leads_once_and_never_again(
    ladder: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an item at level 1 and two practice leads who want escalations at once, one inactive
    owner, lead = factories.consultant(), factories.consultant()
    practice_lead = factories.practice_lead()
    _prefer(practice_lead, follow_up_escalated_at_once=True)
    _prefer(factories.practice_lead(is_active=False), follow_up_escalated_at_once=True)
    engagement = _engagement(lead=lead, members=(owner,))
    follow_up = _due_before_easter(engagement, owner)
    _escalate(dt.datetime(2026, 4, 8, 16, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    mail.outbox.clear()

    # When the ladder runs at the end of Friday 10 April (four working days ended), then at the
    # end of Monday 13 April (five; 17:00 in Berlin) and again an hour later
    friday = _escalate(dt.datetime(2026, 4, 10, 16, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    monday = _escalate(dt.datetime(2026, 4, 13, 15, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    again = _escalate(dt.datetime(2026, 4, 13, 16, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then only Monday's run escalated, to the active practice lead alone, in one mail
    assert (friday, monday, again) == (0, 1, 0)
    follow_up.refresh_from_db()
    assert follow_up.escalation_level == 2
    assert [m.to for m in mail.outbox] == [[practice_lead.email]]
    assert mail.outbox[0].subject == "Just now: 1 follow-up escalated to you"
    assert "Sign the SOW" in mail.outbox[0].body
    assert "practice lead" in mail.outbox[0].body


def test_an_item_found_past_both_rungs_tells_the_lead_and_the_practice_leads(
    ladder: None, django_capture_on_commit_callbacks: Any
):
    # Given an item first seen by the ladder ten working days late
    owner, lead = factories.consultant(), factories.consultant()
    practice_lead = factories.practice_lead()
    follow_up = _due_before_easter(_engagement(lead=lead, members=(owner,)), owner)

    # When the ladder runs
    _escalate(dt.datetime(2026, 4, 20, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then both rungs are told, each once
    rungs = set(
        Notification.objects.filter(event=NotificationEvent.FOLLOW_UP_ESCALATED).values_list(
            "recipient_id", "key"
        )
    )
    assert rungs == {(lead.pk, f"{follow_up.pk}:1"), (practice_lead.pk, f"{follow_up.pk}:2")}
    follow_up.refresh_from_db()
    assert follow_up.escalation_level == 2


def test_the_leads_own_item_goes_past_them_to_the_practice_leads(
    ladder: None, django_capture_on_commit_callbacks: Any
):
    # Given an item the engagement lead owns, first seen by the ladder ten working days late
    lead = factories.consultant()
    practice_lead = factories.practice_lead()
    follow_up = _due_before_easter(_engagement(lead=lead), lead)

    # When the ladder runs
    _escalate(dt.datetime(2026, 4, 20, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then the lead is not told of their own item "as engagement lead"; the practice lead is
    rungs = set(
        Notification.objects.filter(event=NotificationEvent.FOLLOW_UP_ESCALATED).values_list(
            "recipient_id", "key"
        )
    )
    assert rungs == {(practice_lead.pk, f"{follow_up.pk}:2")}
    follow_up.refresh_from_db()
    assert follow_up.escalation_level == 2


def test_a_done_item_never_escalates(ladder: None, django_capture_on_commit_callbacks: Any):
    # Given an overdue item that was then done
    owner, lead = factories.consultant(), factories.consultant()
    factories.practice_lead()
    follow_up = _due_before_easter(_engagement(lead=lead, members=(owner,)), owner)
    FollowUp.objects.filter(pk=follow_up.pk).update(
        status=FollowUp.Status.DONE, completed_at=DUE_BEFORE_EASTER + dt.timedelta(days=1)
    )

    # When the ladder runs weeks later
    escalated = _escalate(dt.datetime(2026, 5, 4, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then nothing escalates
    assert escalated == 0
    assert not OutboxMessage.objects.exists()
    follow_up.refresh_from_db()
    assert follow_up.escalation_level == 0


def _written_digest() -> OutboxMessage:
    owner = factories.consultant()
    _overdue(_engagement(lead=owner), owner_user=owner)
    follow_ups_flag_overdue(as_of=FLAGGED_AT)
    follow_ups_send_overdue_digests(as_of=NEXT_DAY)
    return OutboxMessage.objects.get()


def test_the_send_task_retries_until_the_mail_server_accepts(flaky_mail: type[FlakyBackend]):
    # Given a written digest and a mail server that refuses twice
    notice = _written_digest()
    flaky_mail.fail_next(2)

    # When the send task runs
    result = send_outbox_message.apply(args=(notice.idempotency_key,))

    # Then the third attempt delivered one mail and the row says so
    assert result.successful()
    assert flaky_mail.refused == 2
    assert len(mail.outbox) == 1
    notice.refresh_from_db()
    assert (notice.attempts, notice.last_error) == (3, "")
    assert notice.status == OutboxMessage.Status.SENT


def test_the_send_task_gives_up_with_the_error_recorded(flaky_mail: type[FlakyBackend]):
    # Given a written digest and a mail server that never accepts
    notice = _written_digest()
    flaky_mail.fail_next(10_000)

    # When the send task runs out of retries
    result = send_outbox_message.apply(args=(notice.idempotency_key,))

    # Then it failed with every attempt and the last error on the row
    assert result.failed()
    assert mail.outbox == []
    notice.refresh_from_db()
    assert notice.attempts == MAIL_MAX_RETRIES + 1
    assert "SMTPServerDisconnected" in notice.last_error
    assert notice.status == OutboxMessage.Status.PENDING


def test_a_delivered_notice_is_not_sent_again(flaky_mail: type[FlakyBackend]):
    # Given a digest already delivered
    notice = _written_digest()
    send_outbox_message.apply(args=(notice.idempotency_key,))

    # When its task is delivered a second time
    result = send_outbox_message.apply(args=(notice.idempotency_key,))

    # Then nothing more is sent
    assert result.get() is False
    assert len(mail.outbox) == 1


def test_the_periodic_task_flags_digests_and_escalates_on_one_time(
    ladder: None,
    eager_tasks: None,
    time_machine: TimeMachineFixture,
    django_capture_on_commit_callbacks: Any,
):
    # Given an item flagged yesterday and ten working days late, and one just past due
    owner, lead = factories.consultant(), factories.consultant()
    factories.practice_lead()
    engagement = _engagement(lead=lead, members=(owner,))
    late = _due_before_easter(engagement, owner)
    FollowUpOverdue.objects.filter(follow_up=late).update(
        overdue_at=dt.datetime(2026, 4, 19, 9, 0, tzinfo=UTC)
    )
    fresh = _overdue(engagement, owner_user=owner, title="Just missed")
    FollowUp.objects.filter(pk=fresh.pk).update(due_at=dt.datetime(2026, 4, 20, 11, 0, tzinfo=UTC))
    time_machine.move_to(dt.datetime(2026, 4, 20, 12, 0, tzinfo=UTC), tick=False)

    # When the beat's overdue sweep and digest tasks run
    with django_capture_on_commit_callbacks(execute=True):
        flagged = sweep_overdue_follow_ups.apply().get()
        send_daily_digests.apply().get()

    # Then it flagged the new item and told its owner, digested yesterday's and escalated the
    # late one in the app; the escalations' mail waits for the lead's and practice lead's digests
    assert flagged == 1
    assert factories.overdue_at_of(fresh) == dt.datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
    assert Notification.objects.filter(
        recipient=owner, event=NotificationEvent.FOLLOW_UP_OVERDUE, key=f"follow_up:{fresh.pk}"
    ).exists()
    assert Notification.objects.filter(event=NotificationEvent.FOLLOW_UP_ESCALATED).count() == 2
    assert [(m.kind, m.recipient_id) for m in OutboxMessage.objects.all()] == [
        (OutboxMessage.Kind.OVERDUE_DIGEST, owner.pk)
    ]
    assert len(mail.outbox) == 1
    assert OutboxMessage.objects.pending().count() == 0


def _prefer(user: User, **fields: Any) -> None:
    notification_preference_save(user=user, **fields)


def test_each_newly_flagged_item_is_told_in_app_to_its_digest_recipient_once(
    django_capture_on_commit_callbacks: Any,
):
    # Given a team item and a client-owed item whose relationship owner is a consultant
    lead, consultant = factories.consultant(), factories.consultant()
    engagement = _engagement(lead=lead, members=(consultant,))
    role = factories.make_role(engagement=engagement, relationship_owner=consultant)
    team = _overdue(engagement, owner_user=lead, title="Book the venue")
    client = _overdue(engagement, owner_stakeholder=role.stakeholder, title="Client sends the extract")

    # When the overdue scan flags them and the owners are told, twice on the same time
    follow_ups_flag_overdue(as_of=FLAGGED_AT)
    follow_ups_notify_overdue(as_of=FLAGGED_AT)
    follow_ups_notify_overdue(as_of=FLAGGED_AT)

    # Then each recipient has one in-app notification naming the item, linking to the follow-ups
    told = {
        (n.recipient_id, n.key): n
        for n in Notification.objects.filter(event=NotificationEvent.FOLLOW_UP_OVERDUE)
    }
    assert set(told) == {(lead.pk, f"follow_up:{team.pk}"), (consultant.pk, f"follow_up:{client.pk}")}
    assert "Book the venue" in told[(lead.pk, f"follow_up:{team.pk}")].message
    assert told[(lead.pk, f"follow_up:{team.pk}")].url == reverse(
        "engagement_follow_ups", kwargs={"pk": engagement.pk}
    )


@pytest.mark.parametrize(
    ("zone", "flagged_at", "slot"),
    [
        # Europe/Berlin: flagged on the Friday before the clocks go forward (29 March 2026);
        # the Monday 08:00 CEST slot is 06:00 UTC, where the Friday one was 07:00 UTC.
        (
            "Europe/Berlin",
            dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
            dt.datetime(2026, 3, 30, 6, 0, tzinfo=UTC),
        ),
        # America/New_York: clocks went forward on 8 March 2026; Monday 08:00 EDT is 12:00 UTC.
        (
            "America/New_York",
            dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC),
            dt.datetime(2026, 3, 9, 12, 0, tzinfo=UTC),
        ),
    ],
)
def test_the_digest_comes_at_the_local_digest_time_after_the_weekend_across_a_dst_change(
    zone: str,
    flagged_at: dt.datetime,
    slot: dt.datetime,
    eager_tasks: None,
    django_capture_on_commit_callbacks: Any,
):
    # Given an owner in ``zone`` who takes no mail at weekends, with an item flagged on Friday afternoon
    owner = factories.consultant(time_zone=zone)
    engagement = _engagement(lead=owner)
    follow_up = _overdue(engagement, owner_user=owner, title="Approve the budget")
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=flagged_at - dt.timedelta(hours=1))
    follow_ups_flag_overdue(as_of=flagged_at)

    # When the sweep runs through the weekend, a minute before Monday's slot and at it
    weekend = [_sweep(flagged_at + dt.timedelta(days=d), django_capture_on_commit_callbacks) for d in (1, 2)]
    early = _sweep(slot - dt.timedelta(minutes=1), django_capture_on_commit_callbacks)
    on_time = _sweep(slot, django_capture_on_commit_callbacks)

    # Then the one digest is written at Monday 08:00 local time, named by that local date
    assert (weekend, early, on_time) == ([0, 0], 0, 1)
    digest = OutboxMessage.objects.get()
    assert digest.about["window"] == slot.date().isoformat()
    assert [m.to for m in mail.outbox] == [[owner.email]]
    assert "Approve the budget" in mail.outbox[0].body


def test_the_digest_reports_missed_check_ins_and_honours_each_email_switch(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an owner who wants missed check-ins by email but not overdue follow-ups,
    # with one of each and a sponsor gone quiet, whose email they turned off
    owner = factories.consultant()
    _prefer(owner, follow_up_overdue_email=False, sponsor_silent_email=False)
    engagement = _engagement(lead=owner)
    _overdue(engagement, owner_user=owner, title="Book the venue")
    follow_ups_flag_overdue(as_of=FLAGGED_AT)
    factories.make_notification(
        recipient=owner,
        engagement=engagement,
        event=NotificationEvent.CHECK_IN_MISSED,
        message="Steering committee with Ana Silva was missed.",
        url="/check-ins/new/?channel=1",
        created_at=FLAGGED_AT,
    )
    factories.make_notification(
        recipient=owner,
        event=NotificationEvent.SPONSOR_SILENT,
        message="Ana went quiet",
        created_at=FLAGGED_AT,
    )

    # When the digest is due
    _sweep(NEXT_DAY, django_capture_on_commit_callbacks)

    # Then it says what is inside, and lists only the missed check-in, with its link
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == "Daily digest: 1 check-in missed"
    assert "Steering committee with Ana Silva was missed." in message.body
    assert "/check-ins/new/?channel=1" in message.body
    assert "Book the venue" not in message.body
    assert "Ana went quiet" not in message.body
    assert reverse("notification_list") in message.body


def test_a_recipient_who_wants_no_email_gets_no_digest(django_capture_on_commit_callbacks: Any):
    # Given an owner who turned overdue follow-up email off, with an item flagged
    owner = factories.consultant()
    _prefer(owner, follow_up_overdue_email=False)
    _overdue(_engagement(lead=owner), owner_user=owner)
    follow_ups_flag_overdue(as_of=FLAGGED_AT)

    # When the digest is due
    written = _sweep(NEXT_DAY, django_capture_on_commit_callbacks)

    # Then nothing is written
    assert written == 0
    assert not OutboxMessage.objects.exists()


def test_someone_who_left_the_team_is_not_told_about_a_clients_item(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a client-owed item whose relationship owner then left the team, and one of the lead's
    lead, leaver = factories.consultant(), factories.consultant()
    engagement = _engagement(lead=lead, members=(leaver,))
    role = factories.make_role(engagement=engagement, relationship_owner=leaver)
    _overdue(engagement, owner_stakeholder=role.stakeholder, title="Client sends the extract")
    _overdue(engagement, owner_user=lead, title="Book the venue")
    follow_ups_flag_overdue(as_of=FLAGGED_AT)
    Membership.objects.filter(engagement=engagement, user=leaver).delete()

    # When the digests are due
    _sweep(NEXT_DAY, django_capture_on_commit_callbacks)

    # Then only the lead gets a digest, and the leaver hears nothing of the client's item
    assert [m.to for m in mail.outbox] == [[lead.email]]
    assert "Client sends the extract" not in mail.outbox[0].body


def test_after_an_outage_only_the_latest_slot_gets_one_digest_of_everything_missed(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given items flagged on Tuesday, Wednesday and Thursday afternoons while the digest sweep was down
    owner = factories.consultant()
    engagement = _engagement(lead=owner)
    for day, title in enumerate(["Tuesday item", "Wednesday item", "Thursday item"]):
        flagged = FLAGGED_AT + dt.timedelta(days=day)
        follow_up = _overdue(engagement, owner_user=owner, title=title)
        FollowUp.objects.filter(pk=follow_up.pk).update(due_at=flagged - dt.timedelta(hours=1))
        follow_ups_flag_overdue(as_of=flagged)
        follow_ups_notify_overdue(as_of=flagged)

    # When the sweep comes back on Friday at 09:00, and runs again
    friday = dt.datetime(2026, 3, 13, 9, 0, tzinfo=UTC)
    written = _sweep(friday, django_capture_on_commit_callbacks)
    again = _sweep(friday + dt.timedelta(minutes=5), django_capture_on_commit_callbacks)

    # Then Friday's slot alone got one digest, listing all three; the missed slots got none
    assert (written, again) == (1, 0)
    digest = OutboxMessage.objects.get(kind=OutboxMessage.Kind.OVERDUE_DIGEST)
    assert digest.about["window"] == "2026-03-13"
    titles = set(
        FollowUp.objects.filter(pk__in=digest.about["follow_up_ids"]).values_list("title", flat=True)
    )
    assert titles == {"Tuesday item", "Wednesday item", "Thursday item"}
    assert len(mail.outbox) == 1
    # And it says which period it covers: from the first item it reports to Friday's slot
    assert "It covers Tue 10 Mar, 12:00 to Fri 13 Mar, 08:00 (times in UTC)." in mail.outbox[0].body
    # And the overdue notifications it reported are stamped mailed, so nothing mails them again
    assert not Notification.objects.filter(mailed_at__isnull=True).exists()


def test_escalation_is_told_in_app_and_mailed_at_once_only_to_those_who_chose_it(
    ladder: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a lead who wants escalations at once, one who turned their email off, and one with
    # the defaults, each with an item gone overdue the same day
    owner = factories.consultant()
    eager, quiet, default = factories.consultant(), factories.consultant(), factories.consultant()
    _prefer(eager, follow_up_escalated_at_once=True)
    _prefer(quiet, follow_up_escalated_email=False, follow_up_escalated_at_once=True)
    items = {
        lead: _due_before_easter(_engagement(lead=lead, members=(owner,)), owner)
        for lead in (eager, quiet, default)
    }

    # When the ladder reaches level 1 (the end of Wednesday 8 April in Berlin), twice
    _escalate(dt.datetime(2026, 4, 8, 15, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    _escalate(dt.datetime(2026, 4, 8, 16, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then all three leads have one in-app notification, and only the first a mail, at once
    told = Notification.objects.filter(event=NotificationEvent.FOLLOW_UP_ESCALATED)
    assert sorted(told.values_list("recipient_id", "key")) == sorted(
        (lead.pk, f"{item.pk}:1") for lead, item in items.items()
    )
    assert "Sign the SOW" in told.first().message  # type: ignore[union-attr]
    assert [m.to for m in mail.outbox] == [[eager.email]]
    notice = OutboxMessage.objects.get()
    assert notice.idempotency_key == at_once_key(
        recipient_id=eager.pk, as_of=dt.datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
    )
    assert notice.enqueued_at == dt.datetime(2026, 4, 8, 15, 0, tzinfo=UTC)

    # And the default lead's escalation comes in the next morning's digest, in its own section;
    # the other leads' digests do not repeat it (besides them only the owner gets one)
    _sweep(dt.datetime(2026, 4, 9, 8, 5, tzinfo=UTC), django_capture_on_commit_callbacks)
    digests = {m.to[0]: m for m in mail.outbox[1:]}
    assert set(digests) == {default.email, owner.email}
    assert digests[default.email].subject == "Daily digest: 1 follow-up escalated to you"
    assert "Escalated to you:" in digests[default.email].body
    assert "Sign the SOW" in digests[default.email].body


def test_an_at_once_escalation_in_quiet_hours_waits_for_their_end_and_comes_in_one_mail(
    ladder: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a lead in Berlin who wants escalations at once, with quiet hours from 19:00 to 08:00
    owner = factories.consultant()
    lead = factories.consultant(time_zone="Europe/Berlin")
    _prefer(
        lead,
        follow_up_escalated_at_once=True,
        quiet_hours_start=dt.time(19, 0),
        quiet_hours_end=dt.time(8, 0),
    )
    engagement = _engagement(lead=lead, members=(owner,))
    first = _due_before_easter(engagement, owner)

    # When the ladder escalates at 20:00 UTC (22:00 in Berlin), another item at 23:00 UTC,
    # and the sweep runs through the night and at 08:00 Berlin (06:00 UTC)
    evening = dt.datetime(2026, 4, 8, 20, 0, tzinfo=UTC)
    _escalate(evening, django_capture_on_commit_callbacks)
    second = factories.make_follow_up(engagement=engagement, owner_user=owner, title="Send the RACI")
    FollowUp.objects.filter(pk=second.pk).update(due_at=DUE_BEFORE_EASTER)
    follow_ups_flag_overdue(as_of=evening)
    _escalate(evening + dt.timedelta(hours=3), django_capture_on_commit_callbacks)
    morning = dt.datetime(2026, 4, 9, 6, 0, tzinfo=UTC)
    night = [OutboxMessage.objects.count(), len(mail.outbox)]
    _escalate(morning, django_capture_on_commit_callbacks)
    _escalate(morning + dt.timedelta(minutes=5), django_capture_on_commit_callbacks)

    # Then the lead was told in-app at once, and mailed nothing in the night, then one mail of both
    assert Notification.objects.filter(recipient=lead, key=f"{first.pk}:1").exists()
    assert night == [0, 0]
    assert [m.to for m in mail.outbox] == [[lead.email]]
    assert mail.outbox[0].subject == "Just now: 2 follow-ups escalated to you"
    assert "Sign the SOW" in mail.outbox[0].body and "Send the RACI" in mail.outbox[0].body
    notice = OutboxMessage.objects.get()
    assert (notice.status, notice.enqueued_at) == (OutboxMessage.Status.SENT, morning)


# At most 40 notifications: SQLite takes 999 values per statement, so a bulk insert of
# many rows is cut into several statements there (PostgreSQL takes them in one).
@pytest.mark.parametrize("items", [3, 20])
def test_the_escalation_sweep_runs_a_fixed_number_of_queries(
    items: int, ladder: None, django_capture_on_commit_callbacks: Any
):
    # Given items ten working days late on two engagements, and a practice lead
    factories.practice_lead()
    owners = [factories.consultant(), factories.consultant()]
    engagements = [_engagement(members=(owner,)) for owner in owners]
    for n in range(items):
        _due_before_easter(engagements[n % 2], owners[n % 2])

    # When the ladder runs (the send tasks are not run here)
    with CaptureQueriesContext(connection) as queries:
        escalated = follow_ups_escalate(as_of=dt.datetime(2026, 4, 20, 12, 0, tzinfo=UTC))

    # Then every item went up both rungs in the same queries whatever their number: a savepoint,
    # the locked batch, leads, practice leads, recipients, the new levels, the notifications,
    # and the release; their mail waits for the digest
    assert escalated == items
    assert Notification.objects.filter(event=NotificationEvent.FOLLOW_UP_ESCALATED).count() == items * 2
    assert not OutboxMessage.objects.exists()
    assert len(queries) == 8, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("items", [3, 30])
def test_telling_owners_of_newly_overdue_items_runs_a_fixed_number_of_queries(items: int):
    # Given team- and client-owed items flagged on one sweep
    lead, consultant = factories.consultant(), factories.consultant()
    engagement = _engagement(lead=lead, members=(consultant,))
    role = factories.make_role(engagement=engagement, relationship_owner=consultant)
    for n in range(items):
        owner: dict[str, Any] = {"owner_user": lead} if n % 2 else {"owner_stakeholder": role.stakeholder}
        _overdue(engagement, title=f"Item {n}", **owner)
    follow_ups_flag_overdue(as_of=FLAGGED_AT)

    # When the owners are told
    with CaptureQueriesContext(connection) as queries:
        told = follow_ups_notify_overdue(as_of=FLAGGED_AT)

    # Then the items, roles, leads, recipients and one insert did it
    assert told == items
    assert len(queries) == 5, [q["sql"] for q in queries.captured_queries]


def test_an_item_already_digested_is_not_listed_again_after_the_digest_time_changes(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an item flagged on Tuesday at noon and digested on Wednesday at 08:00
    owner = factories.consultant()
    _overdue(_engagement(lead=owner), owner_user=owner, title="Book the venue")
    follow_ups_flag_overdue(as_of=FLAGGED_AT)
    _sweep(NEXT_DAY, django_capture_on_commit_callbacks)

    # When the owner moves their digest time to 13:00, which puts the item in Tuesday's window,
    # and the sweep runs after it
    _prefer(owner, digest_time=dt.time(13, 0))
    again = _sweep(dt.datetime(2026, 3, 11, 13, 5, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then no second digest repeats it
    assert again == 0
    assert len(mail.outbox) == 1


def test_the_digest_names_an_item_agreed_for_a_day_elsewhere_by_that_day_unpadded(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an owner in Berlin with an item agreed in New York for Monday 2 March
    # (whose end is 05:59 on Tuesday in Berlin)
    owner = factories.consultant()
    owner.time_zone = "Europe/Berlin"
    owner.save(update_fields=["time_zone"])
    engagement = _engagement(lead=owner)
    factories.make_follow_up(
        engagement=engagement,
        owner_user=owner,
        title="Book the venue",
        due_at=end_of_day(dt.date(2026, 3, 2), "America/New_York"),
        due_zone="America/New_York",
    )

    # When it goes overdue, its owner is told, and the digest is due
    follow_ups_flag_overdue(as_of=FLAGGED_AT)
    follow_ups_notify_overdue(as_of=FLAGGED_AT)
    _sweep(NEXT_DAY, django_capture_on_commit_callbacks)

    # Then the notice and both parts of the mail say the New York day, never Berlin's clock or a padded day
    told = Notification.objects.get(recipient=owner, event=NotificationEvent.FOLLOW_UP_OVERDUE)
    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    words = "due Mon 2 Mar 2026, end of day in New York"
    for text in (told.message, message.body, str(message.alternatives[0][0])):
        assert words in text
        assert "05:59" not in text and "02 Mar" not in text
