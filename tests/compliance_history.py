"""Occurrences with known outcomes in March 2026: what the compliance pages are tested on."""

from __future__ import annotations

import datetime as dt

from tests import factories

UTC = dt.UTC
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}


def march(day: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, 12, 0, tzinfo=UTC)


def history(channel, outcomes: list[str]) -> None:
    for day, outcome in enumerate(outcomes, start=2):
        factories.make_occurrence(channel=channel, due_at=march(day), outcome=outcome)


def row_of(html: str, row_id: str) -> str:
    start = html.index(f'id="{row_id}"')
    return html[start : html.index("</tr>", start)]
