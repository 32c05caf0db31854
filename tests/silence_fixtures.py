"""A sponsor gone silent, flagged by the sweep: what the silence pages and the silence API are tested on."""

from __future__ import annotations

import datetime as dt

import time_machine

from accounts.models import User
from communications.silence import silences_flag
from engagements.models import Engagement
from stakeholders.models import StakeholderRole
from tests import factories

UTC = dt.UTC
SET_UP = dt.datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
# Met once, at 23:30 UTC on Tuesday 6 January: already Wednesday 00:30 in Berlin.
MET = dt.datetime(2026, 1, 6, 23, 30, tzinfo=UTC)
SWEPT = dt.datetime(2026, 2, 6, 9, 0, tzinfo=UTC)


def silent_sponsor(
    *, lead: User, engagement: Engagement | None = None, name: str = "Dr Anna Weber", met: bool = True
) -> StakeholderRole:
    """A weekly sponsor owned by ``lead``, met once on MET (or never), flagged by the sweep on SWEPT."""
    with time_machine.travel(SET_UP, tick=False):
        engagement = engagement or factories.make_engagement(lead=lead)
        stakeholder = factories.make_stakeholder(client=engagement.client, name=name)
        role = factories.make_role(
            engagement=engagement,
            stakeholder=stakeholder,
            kind=StakeholderRole.Kind.SPONSOR,
            relationship_owner=lead,
        )
        factories.make_channel(role=role, owner=lead, starts_on=dt.date(2026, 1, 6))
    if met:
        factories.make_check_in(
            engagement=engagement, attendees=[stakeholder], actor=lead, occurred_at=MET, as_of=MET
        )
    silences_flag(as_of=SWEPT)
    return role
