"""Relationship health: how one stakeholder relationship stands, and why.

The rule, per role on an engagement:

- The planned interval is the gap between the last contact and the next due
  time of the active channel with that person, when both are known. Without a
  channel (or before any contact) there is no plan to measure against, so
  fixed limits apply instead: amber after 21 days of silence, red after 45.
- **Red** when the silence is longer than twice the planned interval, or two
  or more of the person's follow-ups on the engagement are overdue.
- **Amber** when the silence is longer than the planned interval, any
  follow-up is overdue, the latest check-in's sentiment was negative, the
  desired engagement level is two or more steps above the current one, or no
  contact has been recorded at all.
- **Green** otherwise.

Every reason that applies is reported, so the page can say why.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

GREEN = "green"
AMBER = "amber"
RED = "red"

UNPLANNED_AMBER_AFTER = timedelta(days=21)
UNPLANNED_RED_AFTER = timedelta(days=45)


@dataclasses.dataclass(frozen=True)
class RelationshipHealth:
    status: str
    reasons: tuple[str, ...]


def relationship_health(
    *,
    as_of: datetime,
    last_contact_at: datetime | None,
    next_due_at: datetime | None,
    overdue_follow_ups: int,
    latest_sentiment: int | None,
    level_gap: int,
) -> RelationshipHealth:
    """Apply the rule in the module docstring; a pure function of what the register already shows."""
    red: list[str] = []
    amber: list[str] = []

    if last_contact_at is None:
        amber.append("No contact recorded yet")
    else:
        silence = as_of - last_contact_at
        planned = next_due_at - last_contact_at if next_due_at is not None else None
        if planned is not None and planned > timedelta(0):
            basis = f"the planned interval of {planned.days} days"
            if silence > 2 * planned:
                red.append(f"No contact for {silence.days} days, more than twice {basis}")
            elif silence > planned:
                amber.append(f"No contact for {silence.days} days, longer than {basis}")
        elif silence > UNPLANNED_RED_AFTER:
            red.append(
                f"No contact for {silence.days} days and no planned channel "
                f"(limit {UNPLANNED_RED_AFTER.days} days)"
            )
        elif silence > UNPLANNED_AMBER_AFTER:
            amber.append(
                f"No contact for {silence.days} days and no planned channel "
                f"(limit {UNPLANNED_AMBER_AFTER.days} days)"
            )

    if overdue_follow_ups >= 2:
        red.append(f"{overdue_follow_ups} overdue follow-ups")
    elif overdue_follow_ups == 1:
        amber.append("1 overdue follow-up")

    if latest_sentiment is not None and latest_sentiment < 0:
        amber.append("Latest check-in was negative")
    if level_gap >= 2:
        amber.append(f"Engagement level {level_gap} steps below the desired one")

    if red:
        return RelationshipHealth(status=RED, reasons=tuple(red + amber))
    if amber:
        return RelationshipHealth(status=AMBER, reasons=tuple(amber))
    return RelationshipHealth(status=GREEN, reasons=())
