"""The cadence compliance portfolio: per engagement and per consultant, over a chosen window."""

from __future__ import annotations

import datetime as dt
import html
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse

from engagements.models import Engagement
from tests import factories
from tests.compliance_history import MARCH, UTC, history, march, row_of
from workspace.views import compliance as compliance_views

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def march_history(world):
    """EHR-A (the lead's) held 1 of 2 on time; ERP-B (the outsider's) 2 of 2; DATA-A had nothing due."""
    history(world.mine.channel, ["on_time", "missed"])
    history(world.other.channel, ["on_time", "on_time"])
    # Upcoming in the window, so DATA-A has an occurrence but nothing that fell due.
    factories.make_occurrence(channel=world.sibling.channel, due_at=march(20), outcome="upcoming")
    return world


def test_portfolio_lists_engagements_worst_first_and_says_when_nothing_was_due(client, march_history):
    # Given the practice lead, who sees every engagement
    client.force_login(march_history.practice_lead)

    # When they open the portfolio for March
    html = client.get(reverse("compliance_portfolio"), MARCH).content.decode()

    # Then EHR-A (50 %) comes before ERP-B (100 %), and DATA-A says nothing was due rather than 0 %
    assert html.index("EHR-A") < html.index("ERP-B") < html.index("DATA-A")
    ehr = row_of(html, f"compliance-engagement-{march_history.mine.engagement.pk}")
    assert "50%" in ehr and 'aria-label="50% held on time (1 of 2)"' in ehr
    assert "100%" in row_of(html, f"compliance-engagement-{march_history.other.engagement.pk}")
    data = row_of(html, f"compliance-engagement-{march_history.sibling.engagement.pk}")
    assert "Nothing was due" in data and "0%" not in data
    # And the portfolio total counts 3 of 4
    assert "3 of 4" in html


def test_an_engagement_closed_since_keeps_its_figures_but_shows_no_health_flag(client, march_history):
    # Given EHR-A, computed red, closed after March
    engagement = march_history.mine.engagement
    Engagement.objects.filter(pk=engagement.pk).update(
        status=Engagement.Status.CLOSED,
        health="red",
        health_factors=[{"key": "overdue_follow_ups", "label": "Overdue follow-ups", "severity": "red"}],
    )
    client.force_login(march_history.practice_lead)

    # When the practice lead opens the portfolio for March
    page = client.get(reverse("compliance_portfolio"), MARCH).content.decode()

    # Then its March figures stand, and its health cell says there is none to act on
    ehr = row_of(page, f"compliance-engagement-{engagement.pk}")
    assert 'aria-label="50% held on time (1 of 2)"' in ehr
    assert '<td data-label="Health"><span class="muted">none: closed</span></td>' in ehr
    assert "rag-red" not in ehr and "Overdue follow-ups" not in ehr


def test_portfolio_ranks_consultants_by_the_channels_they_own(client, march_history):
    client.force_login(march_history.practice_lead)

    html = client.get(reverse("compliance_portfolio"), MARCH).content.decode()

    # Then the lead (1 of 2) is listed before the outsider (2 of 2)
    lead = row_of(html, f"compliance-owner-{march_history.lead.pk}")
    outsider = row_of(html, f"compliance-owner-{march_history.outsider_consultant.pk}")
    assert "50%" in lead and "100%" in outsider
    assert html.index(f"compliance-owner-{march_history.lead.pk}") < html.index(
        f"compliance-owner-{march_history.outsider_consultant.pk}"
    )


@pytest.mark.parametrize(
    ("role", "seen", "unseen"),
    [
        ("consultant", ["EHR-A"], ["ERP-B", "DATA-A", "outsider"]),
    ],
)
def test_portfolio_shows_only_the_engagements_in_the_users_scope(client, march_history, role, seen, unseen):
    # Given a user who sees some engagements only
    client.force_login(getattr(march_history, role))

    # When they open the portfolio
    html = client.get(reverse("compliance_portfolio"), MARCH).content.decode()

    # Then nothing of the others shows: no row, no consultant, no count in the total
    for code in seen:
        assert code in html
    for text in unseen:
        assert text not in html
    if role == "consultant":
        assert "1 of 2" in html


def test_compliance_is_not_a_page_for_a_client_user(client, march_history):
    # Per-engagement and per-consultant compliance is the firm's own (pmaas/sharing.py)
    client.force_login(march_history.client_user)
    assert client.get(reverse("compliance_portfolio"), MARCH).status_code == 404
    assert client.get(reverse("compliance_portfolio"), {**MARCH, "by": "owner"}).status_code == 404


def test_portfolio_defaults_to_the_last_90_days_and_offers_30_and_180(client, world):
    # Given occurrences missed 20 and 60 days ago, and one held on time 120 days ago
    now = dt.datetime(2026, 8, 1, 12, 0, tzinfo=UTC)
    for days_ago, outcome in ((20, "missed"), (60, "missed"), (120, "on_time")):
        factories.make_occurrence(
            channel=world.mine.channel, due_at=now - dt.timedelta(days=days_ago), outcome=outcome
        )
    client.force_login(world.lead)
    row_id = f"compliance-engagement-{world.mine.engagement.pk}"

    with time_machine.travel(now, tick=False):
        default = client.get(reverse("compliance_portfolio")).content.decode()
        last_30 = client.get(reverse("compliance_portfolio"), {"days": "30"}).content.decode()
        last_180 = client.get(reverse("compliance_portfolio"), {"days": "180"}).content.decode()

    # Then each window counts the occurrences that fell due inside it
    assert "the last 90 days" in default and "0 of 2" in default
    assert '<option value="90" selected>' in default
    assert "0 of 1" in last_30
    assert "1 of 3" in last_180 and "33%" in row_of(last_180, row_id)


@pytest.mark.parametrize(
    ("query", "field", "message", "kept"),
    [
        (
            {"start": "2026-03-31", "end": "2026-03-01"},
            "end",
            "The last day comes before the first.",
            "2026-03-31",
        ),
        ({"start": "2026-03-01"}, "start", "", "2026-03-01"),
        ({"start": "first of March", "end": "2026-03-31"}, "start", "Enter a valid date.", "first of March"),
        ({"days": "45"}, "days", "Select a valid choice.", ""),
    ],
)
def test_a_bad_window_shows_field_errors_and_keeps_what_was_typed(client, world, query, field, message, kept):
    client.force_login(world.lead)

    # When the window chooser gets input it cannot use
    response = client.get(reverse("compliance_portfolio"), query)

    # Then the page answers with the error beside the field, what was typed, and no figures
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{field}_errors"' in html or ('id="id_end_errors"' in html and field == "start")
    assert message in html
    assert f'value="{kept}"' in html or not kept
    assert "Correct the window" in html
    assert "compliance-engagement-" not in html


def test_portfolio_query_count_does_not_grow_with_engagements_or_occurrences(
    client, world, django_assert_num_queries
):
    client.force_login(world.practice_lead)
    url = reverse("compliance_portfolio")
    for size in (1, 6):
        # Given more engagements, channels, owners and occurrences
        while len(client.get(url, MARCH).content.decode().split("compliance-engagement-")) - 1 < 3 + size:
            owner = factories.consultant()
            engagement = factories.make_engagement(lead=owner)
            channel = factories.make_channel(role=factories.make_role(engagement=engagement), owner=owner)
            history(channel, ["on_time", "late", "missed"])

        # Then the page is served with the same number of queries
        # Session, user, the bell; total, per engagement, engagement codes, the page's engagements,
        # per owner, owner names.
        with django_assert_num_queries(9):
            response = client.get(url, MARCH)
        assert response.status_code == 200


def test_each_table_is_paged_worst_first_with_the_window_kept(client, march_history, monkeypatch):
    # Given pages of two rows, and the practice lead's three engagements and two owners
    monkeypatch.setattr(compliance_views, "COMPLIANCE_PAGE_SIZE", 2)
    client.force_login(march_history.practice_lead)

    # When they read March's figures page by page
    first = client.get(reverse("compliance_portfolio"), MARCH)
    second = client.get(reverse("compliance_portfolio"), {**MARCH, "page": 2})

    # Then the engagements run on from one page to the next, worst first, each once
    def codes(response):
        return [row.label for row in response.context["engagement_rows"]]

    assert codes(first) == ["EHR-A", "ERP-B"] and codes(second) == ["DATA-A"]
    # And the link to the next page keeps the window
    assert first.context["engagement_pages"]["next"] == urlencode({**MARCH, "page": 2})
    assert f'href="?{html.escape(urlencode({**MARCH, "page": 2}))}"' in first.content.decode()
    # And the consultants' table pages on its own
    assert not first.context["owner_pages"]["next"]
    assert [row.id for row in first.context["owner_rows"]] == [
        march_history.lead.pk,
        march_history.outsider_consultant.pk,
    ]


def test_main_navigation_links_to_the_portfolio(client, world):
    client.force_login(world.consultant)

    html = client.get(reverse("home")).content.decode()

    assert f'href="{reverse("compliance_portfolio")}"' in html


def test_the_window_chooser_swaps_the_figures_in_place_with_htmx(client, march_history):
    client.force_login(march_history.practice_lead)

    response = client.get(reverse("compliance_portfolio"), MARCH, **HX)

    # Then only the chooser and the figures come back, ready to replace the old ones
    html = response.content.decode()
    assert 'id="compliance-portfolio"' in html and "<html" not in html
    assert 'hx-target="#compliance-portfolio"' in html
    assert "3 of 4" in html


def test_dates_of_the_window_are_whole_days_in_the_users_time_zone(client, world):
    # Given a missed occurrence at 20:00 UTC on 31 March, already 1 April in Auckland
    factories.make_occurrence(
        channel=world.mine.channel, due_at=dt.datetime(2026, 3, 31, 20, 0, tzinfo=UTC), outcome="missed"
    )
    row_id = f"compliance-engagement-{world.mine.engagement.pk}"

    # When a lead in UTC and one in Auckland look at March
    world.lead.time_zone = "UTC"
    world.lead.save(update_fields=["time_zone"])
    client.force_login(world.lead)
    in_utc = row_of(client.get(reverse("compliance_portfolio"), MARCH).content.decode(), row_id)
    world.lead.time_zone = "Pacific/Auckland"
    world.lead.save(update_fields=["time_zone"])
    in_auckland = row_of(client.get(reverse("compliance_portfolio"), MARCH).content.decode(), row_id)

    # Then March holds it for the first and not for the second
    assert "0%" in in_utc
    assert "Nothing was due" in in_auckland
