from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
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
    follow_ups_escalate,
    follow_ups_send_overdue_digests,
)
from communications.models import FollowUp, FollowUpNotice
from communications.services import follow_ups_flag_overdue
from communications.tasks import REMINDER_MAX_RETRIES, flag_overdue_follow_ups, send_follow_up_notice
from engagements.models import Engagement
from pmaas.celery import app as celery_app
from tests import factories
from tests.flaky_mail import FlakyBackend

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# Tuesday 10 March 2026, and the first sweep of the next UTC day, which closes its window.
FLAGGED_AT = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
NEXT_DAY = dt.datetime(2026, 3, 11, 0, 5, tzinfo=UTC)
# Thursday 2 April 2026, before Good Friday (3 April) and Easter Monday (6 April), DE public holidays.
DUE_BEFORE_EASTER = dt.datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
# Follow-ups, roles, leads, existing notices, insert, read-back, plus the savepoint around them.
DIGEST_SWEEP_QUERIES = 8


@pytest.fixture
def eager_tasks() -> Iterator[None]:
    # Tasks enqueued on commit run in-process, so their mail lands in the locmem outbox.
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def flaky_mail(settings: Settings) -> type[FlakyBackend]:
    settings.EMAIL_BACKEND = "tests.flaky_mail.FlakyBackend"
    FlakyBackend.fail_next(0)
    return FlakyBackend


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
    with callbacks(execute=True):
        return follow_ups_escalate(as_of=as_of)


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

    # When the digest sweep runs twice after the day closed
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
    notice = FollowUpNotice.objects.get(recipient=owner, window_key="2026-03-10")
    assert sorted(notice.follow_up_ids) == sorted([first.pk, second.pk])
    assert notice.delivered_at is not None and notice.attempts == 1
    assert old.pk not in notice.follow_up_ids


def test_a_window_still_open_is_not_digested_yet(django_capture_on_commit_callbacks: Any):
    # Given an item flagged today
    owner = factories.consultant()
    _overdue(_engagement(lead=owner), owner_user=owner)
    follow_ups_flag_overdue(as_of=FLAGGED_AT)

    # When the sweep runs later the same UTC day
    written = _sweep(FLAGGED_AT + dt.timedelta(hours=1), django_capture_on_commit_callbacks)

    # Then nothing is written before the window closes
    assert written == 0
    assert not FollowUpNotice.objects.exists()


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
    assert reverse("home") in body
    assert "23 follow-ups went overdue" in mail.outbox[0].subject


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

    # When the sweep runs (the send tasks are not run here)
    with CaptureQueriesContext(connection) as queries:
        written = follow_ups_send_overdue_digests(as_of=NEXT_DAY)

    # Then two digests are written in the same few queries whatever the number of items
    assert written == 2
    assert len(queries) == DIGEST_SWEEP_QUERIES, [q["sql"] for q in queries.captured_queries]


def test_escalation_waits_for_working_days_across_a_weekend_and_public_holidays(
    ladder: None, django_capture_on_commit_callbacks: Any
):
    # Given an item due on the Thursday before Easter in a German engagement
    owner, lead = factories.consultant(), factories.consultant()
    engagement = _engagement(lead=lead, members=(owner,))
    follow_up = _due_before_easter(engagement, owner)

    # When the ladder runs on Tuesday 7 April (only Thursday counts: Good Friday,
    # the weekend and Easter Monday do not)
    before = _escalate(dt.datetime(2026, 4, 7, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    follow_up.refresh_from_db()
    level_before = follow_up.escalation_level

    # and on Wednesday 8 April (Thursday and Tuesday: two working days)
    after = _escalate(dt.datetime(2026, 4, 8, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then it escalates to the engagement lead only on the Wednesday
    assert (before, level_before) == (0, 0)
    assert after == 1
    follow_up.refresh_from_db()
    assert follow_up.escalation_level == 1
    assert follow_up.escalated_at == dt.datetime(2026, 4, 8, 12, 0, tzinfo=UTC)
    notice = FollowUpNotice.objects.get(kind=FollowUpNotice.Kind.ESCALATION)
    assert (notice.recipient, notice.level, notice.window_key) == (lead, 1, f"{follow_up.pk}:1")


def test_level_two_goes_to_the_practice_leads_once_and_never_again(
    ladder: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an item at level 1 and two practice leads, one of them inactive
    owner, lead = factories.consultant(), factories.consultant()
    practice_lead = factories.practice_lead()
    factories.practice_lead(is_active=False)
    engagement = _engagement(lead=lead, members=(owner,))
    follow_up = _due_before_easter(engagement, owner)
    _escalate(dt.datetime(2026, 4, 8, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    mail.outbox.clear()

    # When the ladder runs on Friday 10 April (four working days), then on
    # Monday 13 April (five) and again an hour later
    friday = _escalate(dt.datetime(2026, 4, 10, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    monday = _escalate(dt.datetime(2026, 4, 13, 12, 0, tzinfo=UTC), django_capture_on_commit_callbacks)
    again = _escalate(dt.datetime(2026, 4, 13, 13, 0, tzinfo=UTC), django_capture_on_commit_callbacks)

    # Then only Monday's run escalated, to the active practice lead alone, in one mail
    assert (friday, monday, again) == (0, 1, 0)
    follow_up.refresh_from_db()
    assert follow_up.escalation_level == 2
    assert [m.to for m in mail.outbox] == [[practice_lead.email]]
    assert "Sign the SOW" in mail.outbox[0].subject
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

    # Then both rungs are written, each once
    rungs = set(FollowUpNotice.objects.values_list("recipient", "level"))
    assert rungs == {(lead.pk, 1), (practice_lead.pk, 2)}
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
    assert not FollowUpNotice.objects.exists()
    follow_up.refresh_from_db()
    assert follow_up.escalation_level == 0


def _written_digest() -> FollowUpNotice:
    owner = factories.consultant()
    _overdue(_engagement(lead=owner), owner_user=owner)
    follow_ups_flag_overdue(as_of=FLAGGED_AT)
    follow_ups_send_overdue_digests(as_of=NEXT_DAY)
    return FollowUpNotice.objects.get()


def test_the_send_task_retries_until_the_mail_server_accepts(flaky_mail: type[FlakyBackend]):
    # Given a written digest and a mail server that refuses twice
    notice = _written_digest()
    flaky_mail.fail_next(2)

    # When the send task runs
    result = send_follow_up_notice.apply(args=(notice.pk,))

    # Then the third attempt delivered one mail and the row says so
    assert result.successful()
    assert flaky_mail.refused == 2
    assert len(mail.outbox) == 1
    notice.refresh_from_db()
    assert (notice.attempts, notice.last_error) == (3, "")
    assert notice.delivered_at is not None


def test_the_send_task_gives_up_with_the_error_recorded(flaky_mail: type[FlakyBackend]):
    # Given a written digest and a mail server that never accepts
    notice = _written_digest()
    flaky_mail.fail_next(10_000)

    # When the send task runs out of retries
    result = send_follow_up_notice.apply(args=(notice.pk,))

    # Then it failed with every attempt and the last error on the row
    assert result.failed()
    assert mail.outbox == []
    notice.refresh_from_db()
    assert notice.attempts == REMINDER_MAX_RETRIES + 1
    assert "SMTPServerDisconnected" in notice.last_error
    assert notice.delivered_at is None


def test_a_delivered_notice_is_not_sent_again(flaky_mail: type[FlakyBackend]):
    # Given a digest already delivered
    notice = _written_digest()
    send_follow_up_notice.apply(args=(notice.pk,))

    # When its task is delivered a second time
    result = send_follow_up_notice.apply(args=(notice.pk,))

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
    FollowUp.objects.filter(pk=late.pk).update(overdue_at=dt.datetime(2026, 4, 19, 9, 0, tzinfo=UTC))
    fresh = _overdue(engagement, owner_user=owner, title="Just missed")
    FollowUp.objects.filter(pk=fresh.pk).update(due_at=dt.datetime(2026, 4, 20, 11, 0, tzinfo=UTC))
    time_machine.move_to(dt.datetime(2026, 4, 20, 12, 0, tzinfo=UTC), tick=False)

    # When the beat's overdue task runs
    with django_capture_on_commit_callbacks(execute=True):
        flagged = flag_overdue_follow_ups.apply().get()

    # Then it flagged the new item, digested yesterday's and escalated the late one up both rungs
    assert flagged == 1
    fresh.refresh_from_db()
    assert fresh.overdue_at == dt.datetime(2026, 4, 20, 12, 0, tzinfo=UTC)
    kinds = sorted(FollowUpNotice.objects.values_list("kind", "level"))
    assert kinds == [("escalation", 1), ("escalation", 2), ("overdue_digest", 0)]
    assert len(mail.outbox) == 3
    assert FollowUpNotice.objects.undelivered().count() == 0


def test_a_user_sees_only_the_notices_sent_to_them(world: Any):
    # Given a notice to the lead
    notice = FollowUpNotice.objects.create(
        recipient=world.lead, kind=FollowUpNotice.Kind.OVERDUE_DIGEST, window_key="2026-03-09"
    )

    # When each kind of user asks
    seen = {
        name: list(FollowUpNotice.objects.visible_to(user))
        for name, user in [
            ("lead", world.lead),
            ("consultant", world.consultant),
            ("administrator", world.administrator),
        ]
    }

    # Then the recipient and administrators see it, nobody else
    assert seen == {"lead": [notice], "consultant": [], "administrator": [notice]}
