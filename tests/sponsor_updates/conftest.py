"""An engagement with a sponsor and a mix of shared and internal records, at fixed dates."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from communications import services as communication_services
from communications.models import CheckIn, FollowUp, SponsorSubscription
from engagements.models import ChangeRequest, Engagement, Health
from sponsor_updates import services
from tests import factories

UTC = dt.UTC
# A Monday; the update of Monday 9 March 2026, 08:00 in Berlin, is due at 07:00 UTC.
AS_OF = dt.datetime(2026, 3, 9, 7, 30, tzinfo=UTC)
INTERNAL = "INTERNAL-MARKER"
# Monday 9 March, 08:00 Berlin: the update covering 2–8 March is due; before it, and after it.
DUE = dt.datetime(2026, 3, 9, 7, tzinfo=UTC)
BEFORE = DUE - dt.timedelta(days=3)
LATER = AS_OF + dt.timedelta(hours=3)


@dataclasses.dataclass
class Sponsored:
    engagement: Engagement
    lead: object
    sponsor: object
    subscription: SponsorSubscription


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def sponsored(db: None) -> Sponsored:
    lead = factories.consultant(username="lead-updates", first_name="Lena", last_name="Lead")
    engagement = factories.make_engagement(lead=lead, name="EHR <&> rollout", code="EHR-26")
    Engagement.objects.filter(pk=engagement.pk).update(
        health=Health.AMBER,
        health_override=Health.RED,
        health_override_reason=f"{INTERNAL} override reason",
        health_override_at=AS_OF,
        health_override_until=AS_OF + dt.timedelta(days=30),
        health_shared_with_client=True,
    )
    engagement.refresh_from_db()
    sponsor_role = factories.make_role(
        engagement=engagement,
        kind="sponsor",
        stakeholder=factories.make_stakeholder(
            client=engagement.client, name="Ana Ruiz", email="ana@client.test", time_zone="Europe/Berlin"
        ),
    )
    sponsor = sponsor_role.stakeholder
    # Shared: a meeting with a decision, and a follow-up the client owes.
    shared = factories.make_check_in(
        engagement=engagement,
        attendees=[sponsor],
        occurred_at=_at(4),
        summary="Agreed the cut-over weekend.",
        decisions="Cut over on 14 March.",
        follow_ups=[
            communication_services.FollowUpSpec(
                title="Sign the data migration plan", due_at=_at(6), owner_stakeholder=sponsor
            )
        ],
    )
    CheckIn.objects.filter(pk=shared.pk).update(shared_with_client=True, sentiment=-2)
    # Internal: a meeting, its sentiment and a team follow-up.
    factories.make_check_in(
        engagement=engagement,
        attendees=[sponsor],
        occurred_at=_at(5),
        summary=f"{INTERNAL} check-in summary",
        follow_ups=[
            communication_services.FollowUpSpec(
                title=f"{INTERNAL} follow-up", due_at=_at(20), owner_user=lead
            )
        ],
    )
    FollowUp.objects.filter(title__startswith=INTERNAL).update(shared_with_client=False)
    factories.engagement_services.milestone_create(
        actor=factories._system(), engagement=engagement, name="Go-live", due_on=dt.date(2026, 4, 1)
    )
    ChangeRequest.objects.create(
        engagement=engagement,
        title="Add the pharmacy module",
        raised_on=dt.date(2026, 3, 3),
        budget_impact=40_000,
        schedule_impact_days=10,
    )
    services.subscriptions_ensure_for_sponsors(as_of=dt.datetime(2026, 3, 1, tzinfo=UTC))
    subscription = SponsorSubscription.objects.get(engagement=engagement, stakeholder=sponsor)
    return Sponsored(engagement=engagement, lead=lead, sponsor=sponsor, subscription=subscription)


@pytest.fixture
def due(sponsored: Sponsored) -> Sponsored:
    """The sponsor's next update is Monday 9 March's; whether it needs approval is up to each test."""
    SponsorSubscription.objects.update(next_send_at=DUE)
    sponsored.subscription.refresh_from_db()
    return sponsored
