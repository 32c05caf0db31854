"""The client PMO lead's home: her organisation's engagements under the client-visibility policy, no more."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from communications.models import CheckIn, Sentiment
from engagements.models import ChangeRequest, Engagement
from engagements.services import milestone_create
from tests import factories
from tests.factories import World

pytestmark = pytest.mark.django_db


def _home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def _furnish(world: World, engagement: Engagement, label: str) -> None:
    """A milestone, an undecided change, a late item owed by the client, and a shared and an internal note."""
    milestone_create(
        actor=world.administrator, engagement=engagement, name=f"{label} go-live", due_on=dt.date(2026, 10, 1)
    )
    ChangeRequest.objects.create(
        engagement=engagement,
        title=f"{label} pharmacy module",
        raised_on=dt.date(2026, 3, 2),
        budget_impact=1,
    )
    stakeholder = engagement.stakeholder_roles.select_related("stakeholder").earliest("pk").stakeholder
    factories.make_follow_up(
        engagement=engagement,
        owner_stakeholder=stakeholder,
        title=f"{label} sign the data protection addendum",
        due_at=timezone.now() - dt.timedelta(days=3),
    )
    shared = factories.make_check_in(
        engagement=engagement,
        attendees=[stakeholder],
        summary=f"{label} steering committee agreed the cut-over weekend",
        sentiment=Sentiment.VERY_NEGATIVE,
    )
    CheckIn.objects.filter(pk=shared.pk).update(shared_with_client=True)
    factories.make_check_in(
        engagement=engagement, attendees=[stakeholder], summary=f"{label} candid: the sponsor is disengaged"
    )


def test_a_client_pmo_lead_of_client_a_sees_her_dashboard_and_nothing_of_client_b(client, world):
    # Given the same kind of rows on client A's engagement and on client B's
    _furnish(world, world.mine.engagement, "Alpha")
    _furnish(world, world.other.engagement, "Bravo")

    # When client A's PMO lead opens her home
    page = _home(client, world.client_user)

    # Then she sees her engagements, milestone, change, what her people owe (overdue) and the shared note
    assert "EHR-A" in page and "DATA-A" in page
    assert "Alpha go-live" in page
    assert "Alpha pharmacy module" in page
    assert "Alpha sign the data protection addendum" in page
    assert "1 overdue" in page
    assert "Alpha steering committee agreed the cut-over weekend" in page
    # And nothing of client B, nor the internal note, nor any sentiment
    assert "ERP-B" not in page
    assert "Bravo" not in page
    assert "Alpha candid" not in page
    assert "Sentiment" not in page and Sentiment.VERY_NEGATIVE.label not in page


def test_her_people_owe_list_puts_the_overdue_first(client, world):
    # Given an item her colleague owes next week and one three days late
    stakeholder = world.mine.stakeholder
    factories.make_follow_up(
        engagement=world.mine.engagement,
        owner_stakeholder=stakeholder,
        title="Later item",
        due_at=timezone.now() + dt.timedelta(days=7),
    )
    factories.make_follow_up(
        engagement=world.mine.engagement,
        owner_stakeholder=stakeholder,
        title="Late item",
        due_at=timezone.now() - dt.timedelta(days=3),
    )

    # When she opens her home
    page = _home(client, world.client_user)

    # Then the late one comes first, marked overdue
    assert page.index("Late item") < page.index("Later item")
    assert "Overdue" in page


def test_health_shows_only_where_the_firm_shares_it(client, world):
    # Given one engagement whose health the firm shares, and one whose health it keeps
    Engagement.objects.filter(pk=world.mine.engagement.pk).update(health_shared_with_client=True)

    # When she opens her home
    page = _home(client, world.client_user)

    # Then one row shows a colour and the other says it is not shared
    assert f'id="engagement-{world.mine.engagement.pk}"' in page
    row_mine = page.split(f'id="engagement-{world.mine.engagement.pk}"')[1].split("</tr>")[0]
    row_sibling = page.split(f'id="engagement-{world.sibling.engagement.pk}"')[1].split("</tr>")[0]
    assert "rag rag-" in row_mine
    assert "not shared" in row_sibling


@pytest.mark.parametrize("extra", [1, 8])
def test_the_client_home_costs_the_same_whatever_the_portfolio(
    client, world, django_assert_num_queries, extra
):
    # Given client A with ``extra`` more engagements, each furnished like the first
    for n in range(extra):
        engagement = factories.make_engagement(client=world.client_a, code=f"EXTRA-{n}")
        factories.make_role(engagement=engagement)
        _furnish(world, engagement, f"Extra {n}")
    client.force_login(world.client_user)

    # Then her home costs a fixed number of queries
    with django_assert_num_queries(11):
        assert client.get(reverse("home")).status_code == 200
