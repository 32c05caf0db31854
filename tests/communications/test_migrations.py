"""Migrations that move data: what was recorded before is still there after."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import User
from communications import raid, services
from communications.models import Channel, FollowUp, FollowUpRedate, Occurrence, RaidItem
from pmaas.deadlines import end_of_day
from search.models import SearchDocument
from tests import factories

BEFORE = [("communications", "0005_notifications_silence_lean_follow_up_indexes")]
AFTER = [("communications", "0006_overdue_stamps")]


@pytest.mark.django_db(transaction=True)
def test_follow_ups_flagged_before_the_stamp_table_keep_their_overdue_time() -> None:
    # Given the schema before overdue stamps, with one flagged and one unflagged follow-up
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("accounts", "User").objects.create(username="lead-before-stamps")
    client = old.get_model("engagements", "Client").objects.create(name="Stamp Client")
    engagement = old.get_model("engagements", "Engagement").objects.create(
        client=client,
        name="Before stamps",
        code="STAMP-1",
        start_date=dt.date(2026, 1, 5),
        end_date=dt.date(2026, 12, 31),
    )
    follow_up = old.get_model("communications", "FollowUp")
    flagged_at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    flagged = follow_up.objects.create(
        engagement=engagement, title="Flagged", owner_user=user, due_at=flagged_at, overdue_at=flagged_at
    )
    unflagged = follow_up.objects.create(
        engagement=engagement, title="Not yet", owner_user=user, due_at=dt.datetime(2026, 9, 1, tzinfo=UTC)
    )

    # When migrating to the stamp table
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    stamp = new.get_model("communications", "FollowUpOverdue")
    stamps = dict(stamp.objects.values_list("follow_up_id", "overdue_at"))

    # Then the flagged one keeps its time and the other has no stamp
    assert stamps == {flagged.pk: flagged_at}
    assert unflagged.pk not in stamps

    # And the latest schema is back for the tests after this one
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_stored_grace_periods_that_reach_the_next_meeting_are_shortened() -> None:
    # Given channels stored before the check: daily with two days' grace, weekly with ten, weekly with one
    migration = import_module("communications.migrations.0013_grace_shorter_than_cadence")
    lead = factories.consultant()
    role = factories.make_role(engagement=factories.make_engagement(lead=lead))
    daily = factories.make_channel(role=role, owner=lead, recurrence_rule="FREQ=DAILY")
    weekly = factories.make_channel(role=role, owner=lead)
    kept = factories.make_channel(role=role, owner=lead, grace_period=dt.timedelta(days=1))
    Channel.objects.filter(pk=daily.pk).update(grace_period=dt.timedelta(days=2))
    Channel.objects.filter(pk=weekly.pk).update(grace_period=dt.timedelta(days=10))

    # When the data migration runs
    migration.shorten_overlapping_grace_periods(apps, None)

    # Then each grace period ends before the next meeting; one that already did is kept
    grace = dict(Channel.objects.values_list("pk", "grace_period"))
    assert grace[daily.pk] == dt.timedelta(hours=12)
    assert grace[weekly.pk] == dt.timedelta(days=2)
    assert grace[kept.pk] == dt.timedelta(days=1)


@pytest.mark.django_db
def test_items_recorded_for_a_day_before_due_zones_read_as_that_day_after_the_upgrade() -> None:
    # Given, recorded before due zones: an item a Berlin user gave a date (23:59 Berlin), one given
    # a time, and one a New York colleague re-dated to a day of theirs
    migration = import_module("communications.migrations.0025_follow_up_due_zone")
    berlin, new_york = factories.consultant(), factories.consultant()
    User.objects.filter(pk=berlin.pk).update(time_zone="Europe/Berlin")
    User.objects.filter(pk=new_york.pk).update(time_zone="America/New_York")
    engagement = factories.make_engagement(lead=berlin, members=(new_york,))
    berlin_zone = "Europe/Berlin"
    agreed_on = (timezone.now() + dt.timedelta(days=30)).date()
    day, timed, redated = (
        factories.make_follow_up(
            engagement=engagement, owner_user=berlin, title=title, due_at=end_of_day(agreed_on, berlin_zone)
        )
        for title in ("For a day", "For a time", "Re-dated")
    )
    FollowUp.objects.filter(pk=timed.pk).update(due_at=dt.datetime.combine(agreed_on, dt.time(9), tzinfo=UTC))
    FollowUp.objects.filter(pk__in=[day.pk, timed.pk, redated.pk]).update(created_by=berlin)
    redated.refresh_from_db()
    next_day_in_new_york = end_of_day(agreed_on + dt.timedelta(days=1), "America/New_York")
    services.follow_up_redate(actor=new_york, follow_up=redated, due_at=next_day_in_new_york)

    # When the data migration runs
    migration.backfill(apps, None)

    # Then each day item has the zone of its day, the timed one none, and the move reads day to day
    zones = dict(FollowUp.objects.values_list("title", "due_zone"))
    assert zones == {"For a day": "Europe/Berlin", "For a time": "", "Re-dated": "America/New_York"}
    move = FollowUpRedate.objects.get(follow_up=redated)
    assert (move.previous_due_zone, move.due_zone) == ("Europe/Berlin", "America/New_York")


@pytest.mark.django_db
def test_each_occurrence_gets_its_channels_engagement_on_the_upgrade() -> None:
    # Given occurrences of channels on two engagements, stored before the row kept its engagement
    # (here: each pointing at the wrong one, as an empty column would point at none)
    migration = import_module("communications.migrations.0028_occurrence_engagement")
    lead = factories.consultant()
    first, second = (factories.make_engagement(lead=lead) for _ in range(2))
    channels = [
        factories.make_channel(role=factories.make_role(engagement=engagement), owner=lead)
        for engagement in (first, second)
    ]
    due = dt.datetime(2026, 3, 2, 9, tzinfo=UTC)
    occurrences = [
        Occurrence.objects.create(channel=channel, due_at=due + dt.timedelta(days=7 * week))
        for channel in channels
        for week in range(3)
    ]
    Occurrence.objects.filter(engagement=first).update(engagement=second)
    Occurrence.objects.filter(channel=channels[1]).update(engagement=first)

    # When the data migration runs
    migration.backfill(apps, None)

    # Then every occurrence is on its channel's engagement again
    stored = dict(Occurrence.objects.values_list("pk", "engagement_id"))
    assert stored == {o.pk: o.channel.engagement_id for o in occurrences}
    assert Occurrence.objects.filter(engagement=first).count() == 3


@pytest.mark.django_db
def test_raid_items_found_by_search_are_dated_by_their_day_after_the_upgrade(time_machine) -> None:
    # Given a decision and a risk recorded in the evening of 10 March UTC (11 March in Berlin),
    # whose search documents carry, as before, the moment their rows were written
    migration = import_module("communications.migrations.0029_raid_item_search_documents_dated")
    time_machine.move_to(dt.datetime(2026, 3, 10, 23, 30, tzinfo=UTC), tick=False)
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    decision = raid.RaidFields(title="Go live ward by ward", decided_on=dt.date(2026, 3, 4))
    risk = raid.RaidFields(title="Vendor slips", likelihood=2, impact=3, review_on=dt.date(2026, 4, 1))
    for kind, values in (("decision", decision), ("risk", risk)):
        raid.raid_item_create(actor=lead, engagement=engagement, kind=kind, values=values)
    documents = SearchDocument.objects.filter(kind="raid_item")
    documents.update(happened_at=timezone.now())

    # When the data migration runs
    migration.redate(apps, None)

    # Then each document holds what the index writes now: the decision's day, the day the risk was raised
    kinds = dict(RaidItem.objects.values_list("pk", "kind"))
    assert {(kinds[d.object_id], d.happened_at) for d in documents} == {
        ("decision", dt.datetime(2026, 3, 4, tzinfo=UTC)),
        ("risk", dt.datetime(2026, 3, 11, tzinfo=UTC)),
    }
