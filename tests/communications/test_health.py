"""Engagement health: each factor at its thresholds, the colour they add up to, and where it is stored."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from communications import health
from communications.health import (
    AMBER,
    GREEN,
    RED,
    EngagementSignals,
    HealthThresholds,
    engagement_health,
    engagement_health_refresh,
    engagements_recompute_health,
    health_thresholds,
)
from communications.models import CommunicationObligation, FollowUp, Sentiment, SilenceFlag
from communications.scheduling import Compliance
from communications.services import FollowUpSpec, follow_up_create, follow_ups_complete_bulk
from engagements.models import Engagement, Milestone
from engagements.services import change_request_create
from stakeholders.models import Level, Scale, StakeholderRole
from tests import factories

DEFAULTS = HealthThresholds()
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


def _assess(**signals: Any) -> health.HealthAssessment:
    return engagement_health(signals=EngagementSignals(engagement_id=7, **signals), thresholds=DEFAULTS)


def _only(**signals: Any) -> tuple[str, str | None]:
    """The colour, and the severity of the one factor the signals raise (None when none)."""
    assessment = _assess(**signals)
    assert len(assessment.factors) <= 1
    return assessment.status, (assessment.factors[0].severity if assessment.factors else None)


def test_an_engagement_without_any_warning_sign_is_green_and_says_nothing_against_it():
    # Given full compliance and nothing overdue, silent, late, negative or short
    assessment = _assess(compliance=Compliance.of(due=10, held_on_time=10), sentiment_recent=1.0)

    # Then it is green without factors
    assert (assessment.status, assessment.factors) == (GREEN, ())


@pytest.mark.parametrize(
    ("due", "held", "expected"),
    [(10, 9, GREEN), (10, 8, AMBER), (10, 7, AMBER), (20, 13, RED), (2, 0, GREEN)],
    ids=["90% green", "80% amber", "70% amber", "65% red", "too few due to judge"],
)
def test_compliance_turns_amber_below_90_and_red_below_70_percent(due, held, expected):
    # Given compliance of held out of due over the window
    status, severity = _only(compliance=Compliance.of(due=due, held_on_time=held))

    # Then the colour follows the bands, the factor's severity with it
    assert status == expected
    assert severity == (None if expected == GREEN else expected)


@pytest.mark.parametrize(
    ("count", "oldest_days", "expected"),
    [
        (2, 29, GREEN),
        (3, 1, AMBER),
        (1, 30, AMBER),
        (7, 119, AMBER),
        (8, 1, RED),
        (1, 120, RED),
    ],
    ids=["two recent", "three", "one a month late", "seven", "eight", "one four months late"],
)
def test_overdue_follow_ups_count_by_number_and_by_age(count, oldest_days, expected):
    status, severity = _only(overdue_follow_ups=count, oldest_overdue_days=oldest_days)

    assert status == expected
    assert severity == (None if expected == GREEN else expected)


def test_one_silent_sponsor_is_amber_and_links_to_the_person():
    assessment = _assess(silent=((31, "Dr Anna Weber"),))

    assert assessment.status == AMBER
    (factor,) = assessment.factors
    assert factor.code == "silent_stakeholders"
    assert "Dr Anna Weber" in factor.detail
    assert factor.evidence == {"url": "stakeholder_detail", "args": [31], "fragment": ""}


def test_two_silent_sponsors_are_red_and_link_to_the_gone_quiet_section():
    assessment = _assess(silent=((31, "Dr Anna Weber"), (32, "Robert Chen")))

    assert assessment.status == RED
    assert assessment.factors[0].evidence == {
        "url": "engagement_detail",
        "args": [7],
        "fragment": "gone-quiet",
    }


@pytest.mark.parametrize(("late_days", "expected"), [(0, GREEN), (1, AMBER), (13, AMBER), (14, RED)], ids=str)
def test_a_milestone_past_its_day_is_amber_and_red_after_two_weeks(late_days, expected):
    status, _ = _only(late_milestones=1 if late_days else 0, longest_milestone_slip_days=late_days)

    assert status == expected


@pytest.mark.parametrize(
    ("recent", "previous", "expected"),
    [
        (None, 1.0, GREEN),
        (0.0, 0.5, GREEN),
        (0.6, 1.5, GREEN),
        (0.5, 1.5, AMBER),
        (-0.5, None, AMBER),
        (-1.0, 0.0, RED),
    ],
    ids=["no recent check-in", "steady", "small drop", "drop of one", "negative", "very negative"],
)
def test_sentiment_is_amber_when_negative_or_falling_and_red_when_clearly_negative(
    recent, previous, expected
):
    status, _ = _only(sentiment_recent=recent, sentiment_previous=previous)

    assert status == expected


@pytest.mark.parametrize(("count", "expected"), [(0, GREEN), (1, AMBER), (2, AMBER), (3, RED)], ids=str)
def test_obligations_past_their_deadline_are_amber_then_red(count, expected):
    status, _ = _only(overdue_obligations=count)

    assert status == expected


@pytest.mark.parametrize(("steps", "expected"), [(1, GREEN), (2, AMBER), (3, AMBER), (4, RED)], ids=str)
def test_a_key_stakeholder_short_of_the_desired_engagement_is_amber_then_red(steps, expected):
    status, _ = _only(level_gaps=((40, "Stefan Wolf", steps),))

    assert status == expected


def test_four_amber_factors_together_make_red_and_say_so():
    # Given four signals each amber on its own
    amber_four = {
        "compliance": Compliance.of(due=10, held_on_time=8),
        "overdue_follow_ups": 3,
        "overdue_obligations": 1,
        "sentiment_recent": -0.5,
    }

    # When three or four of them apply
    three = _assess(**{k: v for k, v in amber_four.items() if k != "sentiment_recent"})
    four = _assess(**amber_four)

    # Then three are amber, four are red with the reason first
    assert three.status == AMBER
    assert four.status == RED
    assert four.factors[0].code == "accumulated"
    assert [f.severity for f in four.factors[1:]] == [AMBER] * 4


def test_red_factors_come_before_amber_ones():
    assessment = _assess(compliance=Compliance.of(due=10, held_on_time=8), overdue_obligations=3)

    assert [f.code for f in assessment.factors] == ["overdue_obligations", "compliance"]


def test_thresholds_come_from_settings_by_name(settings):
    # Given a firm that tolerates compliance down to 80 %
    settings.HEALTH_THRESHOLDS = {"compliance_amber_below": 80}

    # When 85 % is judged
    assessment = engagement_health(
        signals=EngagementSignals(engagement_id=1, compliance=Compliance.of(due=20, held_on_time=17)),
        thresholds=health_thresholds(),
    )

    # Then it is green, where the default would say amber
    assert assessment.status == GREEN
    assert _assess(compliance=Compliance.of(due=20, held_on_time=17)).status == AMBER


def test_an_unknown_threshold_name_is_a_configuration_error(settings):
    settings.HEALTH_THRESHOLDS = {"complience_amber_below": 80}

    with pytest.raises(ImproperlyConfigured, match="complience_amber_below"):
        health_thresholds()


# --- read from the database and stored ---------------------------------------------------------------


@pytest.fixture
def troubled(db):
    """An engagement with one of every warning sign, as of NOW."""
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    key = factories.make_role(
        engagement=engagement,
        kind=StakeholderRole.Kind.SPONSOR,
        influence=Scale.VERY_HIGH,
        current_level=Level.RESISTANT,
        desired_level=Level.SUPPORTIVE,
    )
    channel = factories.make_channel(role=key, owner=lead)
    for week, outcome in enumerate(["on_time", "missed", "missed", "on_time"]):
        factories.make_occurrence(
            channel=channel, due_at=NOW - dt.timedelta(days=7 * (week + 1)), outcome=outcome
        )
    factories.make_follow_up(engagement=engagement, owner_user=lead, due_at=NOW + dt.timedelta(days=1))
    FollowUp.objects.filter(engagement=engagement).update(due_at=NOW - dt.timedelta(days=40))
    Milestone.objects.create(
        engagement=engagement, name="Go-live", due_on=(NOW - dt.timedelta(days=20)).date()
    )
    factories.make_check_in(
        engagement=engagement,
        attendees=[key.stakeholder],
        actor=lead,
        occurred_at=NOW - dt.timedelta(days=3),
        sentiment=Sentiment.VERY_NEGATIVE,
        as_of=NOW,
    )
    change = change_request_create(
        actor=lead, engagement=engagement, title="Scope", kind="scope", raised_on=NOW.date()
    )
    CommunicationObligation.objects.create(
        engagement=engagement,
        change_request=change,
        stakeholder=key.stakeholder,
        opened_at=NOW - dt.timedelta(days=10),
        deadline=NOW - dt.timedelta(days=2),
    )
    SilenceFlag.objects.create(
        engagement=engagement,
        stakeholder=key.stakeholder,
        raised_at=NOW - dt.timedelta(days=1),
        allowed_silence=dt.timedelta(days=10),
    )
    return engagement


def test_refresh_reads_every_signal_and_stores_colour_factors_and_time(troubled):
    # When the engagement's health is recomputed as of NOW
    engagement_health_refresh(engagement_ids=[troubled.pk], as_of=NOW)

    # Then every factor is stored, worst first, with when it was computed
    stored = Engagement.objects.get(pk=troubled.pk)
    assert stored.health == RED
    assert stored.health_computed_at == NOW
    codes = {factor["code"] for factor in stored.health_factors}
    assert codes == {
        "compliance",
        "overdue_follow_ups",
        "silent_stakeholders",
        "milestone_slippage",
        "sentiment",
        "overdue_obligations",
        "engagement_gap",
    }
    severities = [factor["severity"] for factor in stored.health_factors]
    assert severities == sorted(severities, key=lambda s: s != RED)


def test_a_recomputation_does_not_make_an_open_edit_form_stale(troubled):
    before = Engagement.objects.get(pk=troubled.pk).updated_at

    engagement_health_refresh(engagement_ids=[troubled.pk], as_of=NOW)

    assert Engagement.objects.get(pk=troubled.pk).updated_at == before


def test_completing_the_overdue_follow_ups_recomputes_health_at_once(db):
    # Given an engagement amber for three overdue follow-ups
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    for _ in range(3):
        factories.make_follow_up(engagement=engagement, owner_user=lead)
    FollowUp.objects.filter(engagement=engagement).update(
        due_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    )
    engagements_recompute_health(as_of=dt.datetime.now(dt.UTC))
    assert Engagement.objects.get(pk=engagement.pk).health == AMBER

    # When the lead completes them
    follow_ups_complete_bulk(
        actor=lead,
        engagement=engagement,
        follow_up_ids=FollowUp.objects.filter(engagement=engagement).values_list("pk", flat=True),
    )

    # Then the stored health is green again, without waiting for the sweep
    stored = Engagement.objects.get(pk=engagement.pk)
    assert (stored.health, stored.health_factors) == (GREEN, [])


def test_creating_a_follow_up_recomputes_the_health(db):
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)

    follow_up_create(
        actor=lead,
        engagement=engagement,
        spec=FollowUpSpec(
            title="Call back", due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1), owner_user=lead
        ),
    )

    assert Engagement.objects.get(pk=engagement.pk).health_computed_at is not None


def _portfolio(size: int) -> None:
    lead = factories.consultant()
    for _ in range(size):
        engagement = factories.make_engagement(lead=lead)
        role = factories.make_role(engagement=engagement, influence=Scale.HIGH, current_level=Level.UNAWARE)
        factories.make_follow_up(engagement=engagement, owner_user=lead)
        Milestone.objects.create(
            engagement=engagement, name="Design", due_on=(NOW - dt.timedelta(days=3)).date()
        )
        factories.make_check_in(
            engagement=engagement,
            attendees=[role.stakeholder],
            actor=lead,
            occurred_at=NOW - dt.timedelta(days=1),
            sentiment=Sentiment.NEUTRAL,
            as_of=NOW,
        )


def test_the_sweep_costs_the_same_queries_per_batch_at_any_size(db, django_assert_num_queries):
    # Given a small portfolio and the sweep's queries over it
    _portfolio(2)
    with CaptureQueriesContext(connection) as small:
        assert engagements_recompute_health(as_of=NOW, batch_size=50) == 2

    # When the portfolio triples
    _portfolio(4)

    # Then the sweep costs the same queries, and every engagement got its colour
    with django_assert_num_queries(len(small.captured_queries)):
        assert engagements_recompute_health(as_of=NOW, batch_size=50) == 6
    assert set(Engagement.objects.values_list("health", flat=True)) == {AMBER}


def test_the_sweep_walks_the_portfolio_in_batches(db):
    _portfolio(5)

    assert engagements_recompute_health(as_of=NOW, batch_size=2) == 5
    assert not Engagement.objects.filter(health_computed_at__isnull=True).exists()
