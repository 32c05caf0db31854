"""The RAID review sweep: one notice per owner per day, listing what is late, never one per item."""

from __future__ import annotations

import datetime as dt
from datetime import UTC

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from communications import raid, tasks
from communications.escalation import follow_ups_send_overdue_digests
from notifications.models import Notification
from notifications.services import notification_preference_save
from tests import factories

pytestmark = pytest.mark.django_db

MORNING = dt.datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def _notices(user):
    return list(Notification.objects.filter(recipient=user, event="raid_review_due").order_by("created_at"))


def _late_items(engagement, owner, *, risks: int, assumptions: int) -> None:
    for n in range(risks):
        factories.make_raid_item(
            engagement=engagement, owner=owner, title=f"Risk {n}", review_on=dt.date(2026, 3, 9)
        )
    for n in range(assumptions):
        factories.make_raid_item(
            engagement=engagement,
            kind="assumption",
            owner=owner,
            title=f"Assumption {n}",
            validate_by=dt.date(2026, 3, 2),
        )


def test_an_owner_gets_one_notice_for_all_their_late_items_and_a_rerun_tells_nobody_again(world):
    # Given two risks past review and one assumption past validation owned by the lead,
    # and a risk reviewed on time (the world's, due 1 April)
    _late_items(world.mine.engagement, world.lead, risks=2, assumptions=1)

    # When the sweep runs twice the same morning
    raid.raid_reviews_flag(as_of=MORNING)
    raid.raid_reviews_flag(as_of=MORNING + dt.timedelta(hours=2))

    # Then the lead has one notice, saying what is late and where, linking to their items on the log
    [notice] = _notices(world.lead)
    assert notice.message == "RAID log: 2 risks past review and 1 assumption past validation — EHR-A (3)."
    assert notice.url.endswith(
        f"/engagements/{world.mine.engagement.pk}/raid/?owner={world.lead.pk}&status=open"
    )
    assert notice.engagement == world.mine.engagement


def test_a_new_day_brings_a_new_notice_while_items_stay_late(world):
    _late_items(world.mine.engagement, world.lead, risks=1, assumptions=0)

    # When the sweep runs just before and just after midnight in the owner's zone (UTC)
    raid.raid_reviews_flag(as_of=dt.datetime(2026, 3, 10, 23, 50, tzinfo=UTC))
    raid.raid_reviews_flag(as_of=dt.datetime(2026, 3, 11, 0, 10, tzinfo=UTC))
    raid.raid_reviews_flag(as_of=dt.datetime(2026, 3, 11, 18, 0, tzinfo=UTC))

    # Then one notice per day
    assert [n.key for n in _notices(world.lead)] == ["raid:2026-03-10", "raid:2026-03-11"]


def test_the_day_is_the_owners_own(world):
    # Given an owner in Sydney, whose 10 March has begun while UTC is still on the 9th
    world.lead.time_zone = "Australia/Sydney"
    world.lead.save()
    factories.make_raid_item(
        engagement=world.mine.engagement, owner=world.lead, review_on=dt.date(2026, 3, 9)
    )

    raid.raid_reviews_flag(as_of=dt.datetime(2026, 3, 9, 14, 0, tzinfo=UTC))

    [notice] = _notices(world.lead)
    assert notice.key == "raid:2026-03-10"


def test_items_due_today_closed_or_reviewed_are_not_late(world):
    due_today = factories.make_raid_item(
        engagement=world.mine.engagement, owner=world.lead, review_on=dt.date(2026, 3, 10)
    )
    closed = factories.make_raid_item(
        engagement=world.mine.engagement, owner=world.lead, review_on=dt.date(2026, 3, 1)
    )
    raid.raid_item_transition(actor=world.lead, item=closed, to_status="closed")
    assert due_today.pk

    assert raid.raid_reviews_flag(as_of=MORNING) == 0
    assert _notices(world.lead) == []


def test_an_item_without_an_owner_is_the_engagement_leads(world):
    factories.make_raid_item(engagement=world.other.engagement, review_on=dt.date(2026, 3, 1))

    raid.raid_reviews_flag(as_of=MORNING)

    [notice] = _notices(world.outsider_consultant)
    assert "ERP-B (1)" in notice.message
    # And its link shows the open items, not only the lead's own, which would hide this one
    assert notice.url.endswith(f"/engagements/{world.other.engagement.pk}/raid/?status=open")


def test_one_notice_names_every_engagement_of_the_owner(world):
    factories.make_raid_item(
        engagement=world.sibling.engagement, owner=world.outsider_consultant, review_on=dt.date(2026, 3, 1)
    )
    factories.make_raid_item(
        engagement=world.other.engagement, owner=world.outsider_consultant, review_on=dt.date(2026, 3, 1)
    )

    # When the beat's task runs (it takes the time and calls the sweep)
    with time_machine.travel(MORNING, tick=False):
        tasks.flag_raid_reviews()

    [notice] = _notices(world.outsider_consultant)
    assert "DATA-A (1)" in notice.message and "ERP-B (1)" in notice.message
    assert notice.engagement is None


@pytest.mark.parametrize("late", [2, 12])
def test_the_sweep_reads_a_fixed_number_of_queries(world, django_assert_num_queries, late):
    _late_items(world.mine.engagement, world.lead, risks=late, assumptions=late)
    _late_items(world.other.engagement, None, risks=late, assumptions=0)

    # candidates, leads of unowned items, owners' zones, then recording: preferences and the insert
    with django_assert_num_queries(5):
        raid.raid_reviews_flag(as_of=MORNING)


# The daily digest: Tuesday 10 March's notices are mailed in Wednesday's digest at 08:00 (UTC owners).
DIGEST_DUE = dt.datetime(2026, 3, 11, 8, 5, tzinfo=UTC)


def _digest(as_of: dt.datetime, callbacks) -> int:
    with callbacks(execute=True):
        return follow_ups_send_overdue_digests(as_of=as_of)


def test_an_overdue_review_reaches_the_owners_daily_digest_once_with_its_link(
    world, eager_tasks, django_capture_on_commit_callbacks
):
    # Given the lead told in the app of a risk past review
    _late_items(world.mine.engagement, world.lead, risks=1, assumptions=0)
    raid.raid_reviews_flag(as_of=MORNING)

    # When their digest is due, and the digest sweep runs again
    written = _digest(DIGEST_DUE, django_capture_on_commit_callbacks)
    again = _digest(DIGEST_DUE + dt.timedelta(minutes=15), django_capture_on_commit_callbacks)

    # Then one mail says so in its subject and lists it on one line, with the link to their items
    assert (written, again) == (1, 0)
    [message] = mail.outbox
    assert message.to == [world.lead.email]
    assert message.subject == "Daily digest: RAID reviews overdue"
    link = f"/engagements/{world.mine.engagement.pk}/raid/?owner={world.lead.pk}&status=open"
    assert f"- RAID log: 1 risk past review — EHR-A (1). {settings.SITE_URL}{link}" in message.body
    assert isinstance(message, EmailMultiAlternatives)
    html = str(message.alternatives[0][0])
    assert "RAID log reviews overdue" in html and link.replace("&", "&amp;") in html
    assert Notification.objects.get(recipient=world.lead, event="raid_review_due").mailed_at == DIGEST_DUE


def test_a_digest_lists_only_the_newest_notice_and_none_once_everything_is_reviewed(
    world, eager_tasks, django_capture_on_commit_callbacks
):
    # Given the lead told on Monday of one late risk and on Tuesday of two, and the outsider told
    # on Tuesday of a risk they reviewed before their digest came
    _late_items(world.mine.engagement, world.lead, risks=1, assumptions=0)
    raid.raid_reviews_flag(as_of=MORNING - dt.timedelta(days=1))
    factories.make_raid_item(
        engagement=world.mine.engagement, owner=world.lead, title="Late too", review_on=dt.date(2026, 3, 9)
    )
    reviewed = factories.make_raid_item(
        engagement=world.other.engagement, owner=world.outsider_consultant, review_on=dt.date(2026, 3, 9)
    )
    raid.raid_reviews_flag(as_of=MORNING)
    raid.raid_risk_review(
        actor=world.outsider_consultant,
        item=reviewed,
        likelihood=2,
        impact=2,
        trend="falling",
        next_review_on=dt.date(2026, 4, 10),
        as_of=MORNING + dt.timedelta(hours=1),
    )

    # When their digests are due
    _digest(DIGEST_DUE, django_capture_on_commit_callbacks)

    # Then the lead's lists Tuesday's notice alone, Monday's counted as told; the outsider gets none
    [message] = mail.outbox
    assert message.to == [world.lead.email]
    assert "2 risks past review" in message.body and "1 risk past review" not in message.body
    assert not Notification.objects.filter(recipient=world.lead, mailed_at__isnull=True).exists()
    assert Notification.objects.get(recipient=world.outsider_consultant).mailed_at is None


def test_an_owner_who_turned_raid_review_mail_off_is_told_in_the_app_only(
    world, eager_tasks, django_capture_on_commit_callbacks
):
    notification_preference_save(user=world.lead, raid_review_due_email=False)
    _late_items(world.mine.engagement, world.lead, risks=1, assumptions=0)
    raid.raid_reviews_flag(as_of=MORNING)

    assert _digest(DIGEST_DUE, django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []
    [notice] = _notices(world.lead)
    assert (notice.in_app, notice.email) == (True, False)
