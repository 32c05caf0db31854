"""Week charts and cadence heat maps as SVG drawn on the server: no script, classes for every colour.

Both work on figures the view already read, so drawing them costs no query.
The SVG scales with its viewBox (readable on a 375 px screen), names itself
through <title> and <desc>, and each chart comes with the table it draws.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import date
from typing import Any

from django import template

from communications.trends import HeatRow

register = template.Library()

# Geometry of a week chart, in its own user units (viewBox).
# Narrow enough that its text stays readable when a phone scales it to 343 px.
CHART_WIDTH, CHART_HEIGHT = 480, 250
# The right margin leaves room for the latest week's label, centred under its bar.
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 58, 450, 14, 190
# Heat map: a label column, then one square per week.
HEAT_LABEL_WIDTH, HEAT_CELL, HEAT_TOP = 190, 24, 34
HEAT_LABEL_CHARACTERS = 22
# Room after the last column for its week's label.
HEAT_RIGHT_MARGIN = 28


def week_label(week: date) -> str:
    return f"{week.day} {week:%b}"


def _nice_ceiling(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 … at or above ``value`` (at least 1), for a readable top tick."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)


@dataclasses.dataclass(frozen=True)
class Bar:
    week: str
    value_text: str
    x: float
    y: float
    width: float
    height: float
    negative: bool
    empty: bool


@register.inclusion_tag("workspace/_week_chart.html")
def week_chart(
    *,
    slug: str,
    title: str,
    description: str,
    weeks: Sequence[date],
    values: Sequence[float | int | None],
    unit: str,
    low: float = 0,
    high: float | None = None,
    suffix: str = "",
) -> dict[str, Any]:
    """A bar per week from ``low`` to ``high`` (the largest value, rounded up, when None).

    A week without a value (nothing due, no check-in) gets a dash on the
    axis, not a bar of 0, and says so in the table.
    """
    known = [value for value in values if value is not None]
    top = high if high is not None else _nice_ceiling(max(known, default=0))
    span = (top - low) or 1
    plot_height = PLOT_BOTTOM - PLOT_TOP

    def y_of(value: float) -> float:
        return round(PLOT_BOTTOM - (value - low) / span * plot_height, 1)

    zero = y_of(max(low, min(0, top)))
    slot = (PLOT_RIGHT - PLOT_LEFT) / max(len(weeks), 1)
    bars = []
    for index, (week, value) in enumerate(zip(weeks, values, strict=True)):
        x = round(PLOT_LEFT + index * slot + slot * 0.15, 1)
        if value is None:
            bars.append(Bar(week_label(week), "no data", x, zero, round(slot * 0.7, 1), 0, False, True))
            continue
        y = y_of(value)
        bars.append(
            Bar(
                week=week_label(week),
                value_text=f"{value}{suffix}",
                x=x,
                y=min(y, zero),
                width=round(slot * 0.7, 1),
                height=round(abs(zero - y), 1),
                negative=value < 0,
                empty=False,
            )
        )
    tick_values = [low, 0, top] if low < 0 < top else [low, (low + top) / 2, top]
    ticks = [{"y": y_of(value), "text": _tick_text(value, suffix, signed=low < 0)} for value in tick_values]
    # Every fourth week is labelled on the axis, counted back from the latest, which always is.
    labels = [
        {"x": round(bar.x + bar.width / 2, 1), "text": bar.week}
        for index, bar in enumerate(bars)
        if (len(bars) - 1 - index) % 4 == 0
    ]
    return {
        "slug": slug,
        "title": title,
        "description": description,
        "unit": unit,
        "bars": bars,
        "first_week": bars[0].week if bars else "",
        "last_week": bars[-1].week if bars else "",
        "ticks": ticks,
        "labels": labels,
        "zero": zero,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "plot": {"left": PLOT_LEFT, "right": PLOT_RIGHT, "top": PLOT_TOP, "bottom": PLOT_BOTTOM},
        "axis": {
            "x_label_y": PLOT_BOTTOM + 50,
            "x_tick_y": PLOT_BOTTOM + 22,
            "y_label_x": 14,
            "mid_x": (PLOT_LEFT + PLOT_RIGHT) / 2,
            "mid_y": (PLOT_TOP + PLOT_BOTTOM) / 2,
            "y_tick_x": PLOT_LEFT - 6,
        },
    }


def _tick_text(value: float, suffix: str, *, signed: bool) -> str:
    """An axis number; on a scale that goes below zero, positive ones carry their sign."""
    return f"{value:+g}{suffix}" if signed and value else f"{value:g}{suffix}"


@dataclasses.dataclass(frozen=True)
class HeatSquare:
    x: int
    y: int
    state: str
    symbol: str
    words: str
    week: str


@register.inclusion_tag("workspace/_heat_map.html")
def heat_map(
    *, slug: str, title: str, rows: Sequence[HeatRow], weeks: Sequence[date], row_noun: str
) -> dict[str, Any]:
    """Rows × weeks of squares: ✓ all held, ○ some still open, ✗ missed, · nothing planned."""
    drawn = []
    for index, row in enumerate(rows):
        y = HEAT_TOP + index * HEAT_CELL
        label = (
            row.label
            if len(row.label) <= HEAT_LABEL_CHARACTERS
            else row.label[: HEAT_LABEL_CHARACTERS - 1] + "…"
        )
        squares = [
            HeatSquare(
                x=HEAT_LABEL_WIDTH + column * HEAT_CELL,
                y=y,
                state=cell.state,
                symbol=cell.symbol,
                words=cell.words,
                week=week_label(cell.week_start),
            )
            for column, cell in enumerate(row.cells)
        ]
        drawn.append({"row": row, "label": label, "y": y, "text_y": y + HEAT_CELL // 2, "squares": squares})
    return {
        "slug": slug,
        "title": title,
        "row_noun": row_noun,
        "rows": drawn,
        "weeks": [week_label(week) for week in weeks],
        "week_heads": [
            {"x": HEAT_LABEL_WIDTH + column * HEAT_CELL + HEAT_CELL // 2, "text": week_label(week)}
            for column, week in enumerate(weeks)
            if (len(weeks) - 1 - column) % 4 == 0
        ],
        "cell": HEAT_CELL,
        "half": HEAT_CELL // 2,
        "width": HEAT_LABEL_WIDTH + len(weeks) * HEAT_CELL + HEAT_RIGHT_MARGIN,
        "height": HEAT_TOP + max(len(rows), 1) * HEAT_CELL + 8,
        "label_x": HEAT_LABEL_WIDTH - 8,
    }
