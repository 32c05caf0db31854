"""How much mail a person gets: the digest by default, one at-once mail per sweep, an hourly cap."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pytest_django.fixtures import Settings

from accounts.models import User
from communications.escalation import (
    at_once_key,
    events_mail_at_once,
    follow_ups_send_overdue_digests,
    follow_ups_sweep_overdue,
)
from communications.models import FollowUp, SilenceFlag
from communications.scheduling import occurrences_sweep
from communications.services import follow_up_complete
from communications.silence import silences_flag
from demo.portfolio import demo_load
from engagements.models import Engagement
from notifications.models import Notification, NotificationEvent, OutboxMessage
from notifications.outbox import OutboundEmail, outbox_add, outbox_reconcile
from notifications.services import NotificationDraft, notification_preference_save, notifications_record
from tests import factories

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# Tuesday 10 March 2026, mid-morning: past the 08:00 digest slot of the demo's UTC and European users.
DEMO_LOADED = dt.datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
# Thursday 2 April 2026, before Good Friday: ten working days later is 20 April.
DUE = dt.datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
SWEEP = dt.datetime(2026, 4, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def ladder(settings: Settings) -> None:
    settings.FOLLOW_UP_ESCALATION_DAYS = (2, 5)


def _first_sweep(as_of: dt.datetime, callbacks: Any) -> None:
    """Every sweep the beat starts with, in the order of its schedule, then the reconciler."""
    with callbacks(execute=True):
        follow_ups_sweep_overdue(as_of=as_of)
        follow_ups_send_overdue_digests(as_of=as_of)
        occurrences_sweep(as_of=as_of)
        silences_flag(as_of=as_of)
        outbox_reconcile(as_of=as_of)


def _written_since_load() -> Any:
    """The outbox's messages written by the sweeps, not the demo history's sponsor updates."""
    return OutboxMessage.objects.filter(created_at__gt=DEMO_LOADED)


def _mails_by_user() -> dict[str, Counter[str]]:
    mails: dict[str, Counter[str]] = {}
    for message in _written_since_load().select_related("recipient"):
        assert message.recipient is not None
        mails.setdefault(message.recipient.username, Counter())[message.kind] += 1
    return mails


def _late_item(engagement: Engagement, owner: User, title: str) -> FollowUp:
    follow_up = factories.make_follow_up(engagement=engagement, owner_user=owner, title=title)
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=DUE)
    return follow_up


def _engagement(lead: User, owner: User) -> Engagement:
    engagement = factories.make_engagement(lead=lead, members=(owner,))
    Engagement.objects.filter(pk=engagement.pk).update(country="DE")
    return engagement


def test_the_demos_first_sweep_mails_each_user_at_most_one_digest_and_no_escalation(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given the demo portfolio, loaded on a Tuesday morning, whose late items escalate at once
    demo_load(now=DEMO_LOADED)
    practice = User.objects.get(username="practice")

    # When the beat's first sweeps run a minute later
    _first_sweep(DEMO_LOADED + dt.timedelta(minutes=1), django_capture_on_commit_callbacks)

    # Then every escalation reached its recipient in the app, and nobody got a mail of one
    escalated = Notification.objects.filter(recipient=practice, event=NotificationEvent.FOLLOW_UP_ESCALATED)
    assert escalated.count() > 5
    first = _mails_by_user()
    assert first, "the demo's first sweep mails its digests"
    for username, kinds in first.items():
        # Each user got at most one mail besides reminders: their digest. A check-in reminder is
        # mailed on its own, one per planned meeting coming up, since it must arrive before it.
        assert set(kinds) <= {OutboxMessage.Kind.OVERDUE_DIGEST, OutboxMessage.Kind.CHECK_IN_REMINDER}
        assert kinds[OutboxMessage.Kind.OVERDUE_DIGEST] <= 1, (username, kinds)
    assert len(mail.outbox) == _written_since_load().count()

    # When the sweeps run again five minutes later
    _first_sweep(DEMO_LOADED + dt.timedelta(minutes=6), django_capture_on_commit_callbacks)

    # Then no second digest, and still no mail of an escalation
    for username, kinds in _mails_by_user().items():
        assert kinds[OutboxMessage.Kind.OVERDUE_DIGEST] <= 1, username
        assert set(kinds) <= {OutboxMessage.Kind.OVERDUE_DIGEST, OutboxMessage.Kind.CHECK_IN_REMINDER}


def test_the_demos_first_sweep_mails_at_once_in_one_mail_what_the_practice_lead_chose(
    eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given the demo portfolio, and a practice lead who wants escalations at once
    demo_load(now=DEMO_LOADED)
    practice = User.objects.get(username="practice")
    notification_preference_save(user=practice, follow_up_escalated_at_once=True)
    as_of = DEMO_LOADED + dt.timedelta(minutes=1)

    # When the beat's first sweeps run, and the overdue sweep runs again at the same moment
    _first_sweep(as_of, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        follow_ups_sweep_overdue(as_of=as_of)

    # Then the practice lead got one mail listing every escalation of the sweep
    escalated = Notification.objects.filter(recipient=practice, event=NotificationEvent.FOLLOW_UP_ESCALATED)
    told = [m for m in mail.outbox if m.to == [practice.email]]
    assert len(told) == 1
    assert told[0].subject == f"Just now: {escalated.count()} follow-ups escalated to you"
    for notification in escalated:
        assert notification.message in told[0].body
    notice = OutboxMessage.objects.get(recipient=practice)
    assert notice.idempotency_key == at_once_key(recipient_id=practice.pk, as_of=as_of)
    assert sorted(notice.about["notification_ids"]) == sorted(n.pk for n in escalated)
    assert not escalated.filter(mailed_at__isnull=True).exists()


def test_one_at_once_mail_per_recipient_per_sweep_and_nothing_of_it_again_in_the_digest(
    ladder: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given an owner who wants overdue follow-ups at once and gets missed check-ins in the
    # digest, and a lead who wants escalations at once, with two items ten working days late
    owner, lead = factories.consultant(), factories.consultant()
    notification_preference_save(user=owner, follow_up_overdue_at_once=True)
    notification_preference_save(user=lead, follow_up_escalated_at_once=True)
    engagement = _engagement(lead, owner)
    first = _late_item(engagement, owner, "Sign the SOW")
    second = _late_item(engagement, owner, "Send the RACI")
    factories.make_notification(
        recipient=owner,
        engagement=engagement,
        event=NotificationEvent.CHECK_IN_MISSED,
        message="Steering committee with Ana Silva was missed.",
        created_at=SWEEP - dt.timedelta(minutes=30),
    )

    # When the overdue sweep runs, then again at the same moment and five minutes later
    with django_capture_on_commit_callbacks(execute=True):
        follow_ups_sweep_overdue(as_of=SWEEP)
        follow_ups_sweep_overdue(as_of=SWEEP)
        follow_ups_sweep_overdue(as_of=SWEEP + dt.timedelta(minutes=5))

    # Then the owner got one mail of both overdue items, and the lead one of both escalations
    by_recipient = {m.to[0]: m for m in mail.outbox}
    assert len(mail.outbox) == 2
    assert by_recipient[owner.email].subject == "Just now: 2 follow-ups overdue"
    assert by_recipient[lead.email].subject == "Just now: 2 follow-ups escalated to you"
    for message in by_recipient.values():
        assert first.title in message.body and second.title in message.body
        assert "Steering committee" not in message.body
    assert OutboxMessage.objects.filter(kind=OutboxMessage.Kind.AT_ONCE).count() == 2

    # When the next morning's digests are written
    with django_capture_on_commit_callbacks(execute=True):
        follow_ups_send_overdue_digests(as_of=SWEEP + dt.timedelta(hours=20, minutes=5))

    # Then the owner's digest lists the missed check-in only, and the lead gets none
    digests = mail.outbox[2:]
    assert [m.to for m in digests] == [[owner.email]]
    assert digests[0].subject == "Daily digest: 1 check-in missed"
    assert first.title not in digests[0].body and second.title not in digests[0].body
    assert not Notification.objects.filter(mailed_at__isnull=True, email=True).exists()


def test_past_the_hourly_cap_the_rest_wait_and_come_together_in_the_next_mail(
    settings: Settings, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a cap of three immediate mails an hour, a lead who wants escalations at once,
    # and a check-in reminder mailed to them at 12:00
    settings.EMAIL_HOURLY_CAP = 3
    lead = factories.consultant()
    notification_preference_save(user=lead, follow_up_escalated_at_once=True)
    with django_capture_on_commit_callbacks(execute=True):
        outbox_add(
            emails=[
                OutboundEmail(
                    kind=OutboxMessage.Kind.CHECK_IN_REMINDER,
                    key="check_in_reminder:occurrence:1",
                    to=lead.email,
                    subject="Reminder",
                    text="Reminder",
                    recipient_id=lead.pk,
                )
            ],
            as_of=SWEEP,
        )

    # When an escalation arrives at each sweep, every ten minutes for forty minutes
    written = []
    for minutes in range(0, 50, 10):
        as_of = SWEEP + dt.timedelta(minutes=minutes)
        factories.make_notification(
            recipient=lead,
            event=NotificationEvent.FOLLOW_UP_ESCALATED,
            message=f"Item {minutes} is escalated to you.",
            created_at=as_of,
        )
        with django_capture_on_commit_callbacks(execute=True):
            written.append(events_mail_at_once(as_of=as_of))

    # Then the reminder and two at-once mails filled the hour, and the other three escalations waited
    assert written == [1, 1, 0, 0, 0]
    assert len(mail.outbox) == 3

    # When the hour since the reminder has passed and the next sweep runs, then again
    with django_capture_on_commit_callbacks(execute=True):
        late = events_mail_at_once(as_of=SWEEP + dt.timedelta(minutes=60, seconds=1))
        again = events_mail_at_once(as_of=SWEEP + dt.timedelta(minutes=65))

    # Then one mail lists the three held back, with links, and the cap is explained
    assert (late, again) == (1, 0)
    summary = mail.outbox[3]
    assert summary.subject == "Just now: 3 follow-ups escalated to you"
    assert all(f"Item {minutes} is escalated" in summary.body for minutes in (20, 30, 40))
    assert "Item 10 " not in summary.body
    assert "at most 3 mails like this an hour" in summary.body
    assert isinstance(summary, EmailMultiAlternatives)
    assert "<h2>Escalated to you</h2>" in str(summary.alternatives[0][0])
    assert not Notification.objects.filter(mailed_at__isnull=True).exists()


@pytest.mark.parametrize("events", [3, 30])
def test_the_at_once_mail_runs_a_fixed_number_of_queries(events: int):
    # Given events of three recipients who want them at once
    users = [factories.consultant() for _ in range(3)]
    for user in users:
        notification_preference_save(
            user=user, follow_up_escalated_at_once=True, check_in_missed_at_once=True
        )
    for n in range(events):
        factories.make_notification(
            recipient=users[n % 3],
            event=(NotificationEvent.FOLLOW_UP_ESCALATED, NotificationEvent.CHECK_IN_MISSED)[n % 2],
            message=f"Event {n}",
            created_at=SWEEP,
        )

    # When the at-once mail is written (the send tasks are not run here)
    with CaptureQueriesContext(connection) as queries:
        written = events_mail_at_once(as_of=SWEEP)

    # Then three mails in the same queries whatever the number of events: a savepoint, the locked
    # events, recipients, the hour's mail counts, the stamp, the outbox's insert, and the release
    assert written == 3
    assert len(queries) == 7, [q["sql"] for q in queries.captured_queries]


def test_the_digest_leaves_out_what_was_put_right_before_it_went(
    ladder: None, eager_tasks: None, django_capture_on_commit_callbacks: Any
):
    # Given a lead with two items escalated to her and two sponsors flagged as gone quiet
    owner, lead = factories.consultant(), factories.consultant()
    engagement = _engagement(lead, owner)
    done = _late_item(engagement, owner, "Sign the SOW")
    still_late = _late_item(engagement, owner, "Send the RACI")
    with django_capture_on_commit_callbacks(execute=True):
        follow_ups_sweep_overdue(as_of=SWEEP)
    flags = []
    for name in ("Ana Silva", "Rui Costa"):
        stakeholder = factories.make_stakeholder(client=engagement.client, name=name)
        flag = SilenceFlag.objects.create(
            engagement=engagement,
            stakeholder=stakeholder,
            raised_at=SWEEP,
            allowed_silence=dt.timedelta(days=21),
        )
        notifications_record(
            drafts=[
                NotificationDraft(
                    recipient_id=lead.pk,
                    event=NotificationEvent.SPONSOR_SILENT,
                    key=f"silence:{flag.pk}",
                    message=f"{name} has gone quiet on {engagement.code}.",
                    engagement_id=engagement.pk,
                )
            ],
            as_of=SWEEP,
        )
        flags.append(flag)

    # When, before her next digest, one item is done and one sponsor is met again
    follow_up_complete(actor=owner, follow_up=done, as_of=SWEEP + dt.timedelta(hours=2))
    SilenceFlag.objects.filter(pk=flags[0].pk).update(cleared_at=SWEEP + dt.timedelta(hours=3))
    with django_capture_on_commit_callbacks(execute=True):
        follow_ups_send_overdue_digests(as_of=SWEEP + dt.timedelta(hours=20, minutes=5))

    # Then her digest reports only what is still open: one escalation and one silence
    digest = next(m for m in mail.outbox if m.to == [lead.email])
    assert still_late.title in digest.body and "Rui Costa" in digest.body
    assert done.title not in digest.body and "Ana Silva" not in digest.body
    assert digest.subject == "Daily digest: 1 follow-up escalated to you, 1 stakeholder gone quiet"
