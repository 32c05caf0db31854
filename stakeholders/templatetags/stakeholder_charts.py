"""The power-interest grid and the engagement assessment matrix, drawn from the register rows.

Both work on rows already loaded by the view, so drawing them costs no query.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django import template

from stakeholders.models import (
    HIGH_FROM,
    KEEP_INFORMED,
    KEEP_SATISFIED,
    LEVEL_ORDER,
    MANAGE_CLOSELY,
    MONITOR,
    QUADRANTS,
    Level,
    StakeholderRole,
)

register = template.Library()

# Geometry of the SVG, in its own user units (viewBox).
LEFT, TOP, CELL = 56, 12, 64
SIDE = 5 * CELL
WIDTH, HEIGHT = LEFT + SIDE + 12, TOP + SIDE + 44


@dataclasses.dataclass(frozen=True)
class GridPoint:
    number: int
    name: str
    influence: int
    interest: int
    quadrant: str
    x: float
    y: float
    r: float
    font_size: float


def grid_points(roles: Iterable[StakeholderRole]) -> list[GridPoint]:
    """Place each role by interest (x) and influence (y); several in one cell are spread over it."""
    numbered = list(enumerate(roles, start=1))
    by_cell: dict[tuple[int, int], list[tuple[int, StakeholderRole]]] = defaultdict(list)
    for number, role in numbered:
        by_cell[(role.interest, role.influence)].append((number, role))
    points: list[GridPoint] = []
    for (interest, influence), members in by_cell.items():
        columns = math.ceil(math.sqrt(len(members)))
        rows = math.ceil(len(members) / columns)
        radius = min(11.0, CELL / (2 * columns + 1))
        cell_x = LEFT + (interest - 1) * CELL
        cell_y = TOP + (5 - influence) * CELL
        for index, (number, role) in enumerate(members):
            column, row = index % columns, index // columns
            points.append(
                GridPoint(
                    number=number,
                    name=role.stakeholder.name,
                    influence=influence,
                    interest=interest,
                    quadrant=role.quadrant,
                    x=round(cell_x + (column + 1) * CELL / (columns + 1), 1),
                    y=round(cell_y + (row + 1) * CELL / (rows + 1), 1),
                    r=round(radius, 1),
                    font_size=round(radius * 1.1, 1),
                )
            )
    return sorted(points, key=lambda point: point.number)


@register.inclusion_tag("stakeholders/_power_interest_grid.html")
def power_interest_grid(roles: Iterable[StakeholderRole]) -> dict[str, Any]:
    points = grid_points(roles)
    # The quadrants' dividing lines fall where "high" begins on each axis.
    split_x = LEFT + (HIGH_FROM - 1) * CELL
    split_y = TOP + (5 - HIGH_FROM + 1) * CELL
    right, bottom = LEFT + SIDE, TOP + SIDE
    by_quadrant = {name: [point for point in points if point.quadrant == name] for name in QUADRANTS}
    return {
        "points": points,
        "by_quadrant": by_quadrant,
        "width": WIDTH,
        "height": HEIGHT,
        "frame": {"x": LEFT, "y": TOP, "side": SIDE},
        "split": {"x": split_x, "y": split_y},
        "quadrant_boxes": [
            {"name": KEEP_SATISFIED, "x": LEFT, "y": TOP, "w": split_x - LEFT, "h": split_y - TOP},
            {"name": MANAGE_CLOSELY, "x": split_x, "y": TOP, "w": right - split_x, "h": split_y - TOP},
            {"name": MONITOR, "x": LEFT, "y": split_y, "w": split_x - LEFT, "h": bottom - split_y},
            {"name": KEEP_INFORMED, "x": split_x, "y": split_y, "w": right - split_x, "h": bottom - split_y},
        ],
        "ticks": [
            {"value": value, "x": LEFT + (value - 0.5) * CELL, "y": TOP + (5.5 - value) * CELL}
            for value in range(1, 6)
        ],
        "axis": {
            "x_label_y": bottom + 36,
            "x_tick_y": bottom + 16,
            "y_label_x": 16,
            "mid_x": LEFT + SIDE / 2,
            "mid_y": TOP + SIDE / 2,
            "y_tick_x": LEFT - 10,
        },
    }


@dataclasses.dataclass(frozen=True)
class MatrixCell:
    level: str
    label: str
    current: bool
    desired: bool
    in_gap: bool


@dataclasses.dataclass(frozen=True)
class MatrixRow:
    role: StakeholderRole
    cells: list[MatrixCell]
    gap: int
    gap_text: str


def _gap_text(gap: int) -> str:
    if gap > 0:
        return f"{gap} step{'s' if gap != 1 else ''} to go"
    if gap < 0:
        return f"{-gap} step{'s' if gap != -1 else ''} beyond desired"
    return "At the desired level"


def matrix_rows(roles: Iterable[StakeholderRole]) -> list[MatrixRow]:
    rows = []
    for role in roles:
        current, desired = LEVEL_ORDER[role.current_level], LEVEL_ORDER[role.desired_level]
        cells = [
            MatrixCell(
                level=level.value,
                label=str(level.label),
                current=rank == current,
                desired=rank == desired,
                in_gap=current < rank <= desired,
            )
            for rank, level in enumerate(Level)
        ]
        gap = desired - current
        rows.append(MatrixRow(role=role, cells=cells, gap=gap, gap_text=_gap_text(gap)))
    return rows


@register.inclusion_tag("stakeholders/_assessment_matrix.html")
def assessment_matrix(roles: Iterable[StakeholderRole]) -> dict[str, Any]:
    return {"rows": matrix_rows(roles), "levels": [str(level.label) for level in Level]}
