"""Trends and cadence heat maps as pages and exports show them, read from the weekly roll-ups.

Reads only. Callers pass engagements already scoped to the user
(``engagement_list(user=…)`` narrowed to a client, a consultant or one
engagement); every figure here sums roll-up rows of those engagements, one
grouped query per read whatever the portfolio holds. A consultant's trend
(``consultant_id``) sums that person's own rows on them instead
(``ConsultantWeeklyRollup``: the check-ins they took part in, the channels
they own, the follow-ups they owe), not their engagements' totals. The stakeholder heat
map of one engagement reads its occurrences directly (one engagement, a
bounded number of rows), grouped in the database by stakeholder and week.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek

from communications.models import Occurrence
from communications.rollups import (
    FIGURES,
    consultant_rollups_for,
    rollups_for,
    week_bounds,
    week_value_date,
)
from engagements.models import Engagement

TREND_WEEKS = 26
HEAT_MAP_WEEKS = 12
# Weeks a heat map may show: the 12 to 26.
HEAT_MAP_WEEK_CHOICES = (12, 26)


@dataclasses.dataclass(frozen=True)
class TrendWeek:
    """One week's figures, summed over the engagements read."""

    week_start: date
    meetings: int = 0
    occurrences_planned: int = 0
    occurrences_due: int = 0
    occurrences_held: int = 0
    occurrences_held_on_time: int = 0
    occurrences_missed: int = 0
    overdue_follow_ups: int = 0
    sentiment_sum: int = 0
    sentiment_count: int = 0

    @property
    def compliance_percent(self) -> int | None:
        """Held on time out of due, in whole percent; None when nothing was due, which is not 0 %."""
        if not self.occurrences_due:
            return None
        return round(100 * self.occurrences_held_on_time / self.occurrences_due)

    @property
    def sentiment_average(self) -> float | None:
        """Mean sentiment of the week's check-ins, -2 to +2, one decimal; None without a check-in."""
        if not self.sentiment_count:
            return None
        return round(self.sentiment_sum / self.sentiment_count, 1)


def trend_weeks(
    *, engagements: QuerySet[Engagement], weeks: Sequence[date], consultant_id: int | None = None
) -> list[TrendWeek]:
    """Each of ``weeks`` (Mondays, oldest first) summed over ``engagements``: one grouped query.

    With ``consultant_id``, that person's own figures on those engagements.
    A week no roll-up row holds yet shows zeros.
    """
    if not weeks:
        return []
    source: QuerySet[Any] = (
        rollups_for(engagements, first=weeks[0], last=weeks[-1])
        if consultant_id is None
        else consultant_rollups_for(engagements, user_id=consultant_id, first=weeks[0], last=weeks[-1])
    )
    rows = source.order_by().values("week_start").annotate(**{name: Sum(name) for name in FIGURES})
    by_week = {row.pop("week_start"): row for row in rows}
    return [TrendWeek(week_start=week, **by_week.get(week, {})) for week in weeks]


@dataclasses.dataclass(frozen=True)
class HeatCell:
    """Planned versus held in one week of one row of a heat map, with a symbol for more than colour."""

    week_start: date
    planned: int = 0
    held: int = 0
    missed: int = 0

    @property
    def state(self) -> str:
        """none (nothing planned), missed (one or more), held (all planned held), open (the rest)."""
        if not self.planned:
            return "none"
        if self.missed:
            return "missed"
        return "held" if self.held >= self.planned else "open"

    @property
    def symbol(self) -> str:
        return {"none": "·", "missed": "✗", "held": "✓", "open": "○"}[self.state]

    @property
    def words(self) -> str:
        """The cell as a screen reader and a printout without colour read it."""
        if not self.planned:
            return "nothing planned"
        text = f"{self.held} of {self.planned} held"
        return f"{text}, {self.missed} missed" if self.missed else text


@dataclasses.dataclass(frozen=True)
class HeatRow:
    id: int
    label: str
    cells: tuple[HeatCell, ...]

    @property
    def totals(self) -> HeatCell:
        return HeatCell(
            week_start=self.cells[0].week_start if self.cells else date.min,
            planned=sum(cell.planned for cell in self.cells),
            held=sum(cell.held for cell in self.cells),
            missed=sum(cell.missed for cell in self.cells),
        )


def heat_rows_by_engagement(
    *,
    engagements: Sequence[Engagement],
    weeks: Sequence[date],
    consultant_id: int | None = None,
    all_of: QuerySet[Engagement] | None = None,
) -> list[HeatRow]:
    """Engagement × week for ``engagements`` (one page of them, already scoped): one query.

    With ``consultant_id``, the planned check-ins of the channels that person owns.
    When ``engagements`` are every row of the scoped query ``all_of`` (an export),
    the roll-ups are read through that query rather than a list of thousands of ids.
    Only each engagement's id, code and name are read.
    """
    if not engagements or not weeks:
        return []
    shown = all_of if all_of is not None else Engagement.objects.filter(pk__in=[e.pk for e in engagements])
    source: QuerySet[Any] = (
        rollups_for(shown, first=weeks[0], last=weeks[-1])
        if consultant_id is None
        else consultant_rollups_for(shown, user_id=consultant_id, first=weeks[0], last=weeks[-1])
    )
    figures = source.order_by().values_list(
        "engagement_id", "week_start", "occurrences_planned", "occurrences_held", "occurrences_missed"
    )
    cells = {
        (pk, week): HeatCell(week_start=week, planned=planned, held=held, missed=missed)
        for pk, week, planned, held, missed in figures
    }
    return [
        HeatRow(
            id=engagement.pk,
            label=f"{engagement.code} · {engagement.name}",
            cells=tuple(cells.get((engagement.pk, week), HeatCell(week_start=week)) for week in weeks),
        )
        for engagement in engagements
    ]


def heat_rows_by_stakeholder(
    *, occurrences: QuerySet[Occurrence], engagement: Engagement, weeks: Sequence[date]
) -> list[HeatRow]:
    """Stakeholder × week for one engagement, from its occurrences (``occurrence_list(user=…)``).

    Weeks are the engagement's (its client's zone); grouped in the database, one query.
    """
    if not weeks:
        return []
    zone = ZoneInfo(engagement.client.time_zone)
    first, _ = week_bounds(weeks[0], zone)
    _, last = week_bounds(weeks[-1], zone)
    rows = (
        occurrences.filter(engagement=engagement, due_at__gte=first, due_at__lt=last)
        .exclude(status=Occurrence.Status.CANCELLED)
        .annotate(week=TruncWeek("due_at", tzinfo=zone))
        .order_by()
        .values("channel__stakeholder_id", "channel__stakeholder__name", "week")
        .annotate(
            planned=Count("pk"),
            held=Count("pk", filter=Q(status=Occurrence.Status.HELD)),
            missed=Count("pk", filter=Q(status=Occurrence.Status.MISSED)),
        )
    )
    names: dict[int, str] = {}
    cells: dict[tuple[int, date], HeatCell] = {}
    for row in rows:
        pk, week = row["channel__stakeholder_id"], week_value_date(row["week"])
        names[pk] = row["channel__stakeholder__name"]
        cells[(pk, week)] = HeatCell(week, planned=row["planned"], held=row["held"], missed=row["missed"])
    ordered = sorted(names.items(), key=lambda item: (item[1].casefold(), item[0]))
    return [
        HeatRow(id=pk, label=name, cells=tuple(cells.get((pk, week), HeatCell(week)) for week in weeks))
        for pk, name in ordered
    ]
