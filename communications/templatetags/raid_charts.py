"""The RAID tab's 5×5 risk matrix, drawn as SVG from counts the view already read (no query here)."""

from __future__ import annotations

from typing import Any

from django import template

from communications.selectors import RiskCell

register = template.Library()

# Geometry in the SVG's own user units (viewBox): a margin for the axes, then 5 × 5 cells.
LEFT, TOP, CELL = 56, 12, 56
SIDE = 5 * CELL
WIDTH, HEIGHT = LEFT + SIDE + 12, TOP + SIDE + 44


@register.inclusion_tag("communications/_risk_matrix.html")
def risk_matrix(rows: list[list[RiskCell]]) -> dict[str, Any]:
    """``rows``: impact 5 down to 1, each likelihood 1 to 5 (selectors.raid_risk_matrix)."""
    cells = [
        {
            "cell": cell,
            "x": LEFT + (cell.likelihood - 1) * CELL,
            "y": TOP + (5 - cell.impact) * CELL,
            "cx": LEFT + (cell.likelihood - 1) * CELL + CELL // 2,
            "cy": TOP + (5 - cell.impact) * CELL + CELL // 2,
        }
        for row in rows
        for cell in row
    ]
    total = sum(cell.count for row in rows for cell in row)
    return {
        "rows": rows,
        "cells": cells,
        "total": total,
        "size": CELL,
        "width": WIDTH,
        "height": HEIGHT,
        "ticks": [
            {"value": n, "x": LEFT + (n - 1) * CELL + CELL // 2, "y": TOP + (5 - n) * CELL + CELL // 2}
            for n in range(1, 6)
        ],
        "axis": {
            "x_tick_y": TOP + SIDE + 16,
            "x_label_y": TOP + SIDE + 36,
            "y_tick_x": LEFT - 14,
            "y_label_x": 16,
            "mid_x": LEFT + SIDE // 2,
            "mid_y": TOP + SIDE // 2,
        },
    }
