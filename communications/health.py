"""Health: how an engagement, and each stakeholder relationship on it, stands, and why.

One family of pure functions turns signals into a colour with its factors;
the rest of the module reads the signals from the database (a fixed number of
grouped queries per batch of engagements) and stores the result on the
engagement with its factors and when it was computed.

**Engagement health** (``engagement_health``). Each signal becomes a factor
when it crosses a threshold (``HealthThresholds``; settings.HEALTH_THRESHOLDS
overrides any of them by name):

- ``compliance``: planned check-ins held on time over the last
  ``compliance_window_days`` (judged once ``compliance_min_due`` were due).
  Amber below ``compliance_amber_below`` percent, red below ``compliance_red_below``.
- ``overdue_follow_ups``: open follow-ups past their due time. Amber from
  ``overdue_amber_count``, or when the oldest is ``overdue_amber_days`` late;
  red from ``overdue_red_count``, or when the oldest is ``overdue_red_days`` late.
- ``silent_stakeholders``: sponsors and PMO leads with an open silence flag.
  Amber from ``silent_amber_count``, red from ``silent_red_count``.
- ``milestone_slippage``: open milestones past their due day (in the
  client's time zone). Amber for any, red when one is ``milestone_red_days`` late.
- ``sentiment``: the mean sentiment of the check-ins of the last
  ``sentiment_window_days`` against the same span before. Amber when the mean
  is below neutral or fell by ``sentiment_amber_drop``; red at or below
  ``sentiment_red_mean``.
- ``overdue_obligations``: people owed word of a change past the deadline.
  Amber from ``obligation_amber_count``, red from ``obligation_red_count``.
- ``engagement_gap``: stakeholders of influence from ``gap_min_influence``
  whose engagement level is short of the desired one. Amber at
  ``gap_amber_steps`` levels short, red at ``gap_red_steps``.

The colour is the worst factor's; ``amber_factors_for_red`` amber factors at
once make red as well (the ``accumulated`` factor says so). No factor: green.

**Relationship health** (``relationship_health``), per stakeholder role, from
the same kinds of signal: silence against the planned interval of their
channel (amber beyond it, red beyond twice it; without a channel, amber after
``relationship_unplanned_amber_days`` and red after
``relationship_unplanned_red_days``), overdue follow-ups of the person (red
from ``relationship_overdue_red_count``), a negative latest check-in and an
engagement level ``gap_amber_steps`` short of the desired one (amber).

Factors are the firm's internal assessment: pmaas/sharing.py shares none of
them with client users or sponsor updates.

Both are stored: the engagement's on the engagement, each relationship's on
its stakeholder role, with the factors and when they were computed. A role
also keeps since when its relationship has been this colour and the colour
before (``relationship_health_since``, ``relationship_health_previous``), so
a drop (green to amber or red, amber to red) is a read of stored rows.

Recomputed together, engagement by engagement with all their roles, by the
periodic sweep (``engagements_recompute_health``, all engagements in
batches) and by the services that change an input
(``engagement_health_refresh``): logging, editing or deleting a check-in,
follow-ups created, completed, reopened or re-dated, silence flags raised or
cleared, obligations met or waived, channels planned, changed, paused or
resumed, milestones and engagement levels changed.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Min, Q, Sum

from communications.models import CheckIn, CommunicationObligation, FollowUp, Occurrence, SilenceFlag
from communications.scheduling import Compliance, cadence_compliance_by_engagement
from communications.selectors import (
    relationship_last_contact,
    relationship_latest_sentiment,
    relationship_next_due,
    relationship_overdue_follow_ups,
)
from engagements.models import Engagement, Health, Milestone
from pmaas.durations import count_in_words, duration_in_words, limit_in_words
from stakeholders.models import LEVEL_ORDER, StakeholderRole

GREEN = Health.GREEN.value
AMBER = Health.AMBER.value
RED = Health.RED.value
_RANK = {GREEN: 0, AMBER: 1, RED: 2}

# One grouped query per signal and batch: the batch bounds the IN lists and each UPDATE.
SWEEP_BATCH_SIZE = 200


@dataclasses.dataclass(frozen=True)
class HealthThresholds:
    """Where each signal turns amber or red; every name may be set in settings.HEALTH_THRESHOLDS."""

    compliance_window_days: int = 90
    compliance_min_due: int = 3
    compliance_amber_below: int = 90
    compliance_red_below: int = 70
    overdue_amber_count: int = 3
    overdue_amber_days: int = 30
    overdue_red_count: int = 8
    overdue_red_days: int = 120
    silent_amber_count: int = 1
    silent_red_count: int = 2
    milestone_red_days: int = 14
    sentiment_window_days: int = 30
    sentiment_amber_drop: float = 1.0
    sentiment_red_mean: float = -1.0
    obligation_amber_count: int = 1
    obligation_red_count: int = 3
    gap_min_influence: int = 4
    gap_amber_steps: int = 2
    gap_red_steps: int = 4
    amber_factors_for_red: int = 4
    relationship_unplanned_amber_days: int = 21
    relationship_unplanned_red_days: int = 45
    relationship_overdue_red_count: int = 2


def health_thresholds() -> HealthThresholds:
    """The defaults with settings.HEALTH_THRESHOLDS applied; an unknown name is a configuration error."""
    configured: dict[str, Any] = dict(getattr(settings, "HEALTH_THRESHOLDS", {}) or {})
    known = {f.name: f.type for f in dataclasses.fields(HealthThresholds)}
    unknown = sorted(set(configured) - set(known))
    if unknown:
        raise ImproperlyConfigured(f"HEALTH_THRESHOLDS: unknown threshold {', '.join(unknown)}")
    values: dict[str, Any] = {
        name: float(v) if known[name] == "float" else int(v) for name, v in configured.items()
    }
    return HealthThresholds(**values)


@dataclasses.dataclass(frozen=True)
class Factor:
    """One reason behind a health colour, with where to see the evidence.

    ``evidence`` is a URL name, its arguments and a fragment, resolved when a
    page shows it (engagements/templatetags/health.py), so stored factors
    survive a change of URL.
    """

    code: str
    label: str
    detail: str
    severity: str
    evidence: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _evidence(url: str, *args: int, fragment: str = "") -> dict[str, Any]:
    return {"url": url, "args": list(args), "fragment": fragment}


@dataclasses.dataclass(frozen=True)
class HealthAssessment:
    status: str
    factors: tuple[Factor, ...]

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(factor.detail for factor in self.factors)


def stored_health(*, status: str, factors: Iterable[dict[str, Any]]) -> HealthAssessment:
    """A stored colour and its stored factors (``Factor.as_json``) as an assessment again."""
    return HealthAssessment(status=status, factors=tuple(Factor(**factor) for factor in factors))


def _assess(red: list[Factor], amber: list[Factor], *, amber_for_red: int | None = None) -> HealthAssessment:
    if amber_for_red is not None and not red and len(amber) >= amber_for_red:
        red = [
            Factor(
                code="accumulated",
                label="Several warning signs",
                detail=f"{len(amber)} amber factors at once ({amber_for_red} make red)",
                severity=RED,
            )
        ]
    if red:
        return HealthAssessment(status=RED, factors=tuple(red + amber))
    if amber:
        return HealthAssessment(status=AMBER, factors=tuple(amber))
    return HealthAssessment(status=GREEN, factors=())


# --- engagement health: the pure rule ---------------------------------------


@dataclasses.dataclass(frozen=True)
class EngagementSignals:
    """What engagement health is computed from, as of one moment; names and ids for the factors' words."""

    engagement_id: int
    compliance: Compliance | None = None
    overdue_follow_ups: int = 0
    oldest_overdue_days: int = 0
    silent: tuple[tuple[int, str], ...] = ()
    late_milestones: int = 0
    longest_milestone_slip_days: int = 0
    sentiment_recent: float | None = None
    sentiment_previous: float | None = None
    overdue_obligations: int = 0
    level_gaps: tuple[tuple[int, str, int], ...] = ()


def _compliance_factor(s: EngagementSignals, t: HealthThresholds) -> Factor | None:
    c = s.compliance
    if c is None or c.ratio is None or c.due < t.compliance_min_due:
        return None
    percent = round(c.ratio * 100)
    if percent >= t.compliance_amber_below:
        return None
    severity = RED if percent < t.compliance_red_below else AMBER
    limit = t.compliance_red_below if severity == RED else t.compliance_amber_below
    return Factor(
        code="compliance",
        label="Cadence compliance",
        detail=(
            f"{percent}% of planned check-ins held on time in the last {t.compliance_window_days} days "
            f"({c.held_on_time} of {c.due}; below {limit}%)"
        ),
        severity=severity,
        evidence=_evidence("compliance_portfolio", fragment=f"compliance-engagement-{s.engagement_id}"),
    )


def _overdue_factor(s: EngagementSignals, t: HealthThresholds) -> Factor | None:
    count, age = s.overdue_follow_ups, s.oldest_overdue_days
    if count == 0 or (count < t.overdue_amber_count and age < t.overdue_amber_days):
        return None
    red = count >= t.overdue_red_count or age >= t.overdue_red_days
    return Factor(
        code="overdue_follow_ups",
        label="Overdue follow-ups",
        detail=(
            f"{count_in_words(s.overdue_follow_ups, 'follow-up')} overdue, "
            f"the oldest by {duration_in_words(timedelta(days=s.oldest_overdue_days))}"
        ),
        severity=RED if red else AMBER,
        evidence=_evidence("engagement_follow_ups", s.engagement_id, fragment="follow-ups-overdue"),
    )


def _silence_factor(s: EngagementSignals, t: HealthThresholds) -> Factor | None:
    count = len(s.silent)
    if count < t.silent_amber_count:
        return None
    names = ", ".join(name for _, name in s.silent)
    evidence = (
        _evidence("stakeholder_detail", s.silent[0][0])
        if count == 1
        else _evidence("engagement_detail", s.engagement_id, fragment="gone-quiet")
    )
    return Factor(
        code="silent_stakeholders",
        label="Silent sponsors and PMO leads",
        detail=f"{count_in_words(count, 'sponsor or PMO lead', 'sponsors or PMO leads')} silent: {names}",
        severity=RED if count >= t.silent_red_count else AMBER,
        evidence=evidence,
    )


def _milestone_factor(s: EngagementSignals, t: HealthThresholds) -> Factor | None:
    if s.late_milestones < 1:
        return None
    return Factor(
        code="milestone_slippage",
        label="Milestones slipping",
        detail=(
            f"{count_in_words(s.late_milestones, 'open milestone')} past due, "
            f"the latest by {duration_in_words(timedelta(days=s.longest_milestone_slip_days))}"
        ),
        severity=RED if s.longest_milestone_slip_days >= t.milestone_red_days else AMBER,
        evidence=_evidence("engagement_changes", s.engagement_id, fragment="milestones"),
    )


def _sentiment_factor(s: EngagementSignals, t: HealthThresholds) -> Factor | None:
    recent, previous = s.sentiment_recent, s.sentiment_previous
    if recent is None:
        return None
    drop = previous - recent if previous is not None else 0.0
    if recent > t.sentiment_red_mean and recent >= 0 and drop < t.sentiment_amber_drop:
        return None
    words = f"Mean sentiment {recent:+.1f} over the last {t.sentiment_window_days} days"
    if previous is not None:
        words += f", {previous:+.1f} in the {t.sentiment_window_days} days before"
    return Factor(
        code="sentiment",
        label="Sentiment falling" if drop >= t.sentiment_amber_drop else "Negative sentiment",
        detail=words,
        severity=RED if recent <= t.sentiment_red_mean else AMBER,
        evidence=_evidence("engagement_timeline", s.engagement_id),
    )


def _obligation_factor(s: EngagementSignals, t: HealthThresholds) -> Factor | None:
    if s.overdue_obligations < t.obligation_amber_count:
        return None
    return Factor(
        code="overdue_obligations",
        label="People not told of a change",
        detail=f"{count_in_words(s.overdue_obligations, 'communication obligation')} past the deadline",
        severity=RED if s.overdue_obligations >= t.obligation_red_count else AMBER,
        evidence=_evidence("engagement_obligations", s.engagement_id),
    )


def _gap_factor(s: EngagementSignals, t: HealthThresholds) -> Factor | None:
    behind = sorted(
        (gap for gap in s.level_gaps if gap[2] >= t.gap_amber_steps), key=lambda gap: (-gap[2], gap[1])
    )
    if not behind:
        return None
    widest = behind[0][2]
    names = ", ".join(f"{name} ({steps} levels)" for _, name, steps in behind)
    return Factor(
        code="engagement_gap",
        label="Key stakeholders less engaged than needed",
        detail=f"High-influence stakeholders short of the desired engagement: {names}",
        severity=RED if widest >= t.gap_red_steps else AMBER,
        evidence=(
            _evidence("stakeholder_detail", behind[0][0])
            if len(behind) == 1
            else _evidence("engagement_stakeholders", s.engagement_id)
        ),
    )


_ENGAGEMENT_FACTORS = (
    _silence_factor,
    _compliance_factor,
    _overdue_factor,
    _milestone_factor,
    _obligation_factor,
    _sentiment_factor,
    _gap_factor,
)


def engagement_health(*, signals: EngagementSignals, thresholds: HealthThresholds) -> HealthAssessment:
    """Apply the rule in the module docstring: the colour and every factor behind it, red ones first."""
    factors = [f for rule in _ENGAGEMENT_FACTORS if (f := rule(signals, thresholds)) is not None]
    return _assess(
        [f for f in factors if f.severity == RED],
        [f for f in factors if f.severity == AMBER],
        amber_for_red=thresholds.amber_factors_for_red,
    )


# --- relationship health: the same family, per stakeholder role --------------


def _unplanned(silent_for: timedelta) -> str:
    # The limit after it is said exactly, in weeks where it is whole weeks: "over 4 weeks (limit:
    # 3 weeks)", never "(limit 21 days)" nor a rounded "(limit: over 6 weeks)" for 45 days.
    return f"No contact for {duration_in_words(silent_for)} and no planned channel"


def relationship_health(
    *,
    as_of: datetime,
    last_contact_at: datetime | None,
    next_due_at: datetime | None,
    overdue_follow_ups: int,
    latest_sentiment: int | None,
    level_gap: int,
    engagement_id: int | None = None,
    thresholds: HealthThresholds | None = None,
) -> HealthAssessment:
    """Apply the relationship rule in the module docstring; ``reasons`` are the factors' words."""
    t = thresholds or health_thresholds()
    red: list[Factor] = []
    amber: list[Factor] = []
    timeline = _evidence("engagement_timeline", engagement_id) if engagement_id else None

    def silence(severity: str, detail: str) -> None:
        (red if severity == RED else amber).append(
            Factor(code="silence", label="Silence", detail=detail, severity=severity, evidence=timeline)
        )

    if last_contact_at is None:
        silence(AMBER, "No contact recorded yet")
    else:
        silent_for = as_of - last_contact_at
        planned = next_due_at - last_contact_at if next_due_at is not None else None
        red_after = timedelta(days=t.relationship_unplanned_red_days)
        amber_after = timedelta(days=t.relationship_unplanned_amber_days)
        if planned is not None and planned > timedelta(0):
            silent, basis = duration_in_words(silent_for), duration_in_words(planned)
            if silent_for > 2 * planned:
                silence(RED, f"No contact for {silent}, more than twice as long as planned ({basis})")
            elif silent_for > planned:
                # Said against the meeting that is late, not the gap to it: a call two days before a
                # fortnightly meeting made "longer than planned (2 days)" of a plan of two weeks.
                late = duration_in_words(silent_for - planned)
                silence(AMBER, f"No contact for {silent}; the planned meeting was due {late} ago")
        elif silent_for > red_after:
            silence(RED, f"{_unplanned(silent_for)} (limit: {limit_in_words(red_after)})")
        elif silent_for > amber_after:
            silence(AMBER, f"{_unplanned(silent_for)} (limit: {limit_in_words(amber_after)})")

    if overdue_follow_ups:
        severity = RED if overdue_follow_ups >= t.relationship_overdue_red_count else AMBER
        (red if severity == RED else amber).append(
            Factor(
                code="overdue_follow_ups",
                label="Overdue follow-ups",
                detail=f"{count_in_words(overdue_follow_ups, 'overdue follow-up')}",
                severity=severity,
                evidence=(
                    _evidence("engagement_follow_ups", engagement_id, fragment="follow-ups-overdue")
                    if engagement_id
                    else None
                ),
            )
        )
    if latest_sentiment is not None and latest_sentiment < 0:
        amber.append(
            Factor(
                code="sentiment",
                label="Negative sentiment",
                detail="Latest check-in was negative",
                severity=AMBER,
                evidence=timeline,
            )
        )
    if level_gap >= t.gap_amber_steps:
        amber.append(
            Factor(
                code="engagement_gap",
                label="Less engaged than needed",
                detail=f"Engagement level {level_gap} steps below the desired one",
                severity=AMBER,
            )
        )
    return _assess(red, amber)


# --- reading the signals and storing the result -------------------------------


def _whole_days(delta: timedelta) -> int:
    return max(delta.days, 0)


def _local_today(as_of: datetime, zone: str) -> date:
    return as_of.astimezone(ZoneInfo(zone)).date()


def engagement_signals(
    *, engagements: Sequence[tuple[int, str]], as_of: datetime, thresholds: HealthThresholds
) -> dict[int, EngagementSignals]:
    """The signals of each (engagement id, client time zone) pair: seven grouped queries, however many."""
    ids = [pk for pk, _ in engagements]
    zones = dict(engagements)
    t = thresholds

    compliance = cadence_compliance_by_engagement(
        occurrences_queryset=Occurrence.objects.filter(engagement_id__in=ids),
        window_start=as_of - timedelta(days=t.compliance_window_days),
        window_end=as_of,
    )
    overdue = {
        row["engagement_id"]: row
        for row in FollowUp.objects.overdue(as_of=as_of)
        .filter(engagement_id__in=ids)
        .order_by()
        .values("engagement_id")
        .annotate(n=Count("pk"), oldest=Min("due_at"))
    }
    silent: dict[int, list[tuple[int, str]]] = {}
    for engagement_id, stakeholder_id, name in (
        SilenceFlag.objects.open()
        .filter(engagement_id__in=ids)
        .order_by("raised_at", "pk")
        .values_list("engagement_id", "stakeholder_id", "stakeholder__name")
    ):
        silent.setdefault(engagement_id, []).append((stakeholder_id, name))
    # A day ahead of UTC covers every client's today; each row is judged in its client's zone below.
    late_by: dict[int, list[int]] = {}
    for engagement_id, due_on in (
        Milestone.objects.open()
        .filter(engagement_id__in=ids, due_on__lte=(as_of + timedelta(days=1)).date())
        .order_by()
        .values_list("engagement_id", "due_on")
    ):
        days_late = (_local_today(as_of, zones[engagement_id]) - due_on).days
        if days_late > 0:
            late_by.setdefault(engagement_id, []).append(days_late)
    span = timedelta(days=t.sentiment_window_days)
    recent = Q(occurred_at__gt=as_of - span)
    sentiment = {
        row["engagement_id"]: row
        for row in CheckIn.objects.filter(
            engagement_id__in=ids, occurred_at__gt=as_of - 2 * span, occurred_at__lte=as_of
        )
        .order_by()
        .values("engagement_id")
        .annotate(
            recent_n=Count("pk", filter=recent),
            recent_sum=Sum("sentiment", filter=recent),
            previous_n=Count("pk", filter=~recent),
            previous_sum=Sum("sentiment", filter=~recent),
        )
    }
    obligations = dict(
        CommunicationObligation.objects.overdue(as_of=as_of)
        .filter(engagement_id__in=ids)
        .order_by()
        .values("engagement_id")
        .annotate(n=Count("pk"))
        .values_list("engagement_id", "n")
    )
    gaps: dict[int, list[tuple[int, str, int]]] = {}
    for engagement_id, stakeholder_id, name, current, desired in (
        StakeholderRole.objects.filter(engagement_id__in=ids, influence__gte=t.gap_min_influence)
        .order_by("stakeholder__name", "pk")
        .values_list("engagement_id", "stakeholder_id", "stakeholder__name", "current_level", "desired_level")
    ):
        steps = LEVEL_ORDER[desired] - LEVEL_ORDER[current]
        if steps > 0:
            gaps.setdefault(engagement_id, []).append((stakeholder_id, name, steps))

    signals: dict[int, EngagementSignals] = {}
    for pk in ids:
        late = late_by.get(pk, [])
        mood = sentiment.get(pk)
        signals[pk] = EngagementSignals(
            engagement_id=pk,
            compliance=compliance.get(pk),
            overdue_follow_ups=overdue[pk]["n"] if pk in overdue else 0,
            oldest_overdue_days=_whole_days(as_of - overdue[pk]["oldest"]) if pk in overdue else 0,
            silent=tuple(silent.get(pk, ())),
            late_milestones=len(late),
            longest_milestone_slip_days=max(late, default=0),
            sentiment_recent=mood["recent_sum"] / mood["recent_n"] if mood and mood["recent_n"] else None,
            sentiment_previous=(
                mood["previous_sum"] / mood["previous_n"] if mood and mood["previous_n"] else None
            ),
            overdue_obligations=obligations.get(pk, 0),
            level_gaps=tuple(gaps.get(pk, ())),
        )
    return signals


def _relationship_roles(*, engagement_ids: Sequence[int], as_of: datetime) -> Any:
    """Every role of these engagements with its signals and what is stored: one query, however many.

    The signals are the same subqueries the pages use, so a stored colour is
    the one a page computing it then would show.
    """
    return (
        StakeholderRole.objects.filter(engagement_id__in=engagement_ids)
        .with_level_gap()
        .annotate(
            last_contact_at=relationship_last_contact(
                engagement="engagement_id", stakeholder="stakeholder_id"
            ),
            next_due_at=relationship_next_due(engagement="engagement_id", stakeholder="stakeholder_id"),
            overdue=relationship_overdue_follow_ups(
                engagement="engagement_id", stakeholder="stakeholder_id", as_of=as_of
            ),
            latest_sentiment=relationship_latest_sentiment(
                engagement="engagement_id", stakeholder="stakeholder_id"
            ),
        )
        .order_by("pk")
        .values_list(
            "pk",
            "engagement_id",
            "last_contact_at",
            "next_due_at",
            "overdue",
            "latest_sentiment",
            "level_gap",
            "relationship_health",
            "relationship_health_factors",
            "relationship_health_computed_at",
            "relationship_health_since",
            "relationship_health_previous",
            "last_met_at",
        )
    )


def _recompute_relationships(
    engagement_ids: Sequence[int], *, as_of: datetime, thresholds: HealthThresholds
) -> int:
    """Recompute and store the relationship health of every role of these engagements, and when
    each person was last met (``last_met_at``).

    One read, one UPDATE stamping ``computed_at`` on them all, and a batched
    UPDATE of only the roles whose colour, factors or last meeting changed; a changed colour
    moves the old one to ``relationship_health_previous`` and starts
    ``relationship_health_since``. The first computation records no previous
    colour: a role never assessed did not drop.
    """
    changed: list[StakeholderRole] = []
    for (
        pk,
        engagement_id,
        last_contact_at,
        next_due_at,
        overdue,
        latest_sentiment,
        level_gap,
        stored,
        stored_factors,
        computed_at,
        since,
        previous,
        stored_last_met_at,
    ) in _relationship_roles(engagement_ids=engagement_ids, as_of=as_of):
        assessment = relationship_health(
            as_of=as_of,
            last_contact_at=last_contact_at,
            next_due_at=next_due_at,
            overdue_follow_ups=overdue,
            latest_sentiment=latest_sentiment,
            level_gap=level_gap,
            engagement_id=engagement_id,
            thresholds=thresholds,
        )
        factors = [factor.as_json() for factor in assessment.factors]
        if computed_at is None:
            since, previous = as_of, ""
        elif stored != assessment.status:
            since, previous = as_of, stored
        elif stored_factors == factors and stored_last_met_at == last_contact_at:
            continue
        changed.append(
            StakeholderRole(
                pk=pk,
                relationship_health=assessment.status,
                relationship_health_factors=factors,
                relationship_health_computed_at=as_of,
                relationship_health_since=since,
                relationship_health_previous=previous,
                last_met_at=last_contact_at,
            )
        )
    # updated_at stays: a recomputation is not an edit, and must not make an open form stale.
    StakeholderRole.objects.filter(engagement_id__in=engagement_ids).update(
        relationship_health_computed_at=as_of
    )
    StakeholderRole.objects.bulk_update(
        changed,
        [
            "relationship_health",
            "relationship_health_factors",
            "relationship_health_computed_at",
            "relationship_health_since",
            "relationship_health_previous",
            "last_met_at",
        ],
        batch_size=SWEEP_BATCH_SIZE,
    )
    return len(changed)


def _recompute(engagements: Sequence[tuple[int, str]], *, as_of: datetime) -> int:
    if not engagements:
        return 0
    thresholds = health_thresholds()
    _recompute_relationships([pk for pk, _ in engagements], as_of=as_of, thresholds=thresholds)
    signals = engagement_signals(engagements=engagements, as_of=as_of, thresholds=thresholds)
    rows = []
    for pk, signal in signals.items():
        assessment = engagement_health(signals=signal, thresholds=thresholds)
        rows.append(
            Engagement(
                pk=pk,
                health=assessment.status,
                health_factors=[factor.as_json() for factor in assessment.factors],
                health_computed_at=as_of,
            )
        )
    # updated_at stays: a recomputation is not an edit, and must not make an open form stale.
    Engagement.objects.bulk_update(
        rows, ["health", "health_factors", "health_computed_at"], batch_size=SWEEP_BATCH_SIZE
    )
    return len(rows)


def _with_zones(engagements: Any) -> list[tuple[int, str]]:
    return list(engagements.values_list("pk", "client__time_zone"))


class _Deferred(threading.local):
    engagement_ids: set[int] | None = None
    as_of: datetime | None = None


_deferred = _Deferred()


@contextmanager
def health_refresh_deferred() -> Iterator[None]:
    """Within this block, refreshes are collected and done once at its end, at the latest moment asked.

    For a caller that runs many services in a row for moments it replays
    (the demo's history): the health is the same as if each had refreshed
    it, computed once instead of after every call. Not nested.
    """
    _deferred.engagement_ids, _deferred.as_of = set(), None
    try:
        yield
        wanted, as_of = _deferred.engagement_ids, _deferred.as_of
    finally:
        _deferred.engagement_ids = None
    if wanted and as_of is not None:
        engagement_health_refresh(engagement_ids=wanted, as_of=as_of)


def health_refresh_flush(*, as_of: datetime) -> int:
    """Inside ``health_refresh_deferred``: refresh now, at ``as_of``, what was noted so far."""
    wanted = _deferred.engagement_ids
    if not wanted:
        return 0
    _deferred.engagement_ids, _deferred.as_of = set(), None
    return _recompute(
        _with_zones(Engagement.objects.filter(pk__in=sorted(wanted)).order_by("pk")), as_of=as_of
    )


def engagement_health_refresh(*, engagement_ids: Iterable[int], as_of: datetime) -> int:
    """Recompute and store the health of these engagements and of every relationship on them now.

    Eleven queries however many, and one more per 200 roles whose
    relationship health changed colour or reasons.

    Called by the services that change an input, inside their transaction, so
    the stored health never lags the page that changed it. Idempotent. Inside
    ``health_refresh_deferred`` it only notes them for the end of the block.
    """
    wanted = sorted(set(engagement_ids))
    if not wanted:
        return 0
    if _deferred.engagement_ids is not None:
        _deferred.engagement_ids.update(wanted)
        _deferred.as_of = as_of if _deferred.as_of is None else max(_deferred.as_of, as_of)
        return 0
    return _recompute(_with_zones(Engagement.objects.filter(pk__in=wanted).order_by("pk")), as_of=as_of)


def engagements_recompute_health(*, as_of: datetime, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Periodic: recompute every engagement's health, ``batch_size`` at a time.

    Catches what time alone changes (a follow-up falling overdue, a milestone
    passing its day, compliance's window moving on, a person not met for too
    long), with the relationship health of every role on them. Eleven queries
    per batch, and one per 200 roles whose relationship health changed,
    whatever the portfolio holds; idempotent.
    """
    done, last = 0, 0
    while True:
        batch = _with_zones(Engagement.objects.filter(pk__gt=last).order_by("pk")[:batch_size])
        done += _recompute(batch, as_of=as_of)
        if len(batch) < batch_size:
            return done
        last = batch[-1][0]
