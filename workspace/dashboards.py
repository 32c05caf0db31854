"""Reads of the firm's dashboards: the portfolio, who needs attention, and the consultants.

Each starts from the scoped selectors of the apps it combines and takes its
figures from their subqueries (communications.compliance, communications.selectors,
engagements.selectors), so a page is a fixed number of queries whatever the
portfolio holds, and sorts and pages inside the database on an order that
ends with the primary key. A page reads one row beyond its size to know
whether another page follows, so no list is ever counted whole.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    F,
    OrderBy,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.urls import reverse

from accounts.models import User
from communications.compliance import ComplianceWindow, compliance_columns
from communications.health import HealthThresholds, health_thresholds, relationship_health
from communications.models import SilenceFlag
from communications.obligations import obligation_list
from communications.scheduling import Compliance
from communications.selectors import (
    engagement_mean_sentiment,
    engagement_overdue_follow_ups,
    owner_overdue_follow_ups,
    relationship_next_due,
)
from communications.silence import planned_interval, silence_flag_list
from engagements.models import Engagement, Health, Membership
from engagements.selectors import (
    RUNNING,
    engagement_lead_columns,
    engagement_list,
    engagement_next_milestone_columns,
    engagement_undecided_changes,
    role_label,
    user_leads_an_engagement,
    user_running_engagements,
)
from pmaas.durations import cadence_in_words, duration_ago_in_words, duration_in_words
from stakeholders.models import HIGH_FROM, Level, StakeholderRole
from workspace.paging import Page, page_of

PAGE_SIZE = 25
COMPLIANCE_WEEKS = (4, 12)
# A change of half a point on the five-step sentiment scale (-2 to +2) is a trend; less is noise.
SENTIMENT_TREND_STEP = 0.5

_HEALTH_RANK = Case(
    When(health_now=Health.RED, then=Value(0)),
    When(health_now=Health.AMBER, then=Value(1)),
    default=Value(2),
)


def percent(compliance: Compliance) -> int | None:
    """Whole percent held on time; None when nothing was due, which is not 0 %."""
    return None if compliance.ratio is None else round(compliance.ratio * 100)


def _ordered(expression: Any, *, descending: bool) -> OrderBy:
    # Rows without a figure (nothing due, never met) go last in either direction.
    return OrderBy(expression, descending=descending, nulls_last=True)


# --- the portfolio --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PortfolioFilters:
    """What the portfolio is narrowed to and sorted by; empty values filter nothing."""

    client: int | None = None
    lead: int | None = None
    status: str = ""
    health: str = ""
    sort: str = "health"
    descending: bool = False


# The columns a portfolio may be sorted by, each an expression over the annotated engagements.
PORTFOLIO_SORTS: dict[str, Any] = {
    "client": F("client__name"),
    "engagement": F("code"),
    "lead": F("lead_name"),
    "status": F("status"),
    "health": _HEALTH_RANK,
    "compliance": F("compliance_12_ratio"),
    "overdue": F("overdue_count"),
    "changes": F("pending_changes"),
}


@dataclasses.dataclass(frozen=True)
class SponsorContact:
    """A sponsor of the engagement and how long since the team last met them."""

    stakeholder_id: int
    name: str
    # How long since the last check-in with them; None when they were never met.
    since_last_met: timedelta | None
    # Longer than the cadence planned with them (relationship health's silence rule), or flagged silent.
    past_cadence: bool

    @property
    def last_met_in_words(self) -> str:
        """ "over 7 weeks ago", "never met"."""
        return "never met" if self.since_last_met is None else duration_ago_in_words(self.since_last_met)


@dataclasses.dataclass(frozen=True)
class PortfolioRow:
    engagement: Engagement
    lead_id: int | None
    lead_name: str
    compliance_4: Compliance
    compliance_12: Compliance
    overdue_count: int
    oldest_overdue_for: timedelta | None
    next_milestone_name: str
    next_milestone_due: date | None
    milestone_slips: bool
    pending_changes: int
    sentiment_recent: float | None
    sentiment_previous: float | None
    sponsors: list[SponsorContact]

    @property
    def health(self) -> str:
        return self.engagement.effective_health

    @property
    def oldest_overdue_days(self) -> int | None:
        return None if self.oldest_overdue_for is None else self.oldest_overdue_for.days

    @property
    def oldest_overdue_in_words(self) -> str:
        return "" if self.oldest_overdue_for is None else duration_in_words(self.oldest_overdue_for)

    @property
    def percent_4(self) -> int | None:
        return percent(self.compliance_4)

    @property
    def percent_12(self) -> int | None:
        return percent(self.compliance_12)

    @property
    def sentiment_trend(self) -> str:
        """ "rising", "falling" or "steady" against the span before; "" without check-ins to tell."""
        if self.sentiment_recent is None or self.sentiment_previous is None:
            return ""
        change = self.sentiment_recent - self.sentiment_previous
        if change >= SENTIMENT_TREND_STEP:
            return "rising"
        if change <= -SENTIMENT_TREND_STEP:
            return "falling"
        return "steady"


def portfolio_queryset(
    *, user: Any, as_of: datetime, filters: PortfolioFilters, thresholds: HealthThresholds
) -> QuerySet[Engagement]:
    """The engagements of the portfolio, filtered, annotated with every figure a row shows, and sorted.

    One query: compliance over 4 and 12 weeks, overdue follow-ups and the
    oldest, the next milestone, undecided change requests, the lead and the
    mean sentiment of two spans are subqueries of it.
    """
    overdue_count, oldest_overdue = engagement_overdue_follow_ups(as_of=as_of)
    span = timedelta(days=thresholds.sentiment_window_days)
    annotations: dict[str, Any] = {
        **engagement_lead_columns(),
        **engagement_next_milestone_columns(),
        "overdue_count": overdue_count,
        "oldest_overdue_at": oldest_overdue,
        "pending_changes": engagement_undecided_changes(),
        "sentiment_recent": engagement_mean_sentiment(start=as_of - span, end=as_of),
        "sentiment_previous": engagement_mean_sentiment(start=as_of - 2 * span, end=as_of - span),
    }
    for weeks in COMPLIANCE_WEEKS:
        window = ComplianceWindow.last_days(days=7 * weeks, as_of=as_of)
        columns = compliance_columns(user=user, by="engagement", window=window)
        annotations[f"compliance_{weeks}_due"] = columns.due
        annotations[f"compliance_{weeks}_held"] = columns.held_on_time
        annotations[f"compliance_{weeks}_ratio"] = columns.ratio
    engagements = (
        engagement_list(user=user).with_effective_health(as_of=as_of).annotate(**annotations)  # type: ignore[attr-defined]
    )
    if filters.client is not None:
        engagements = engagements.filter(client_id=filters.client)
    if filters.lead is not None:
        leads = Membership.objects.leads().filter(engagement_id=OuterRef("pk"), user_id=filters.lead)
        engagements = engagements.filter(Exists(leads))
    if filters.status:
        engagements = engagements.filter(status=filters.status)
    if filters.health:
        engagements = engagements.filter(health_now=filters.health)
    key = PORTFOLIO_SORTS.get(filters.sort, PORTFOLIO_SORTS["health"])
    return engagements.order_by(_ordered(key, descending=filters.descending), "code", "pk")


def engagements_needing_attention(*, user: Any, as_of: datetime) -> QuerySet[Engagement]:
    """Running engagements in scope whose effective health at ``as_of`` is not green: red first,
    then by code. Sorted in the database, so a caller reads as many as it shows."""
    return (
        engagement_list(user=user)
        .filter(status__in=RUNNING)
        .with_effective_health(as_of=as_of)  # type: ignore[attr-defined]
        .exclude(health_now=Health.GREEN)
        .order_by(_HEALTH_RANK, "code", "pk")
    )


def _sponsor_contacts(
    *, user: Any, engagement_ids: Sequence[int], as_of: datetime, thresholds: HealthThresholds
) -> dict[int, list[SponsorContact]]:
    """The sponsors of these engagements with their last meeting (as stored with their relationship
    health, which every check-in change recomputes): one query however many."""
    open_flag = SilenceFlag.objects.open().filter(
        engagement_id=OuterRef("engagement_id"), stakeholder_id=OuterRef("stakeholder_id")
    )
    roles = (
        StakeholderRole.objects.visible_to(user)
        .sponsors()
        .filter(engagement_id__in=list(engagement_ids))
        .annotate(
            next_due_at=relationship_next_due(engagement="engagement_id", stakeholder="stakeholder_id"),
            silent=Exists(open_flag),
        )
        .values_list(
            "engagement_id", "stakeholder_id", "stakeholder__name", "last_met_at", "next_due_at", "silent"
        )
        .order_by("stakeholder__name", "pk")
    )
    contacts: dict[int, list[SponsorContact]] = {}
    for engagement_id, stakeholder_id, name, last_contact_at, next_due_at, silent in roles:
        cadence = relationship_health(
            as_of=as_of,
            last_contact_at=last_contact_at,
            next_due_at=next_due_at,
            overdue_follow_ups=0,
            latest_sentiment=None,
            level_gap=0,
            thresholds=thresholds,
        )
        contacts.setdefault(engagement_id, []).append(
            SponsorContact(
                stakeholder_id=stakeholder_id,
                name=name,
                since_last_met=None
                if last_contact_at is None
                else max(as_of - last_contact_at, timedelta(0)),
                past_cadence=silent or any(f.code == "silence" for f in cadence.factors),
            )
        )
    return contacts


def _portfolio_rows(
    engagements: list[Engagement], *, user: Any, as_of: datetime, thresholds: HealthThresholds
) -> list[PortfolioRow]:
    sponsors = _sponsor_contacts(
        user=user, engagement_ids=[e.pk for e in engagements], as_of=as_of, thresholds=thresholds
    )
    rows = []
    for engagement in engagements:
        figures: dict[str, Any] = vars(engagement)
        due_on = figures["next_milestone_due"]
        local_today = as_of.astimezone(ZoneInfo(engagement.client.time_zone)).date()
        oldest = figures["oldest_overdue_at"]
        rows.append(
            PortfolioRow(
                engagement=engagement,
                lead_id=figures["lead_id"],
                lead_name=figures["lead_name"] or "",
                compliance_4=Compliance.of(
                    due=figures["compliance_4_due"], held_on_time=figures["compliance_4_held"]
                ),
                compliance_12=Compliance.of(
                    due=figures["compliance_12_due"], held_on_time=figures["compliance_12_held"]
                ),
                overdue_count=figures["overdue_count"],
                oldest_overdue_for=None if oldest is None else max(as_of - oldest, timedelta(0)),
                next_milestone_name=figures["next_milestone_name"] or "",
                next_milestone_due=due_on,
                milestone_slips=due_on is not None and due_on < local_today,
                pending_changes=figures["pending_changes"],
                sentiment_recent=figures["sentiment_recent"],
                sentiment_previous=figures["sentiment_previous"],
                sponsors=sponsors.get(engagement.pk, []),
            )
        )
    return rows


def portfolio_page(
    *, user: Any, as_of: datetime, filters: PortfolioFilters, number: int, size: int = PAGE_SIZE
) -> Page:
    """One page of the portfolio: two queries (the engagements, their sponsors)."""
    thresholds = health_thresholds()
    page = page_of(
        portfolio_queryset(user=user, as_of=as_of, filters=filters, thresholds=thresholds),
        number=number,
        size=size,
    )
    return dataclasses.replace(
        page, rows=_portfolio_rows(page.rows, user=user, as_of=as_of, thresholds=thresholds)
    )


def portfolio_all(*, user: Any, as_of: datetime, filters: PortfolioFilters) -> list[PortfolioRow]:
    """Every row of the filtered portfolio, for an export: two queries."""
    thresholds = health_thresholds()
    engagements = list(portfolio_queryset(user=user, as_of=as_of, filters=filters, thresholds=thresholds))
    return _portfolio_rows(engagements, user=user, as_of=as_of, thresholds=thresholds)


# --- who needs attention ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AttentionItem:
    """One person or promise that needs the team, why, and the action to take with its link."""

    engagement_id: int
    engagement_code: str
    person: str
    why: str
    action: str
    url: str
    severity: str = Health.AMBER
    # A relationship whose health dropped: the words ("Green to red 3 days ago"), the colour before, when.
    # ``why`` is then the reasons as they stand now, which may have moved since the drop.
    change: str = ""
    changed_from: str = ""
    changed_at: datetime | None = None
    # When, in words ("3 days ago"): the page says from → to with its colours, then this.
    changed_when: str = ""

    @property
    def why_in_full(self) -> str:
        """The change and the reasons in one line, for an export."""
        return f"{self.change}. Now: {self.why}" if self.change else self.why


@dataclasses.dataclass(frozen=True)
class AttentionSection:
    key: str
    title: str
    items: list[AttentionItem]
    # How many more the section holds beyond those shown.
    more: int


ATTENTION_SECTIONS = {
    "relationships": "Relationships whose health dropped",
    "silent": "Silent sponsors and PMO leads",
    "gaps": "High-influence people below their desired engagement",
    "obligations": "People not yet told of a change",
}
ATTENTION_CAP = 10
_HEALTH_WORDS = dict(Health.choices)


def _check_in_url(engagement_id: int, stakeholder_id: int) -> str:
    return f"{reverse('check_in_create')}?engagement={engagement_id}&stakeholder={stakeholder_id}"


_CHANGE_RANK = Case(
    When(relationship_health=Health.RED, relationship_health_previous=Health.GREEN, then=Value(0)),
    When(relationship_health=Health.RED, then=Value(1)),
    default=Value(2),
)


def _relationship_action(role: StakeholderRole) -> tuple[str, str]:
    """What to do about a relationship that dropped, from its worst factor, and where to do it."""
    name = role.stakeholder.name
    factors = role.relationship_health_factors or [{}]
    code = factors[0].get("code", "")
    if code == "overdue_follow_ups":
        url = reverse("engagement_follow_ups", args=[role.engagement_id])
        return f"Chase the follow-ups {name} owes", f"{url}#follow-ups-overdue"
    if code == "engagement_gap":
        return f"Plan how to win {name} back", reverse("stakeholder_detail", args=[role.stakeholder_id])
    if code == "sentiment":
        return f"Talk it through: log a check-in with {name}", _check_in_url(
            role.engagement_id, role.stakeholder_id
        )
    return f"Log a check-in with {name}", _check_in_url(role.engagement_id, role.stakeholder_id)


def _days_ago(moment: datetime, as_of: datetime) -> str:
    days = max((as_of - moment).days, 0)
    return "today" if days == 0 else "yesterday" if days == 1 else f"{days} days ago"


def _relationship_items(*, user: Any, as_of: datetime) -> Any:
    """Roles on running engagements whose stored relationship health dropped within the window
    (settings.RELATIONSHIP_DROP_WINDOW_DAYS): to red from green, to red from amber, then to amber;
    the latest drop first within each."""
    since = as_of - timedelta(days=settings.RELATIONSHIP_DROP_WINDOW_DAYS)
    roles = (
        StakeholderRole.objects.visible_to(user)
        .health_dropped(since=since)
        .filter(engagement__status__in=RUNNING)
        .select_related("stakeholder", "engagement")
        .order_by(_CHANGE_RANK, "-relationship_health_since", "engagement__code", "stakeholder__name", "pk")
    )

    def item(role: StakeholderRole) -> AttentionItem:
        action, url = _relationship_action(role)
        was, now = _HEALTH_WORDS[role.relationship_health_previous], _HEALTH_WORDS[role.relationship_health]
        changed_at = role.relationship_health_since or as_of
        return AttentionItem(
            engagement_id=role.engagement_id,
            engagement_code=role.engagement.code,
            person=role.stakeholder.name,
            why="; ".join(factor.get("detail", "") for factor in role.relationship_health_factors),
            action=action,
            url=url,
            severity=role.relationship_health,
            change=f"{was} to {now.lower()} {_days_ago(changed_at, as_of)}",
            changed_from=role.relationship_health_previous,
            changed_at=changed_at,
            changed_when=_days_ago(changed_at, as_of),
        )

    return roles, item


def _silent_items(*, user: Any, as_of: datetime) -> Any:
    flags = (
        silence_flag_list(user=user)
        .open()
        .filter(engagement__status__in=RUNNING)
        .order_by("last_contact_at", "raised_at", "pk")
    )

    def item(flag: SilenceFlag) -> AttentionItem:
        heard = (
            f"last heard {duration_ago_in_words(as_of - flag.last_contact_at)}"
            if flag.last_contact_at
            else "never met"
        )
        return AttentionItem(
            engagement_id=flag.engagement_id,
            engagement_code=flag.engagement.code,
            person=flag.stakeholder.name,
            why=f"Gone quiet: {heard}, expected {cadence_in_words(planned_interval(flag))}",
            action=f"Get back in touch: log a check-in with {flag.stakeholder.name}",
            url=_check_in_url(flag.engagement_id, flag.stakeholder_id),
            severity=Health.RED,
        )

    return flags, item


_LEVELS = dict(Level.choices)


def _gap_items(*, user: Any) -> Any:
    roles = (
        StakeholderRole.objects.visible_to(user)
        .with_level_gap()
        .filter(Q(level_gap__gt=0), engagement__status__in=RUNNING, influence__gte=HIGH_FROM)
        .select_related("stakeholder", "engagement")
        .order_by("-level_gap", "engagement__code", "stakeholder__name", "pk")
    )

    def item(role: StakeholderRole) -> AttentionItem:
        current, desired = _LEVELS[role.current_level].lower(), _LEVELS[role.desired_level].lower()
        return AttentionItem(
            engagement_id=role.engagement_id,
            engagement_code=role.engagement.code,
            person=role.stakeholder.name,
            why=f"Influence {role.influence} of 5; {current}, needed {desired}",
            action=f"Plan how to bring {role.stakeholder.name} to {desired}",
            url=reverse("stakeholder_detail", args=[role.stakeholder_id]),
            severity=Health.RED if vars(role)["level_gap"] >= 2 else Health.AMBER,
        )

    return roles, item


def _obligation_items(*, user: Any, as_of: datetime) -> Any:
    obligations = (
        obligation_list(user=user)
        .overdue(as_of=as_of)  # type: ignore[attr-defined]
        .filter(engagement__status__in=RUNNING)
        .order_by("deadline", "pk")
    )

    def item(obligation: Any) -> AttentionItem:
        late = duration_ago_in_words(as_of - obligation.deadline)
        url = reverse("engagement_obligations", args=[obligation.engagement_id])
        return AttentionItem(
            engagement_id=obligation.engagement_id,
            engagement_code=obligation.engagement.code,
            person=obligation.stakeholder.name,
            why=f"Not yet told of “{obligation.change_request.title}”, due {late}",
            action=f"Open the obligation and tell {obligation.stakeholder.name}",
            url=f"{url}#change-{obligation.change_request_id}",
            severity=Health.RED,
        )

    return obligations, item


def attention_sections(
    *, user: Any, as_of: datetime, only: str = "", number: int = 1, size: int = ATTENTION_CAP
) -> list[AttentionSection]:
    """Each section's first ``size`` items (or page ``number`` of the one section ``only``), with how
    many more it holds; eight queries at most, whatever the portfolio holds."""
    start = (number - 1) * size
    sections = []
    for key, title in ATTENTION_SECTIONS.items():
        if only and key != only:
            continue
        queryset, item = {
            "relationships": lambda: _relationship_items(user=user, as_of=as_of),
            "silent": lambda: _silent_items(user=user, as_of=as_of),
            "gaps": lambda: _gap_items(user=user),
            "obligations": lambda: _obligation_items(user=user, as_of=as_of),
        }[key]()
        total = queryset.count()
        items = [item(row) for row in queryset[start : start + size]] if total > start else []
        sections.append(
            AttentionSection(key=key, title=title, items=items, more=max(total - start - len(items), 0))
        )
    return sections


def attention_all(*, user: Any, as_of: datetime) -> list[tuple[str, AttentionItem]]:
    """Every item of every section, for an export: four queries."""
    rows: list[tuple[str, AttentionItem]] = []
    for key, (queryset, item) in (
        ("relationships", _relationship_items(user=user, as_of=as_of)),
        ("silent", _silent_items(user=user, as_of=as_of)),
        ("gaps", _gap_items(user=user)),
        ("obligations", _obligation_items(user=user, as_of=as_of)),
    ):
        rows.extend((ATTENTION_SECTIONS[key], item(row)) for row in queryset)
    return rows


# --- consultants -----------------------------------------------------------------------------------

CONSULTANT_SORTS: dict[str, Any] = {
    "name": F("first_name"),
    "engagements": F("engagement_count"),
    "compliance": F("compliance_ratio"),
    "overdue": F("overdue_count"),
}


@dataclasses.dataclass(frozen=True)
class ConsultantRow:
    user: User
    engagements: int
    compliance: Compliance
    overdue: int
    # "Engagement lead" for a consultant who leads one, as the header names them.
    role_label: str

    @property
    def percent(self) -> int | None:
        return percent(self.compliance)


def consultants_queryset(
    *, user: Any, as_of: datetime, sort: str = "name", descending: bool = False
) -> QuerySet[User]:
    """Active people of the firm on some engagement's team, with running engagements, compliance of
    the channels they own over 12 weeks and the follow-ups they owe overdue; one query."""
    window = ComplianceWindow.last_days(days=7 * COMPLIANCE_WEEKS[-1], as_of=as_of)
    columns = compliance_columns(user=user, by="owner", window=window)
    people = (
        User.objects.filter(is_active=True)
        .exclude(role=User.Role.CLIENT)
        .filter(Exists(Membership.objects.visible_to(user).filter(user=OuterRef("pk"))))
        .annotate(
            engagement_count=user_running_engagements(),
            leads=user_leads_an_engagement(),
            compliance_due=columns.due,
            compliance_held=columns.held_on_time,
            compliance_ratio=columns.ratio,
            overdue_count=owner_overdue_follow_ups(user=user, as_of=as_of),
        )
    )
    key = CONSULTANT_SORTS.get(sort, CONSULTANT_SORTS["name"])
    return people.order_by(_ordered(key, descending=descending), "first_name", "last_name", "username", "pk")


def consultant_rows(people: Sequence[User]) -> list[ConsultantRow]:
    rows = []
    for person in people:
        figures: dict[str, Any] = vars(person)
        rows.append(
            ConsultantRow(
                user=person,
                engagements=figures["engagement_count"],
                compliance=Compliance.of(
                    due=figures["compliance_due"], held_on_time=figures["compliance_held"]
                ),
                overdue=figures["overdue_count"],
                role_label=role_label(user=person, leads=figures["leads"]),
            )
        )
    return rows


def consultants_page(
    *, user: Any, as_of: datetime, sort: str, descending: bool, number: int, size: int = PAGE_SIZE
) -> Page:
    page = page_of(
        consultants_queryset(user=user, as_of=as_of, sort=sort, descending=descending),
        number=number,
        size=size,
    )
    return dataclasses.replace(page, rows=consultant_rows(page.rows))
