"""Cadence compliance as pages and the API show it: rows with a label, worst first.

The counting is communications.scheduling's (one grouped query per grouping);
this module names the groups, through the same scoped selectors, and orders
them. Reads only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.db.models import Count, FloatField, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, NullIf

from communications import scheduling
from communications.models import Occurrence
from communications.scheduling import Compliance
from communications.selectors import channel_list
from engagements.models import Engagement
from engagements.selectors import engagement_list
from stakeholders.selectors import stakeholder_list

WINDOW_DAYS = (30, 90, 180)
DEFAULT_WINDOW_DAYS = 90
# Three years: compliance is read over recent months, and a wider window only scans more rows.
LONGEST_WINDOW_DAYS = 3 * 366
GROUPINGS = ("engagement", "stakeholder", "channel", "owner")
# Colour bands of the bar, in whole percent.
GREEN_FROM = 90
AMBER_FROM = 70


@dataclasses.dataclass(frozen=True)
class ComplianceWindow:
    """Occurrences due in [start, end) count; ``words`` says the window to the reader."""

    start: datetime
    end: datetime
    words: str

    @classmethod
    def last_days(cls, *, days: int, as_of: datetime) -> ComplianceWindow:
        return cls(start=as_of - timedelta(days=days), end=as_of, words=f"the last {days} days")

    @classmethod
    def between(cls, *, first: date, last: date, zone: tzinfo) -> ComplianceWindow:
        """Whole days ``first`` to ``last``, both included, in ``zone``."""
        return cls(
            start=datetime.combine(first, time(0), tzinfo=zone),
            end=datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone),
            words=f"{first.day} {first:%b %Y} to {last.day} {last:%b %Y}",
        )


def window_date_errors(first: date | None, last: date | None) -> dict[str, str]:
    """What is wrong with a first–last day pair, keyed "first" or "last"; empty when nothing is."""
    if first is None and last is None:
        return {}
    if first is None:
        return {"first": "Give the first day too, or neither date."}
    if last is None:
        return {"last": "Give the last day too, or neither date."}
    if last < first:
        return {"last": "The last day comes before the first."}
    if (last - first).days >= LONGEST_WINDOW_DAYS:
        return {"last": f"Choose at most {LONGEST_WINDOW_DAYS} days."}
    return {}


@dataclasses.dataclass(frozen=True)
class ComplianceRow:
    id: int
    label: str
    compliance: Compliance
    detail: str = ""
    # Per engagement only: its effective health and the main factor behind the computed one.
    health: str = ""
    health_factor: dict[str, Any] | None = None
    # "Closed" or "Cancelled" for an engagement that has ended, whose health is no flag any more.
    ended: str = ""

    @property
    def due(self) -> int:
        return self.compliance.due

    @property
    def held_on_time(self) -> int:
        return self.compliance.held_on_time

    @property
    def ratio(self) -> float | None:
        return self.compliance.ratio

    @property
    def percent(self) -> int | None:
        """Whole percent for the page; None when nothing was due, which is not 0 %."""
        return None if self.compliance.ratio is None else round(self.compliance.ratio * 100)

    @property
    def level(self) -> str:
        """The bar's colour band: green from 90 %, amber from 70 %, red below."""
        if self.percent is None:
            return "none"
        if self.percent >= GREEN_FROM:
            return "green"
        return "amber" if self.percent >= AMBER_FROM else "red"


NOTHING_DUE = Compliance.of(due=0, held_on_time=0)


def worst_first(rows: Iterable[ComplianceRow]) -> list[ComplianceRow]:
    """Lowest ratio first, the most due first among equals; groups with nothing due last."""
    return sorted(
        rows,
        key=lambda row: (row.ratio is None, row.ratio or 0.0, -row.due, row.label.casefold(), row.id),
    )


def compliance_ranked(
    *, by: str, user: Any, window: ComplianceWindow, engagement: Engagement | None = None
) -> list[tuple[int, int, int]]:
    """(group id, due, held on time) of every group in the window, worst first as ``worst_first``
    orders rows (ties by id), before any label is read: the API pages first and makes figures for
    the page only, which at firm scale was a quarter of the request. One query."""
    counts = scheduling.compliance_counts_by(
        scheduling.COMPLIANCE_GROUP_KEYS[by],
        occurrences_for(user=user, engagement=engagement),
        window.start,
        window.end,
    )
    return sorted(counts, key=lambda row: (row[1] == 0, row[2] / row[1] if row[1] else 0.0, -row[1], row[0]))


def occurrences_for(*, user: Any, engagement: Engagement | None = None) -> QuerySet[Occurrence]:
    """The occurrences compliance counts for ``user``, narrowed to one engagement when given."""
    occurrences = scheduling.occurrence_list(user=user)
    if engagement is not None:
        occurrences = occurrences.filter(engagement=engagement)
    return occurrences


def compliance_total(
    *, user: Any, window: ComplianceWindow, engagement: Engagement | None = None
) -> Compliance:
    return scheduling.cadence_compliance(
        occurrences_queryset=occurrences_for(user=user, engagement=engagement),
        window_start=window.start,
        window_end=window.end,
    )


_GROUPED: dict[str, Callable[..., dict[int, Compliance]]] = {
    "engagement": scheduling.cadence_compliance_by_engagement,
    "stakeholder": scheduling.cadence_compliance_by_stakeholder,
    "channel": scheduling.cadence_compliance_by_channel,
    "owner": scheduling.cadence_compliance_by_owner,
}


def compliance_by(
    *, by: str, user: Any, window: ComplianceWindow, engagement: Engagement | None = None
) -> dict[int, Compliance]:
    """Compliance per group id (one grouped query) over the groups with an occurrence in the window."""
    return _GROUPED[by](
        occurrences_queryset=occurrences_for(user=user, engagement=engagement),
        window_start=window.start,
        window_end=window.end,
    )


def _owner_labels(*, user: Any, ids: Iterable[int]) -> dict[int, str]:
    # Owners are read through the channels in scope, so no user outside it is ever named.
    rows = (
        channel_list(user=user)
        .filter(owner_id__in=list(ids))
        .order_by()
        .values_list("owner_id", "owner__first_name", "owner__last_name", "owner__username")
        .distinct()
    )
    return {pk: f"{first} {last}".strip() or username for pk, first, last, username in rows}


def group_labels(*, by: str, user: Any, ids: Iterable[int]) -> dict[int, str]:
    """A readable label per group id, in one scoped query."""
    wanted = list(ids)
    # Values, not rows: a page of labels is a few names, and whole rows cost more than the figures.
    if by == "engagement":
        rows = engagement_list(user=user).filter(pk__in=wanted).order_by().values_list("pk", "code", "name")
        return {pk: f"{code} · {name}" for pk, code, name in rows}
    if by == "stakeholder":
        return dict(stakeholder_list(user=user).filter(pk__in=wanted).order_by().values_list("pk", "name"))
    if by == "channel":
        channels = channel_list(user=user).filter(pk__in=wanted).order_by()
        return {
            pk: f"{title} · {name}"
            for pk, title, name in channels.values_list("pk", "title", "stakeholder__name")
        }
    return _owner_labels(user=user, ids=wanted)


def compliance_rows(
    *, by: str, user: Any, window: ComplianceWindow, engagement: Engagement | None = None
) -> list[ComplianceRow]:
    """One labelled row per group with an occurrence in the window, worst first: two queries."""
    grouped = compliance_by(by=by, user=user, window=window, engagement=engagement)
    labels = group_labels(by=by, user=user, ids=grouped)
    return worst_first(
        ComplianceRow(id=pk, label=labels.get(pk, ""), compliance=compliance)
        for pk, compliance in grouped.items()
        if pk in labels
    )


def engagement_compliance_rows(
    *, user: Any, window: ComplianceWindow, start: int = 0, stop: int | None = None
) -> list[ComplianceRow]:
    """Engagements in scope worst first, those with nothing due included (and last); rows [start:stop].

    Three queries: the grouped figures, the ids and codes of every engagement
    in scope (to order them), and the engagements of the rows asked for.
    """
    grouped = compliance_by(by="engagement", user=user, window=window)
    codes = dict(engagement_list(user=user).values_list("pk", "code"))
    ordered = worst_first(
        ComplianceRow(id=pk, label=code, compliance=grouped.get(pk, NOTHING_DUE))
        for pk, code in codes.items()
    )[start:stop]
    engagements = engagement_list(user=user).in_bulk([row.id for row in ordered])
    return [
        dataclasses.replace(
            row,
            detail=engagement.name,
            health=engagement.effective_health,
            health_factor=None if engagement.health_is_overridden else engagement.top_health_factor,
            ended=engagement.get_status_display() if engagement.has_ended else "",
        )
        for row in ordered
        if (engagement := engagements.get(row.id)) is not None
    ]


def summed(compliances: Iterable[Compliance]) -> Compliance:
    """Totals of several groups, as the grouped query over their union would count them."""
    due = held_on_time = 0
    for compliance in compliances:
        due += compliance.due
        held_on_time += compliance.held_on_time
    return Compliance.of(due=due, held_on_time=held_on_time)


# --- compliance as subqueries of an outer list ------------------------------------------------------

_OUTER_LOOKUP = {"engagement": "engagement_id", "owner": "channel__owner_id"}


@dataclasses.dataclass(frozen=True)
class ComplianceColumns:
    """Due and held-on-time counts of one window, as expressions to annotate an outer query with, and
    their ratio (None when nothing was due) in one subquery, to sort on."""

    due: Coalesce
    held_on_time: Coalesce
    ratio: Subquery


def compliance_columns(
    *, user: Any, by: str, window: ComplianceWindow, outer: str = "pk"
) -> ComplianceColumns:
    """Compliance of each row of an outer engagement (``by="engagement"``) or user (``"owner"``) query.

    The same counting as ``cadence_compliance`` over the occurrences ``user``
    may see, as two correlated subqueries: a dashboard sorts and pages on the
    figures inside its one query, however many rows the portfolio holds.
    """
    lookup = _OUTER_LOOKUP[by]
    occurrences = (
        Occurrence.objects.visible_to(user)
        .filter(**{lookup: OuterRef(outer)}, due_at__gte=window.start, due_at__lt=window.end)
        .order_by()
        .values(lookup)
    )

    def counted(condition: Q) -> Coalesce:
        rows = occurrences.annotate(n=Count(scheduling.COUNTED_COLUMN, filter=condition)).values("n")
        return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))

    # One pass over the occurrences, not the two the counts take (and three when a CASE guards the
    # division): sorting by compliance evaluates it for every row of the portfolio, not just a page.
    ratio = occurrences.annotate(
        r=Cast(Count(scheduling.COUNTED_COLUMN, filter=scheduling.ON_TIME), FloatField())
        / NullIf(Cast(Count(scheduling.COUNTED_COLUMN, filter=scheduling.COUNTED), FloatField()), Value(0.0))
    ).values("r")
    return ComplianceColumns(
        due=counted(scheduling.COUNTED),
        held_on_time=counted(scheduling.ON_TIME),
        ratio=Subquery(ratio, output_field=FloatField()),
    )
