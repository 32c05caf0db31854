from __future__ import annotations

import datetime as dt
from typing import Any

from communications.health import AMBER, GREEN, RED, HealthAssessment, relationship_health

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def _health(**overrides: Any) -> HealthAssessment:
    values: dict[str, Any] = {
        "as_of": NOW,
        "last_contact_at": NOW - dt.timedelta(days=3),
        "next_due_at": NOW + dt.timedelta(days=4),
        "overdue_follow_ups": 0,
        "latest_sentiment": 0,
        "level_gap": 0,
    }
    values.update(overrides)
    return relationship_health(**values)


def test_recent_contact_on_plan_is_green_without_reasons():
    # Given contact three days ago on a weekly plan and nothing else wrong
    health = _health()

    # Then the relationship is green and nothing is said against it
    assert health.status == GREEN
    assert health.reasons == ()


def test_silence_longer_than_the_planned_interval_is_amber():
    # Given a weekly channel (last contact to next due: 7 days) and 10 days of silence
    health = _health(last_contact_at=NOW - dt.timedelta(days=10), next_due_at=NOW - dt.timedelta(days=3))

    # Then it is amber, saying how long and since when the planned meeting is late
    assert health.status == AMBER
    assert health.reasons == ("No contact for 10 days; the planned meeting was due 3 days ago",)


def test_silence_longer_than_twice_the_planned_interval_is_red():
    # Given a weekly channel and 15 days of silence
    health = _health(last_contact_at=NOW - dt.timedelta(days=15), next_due_at=NOW - dt.timedelta(days=8))

    # Then it is red
    assert health.status == RED
    assert health.reasons == ("No contact for over 2 weeks, more than twice as long as planned (7 days)",)


def test_without_a_channel_red_comes_after_45_days_and_amber_after_21():
    # Given no planned channel, then 21 days is still green, 22 amber, 45 amber and 46 red
    amber = _health(last_contact_at=NOW - dt.timedelta(days=22), next_due_at=None)
    assert amber.reasons == ("No contact for over 3 weeks and no planned channel (limit: 3 weeks)",)
    assert _health(last_contact_at=NOW - dt.timedelta(days=21), next_due_at=None).status == GREEN
    assert _health(last_contact_at=NOW - dt.timedelta(days=22), next_due_at=None).status == AMBER
    assert _health(last_contact_at=NOW - dt.timedelta(days=45), next_due_at=None).status == AMBER
    red = _health(last_contact_at=NOW - dt.timedelta(days=46), next_due_at=None)
    assert red.status == RED
    assert red.reasons == ("No contact for almost 7 weeks and no planned channel (limit: 45 days)",)


def test_one_overdue_follow_up_is_amber_and_two_are_red():
    assert _health(overdue_follow_ups=1).reasons == ("1 overdue follow-up",)
    assert _health(overdue_follow_ups=1).status == AMBER
    assert _health(overdue_follow_ups=2).status == RED
    assert _health(overdue_follow_ups=2).reasons == ("2 overdue follow-ups",)


def test_negative_latest_sentiment_is_amber():
    health = _health(latest_sentiment=-1)
    assert health.status == AMBER
    assert health.reasons == ("Latest check-in was negative",)


def test_a_level_gap_of_two_is_amber_and_of_one_is_not():
    assert _health(level_gap=1).status == GREEN
    health = _health(level_gap=2)
    assert health.status == AMBER
    assert health.reasons == ("Engagement level 2 steps below the desired one",)


def test_no_contact_at_all_is_amber():
    health = _health(last_contact_at=None, next_due_at=None)
    assert health.status == AMBER
    assert health.reasons == ("No contact recorded yet",)


def test_red_lists_the_amber_reasons_too():
    # Given two overdue follow-ups and a negative last check-in
    health = _health(overdue_follow_ups=2, latest_sentiment=-2)

    # Then it is red and both reasons are given, the red one first
    assert health.status == RED
    assert health.reasons == ("2 overdue follow-ups", "Latest check-in was negative")
