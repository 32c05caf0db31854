"""Cadence compliance on the plan page: per channel, per stakeholder and in total, over a chosen window."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories
from tests.compliance_history import MARCH, history, row_of

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def test_plan_shows_compliance_per_channel_per_stakeholder_and_in_total(client, world):
    # Given a second channel with the same stakeholder and a channel with another one
    engagement = world.mine.engagement
    second = factories.make_channel(role=world.mine.role, owner=world.lead, title="Monthly steering")
    other_role = factories.make_role(engagement=engagement)
    quiet = factories.make_channel(role=other_role, owner=world.lead, title="Quarterly review")
    history(world.mine.channel, ["on_time", "on_time", "missed", "late"])
    history(second, ["on_time"])
    client.force_login(world.consultant)

    # When the consultant opens the plan for March
    html = client.get(reverse("engagement_plan", args=[engagement.pk]), MARCH).content.decode()

    # Then each channel shows its own figure, the quiet one that nothing was due
    assert "50%" in row_of(html, f"channel-{world.mine.channel.pk}")
    assert "100%" in row_of(html, f"channel-{second.pk}")
    assert "Nothing was due" in row_of(html, f"channel-{quiet.pk}")
    # And the stakeholder sums their channels: 3 of 5
    summary = row_of(html, f"compliance-stakeholder-{world.mine.stakeholder.pk}")
    assert "60%" in summary and ">5<" in summary and ">3<" in summary
    assert "Nothing was due" in row_of(html, f"compliance-stakeholder-{other_role.stakeholder_id}")
    # And the header gives the engagement's total over the chosen window
    header = html[html.index('id="plan-compliance"') :]
    assert "1 Mar 2026 to 31 Mar 2026" in header[:400] and "3 of 5 held on time" in header[:2000]


def test_plan_window_errors_keep_the_plan_and_what_was_typed(client, world):
    client.force_login(world.consultant)

    response = client.get(
        reverse("engagement_plan", args=[world.mine.engagement.pk]),
        {"start": "2026-04-01", "end": "2026-03-01"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "The last day comes before the first." in html and 'value="2026-04-01"' in html
    assert world.mine.channel.title in html


def test_pausing_a_channel_in_place_keeps_its_compliance_over_the_plans_window(client, world):
    history(world.mine.channel, ["on_time", "missed"])
    client.force_login(world.lead)
    plan = client.get(reverse("engagement_plan", args=[world.mine.engagement.pk]), MARCH).content.decode()
    pause_url = reverse("channel_pause", args=[world.mine.channel.pk])
    assert f'hx-post="{pause_url}?start=2026-03-01&amp;end=2026-03-31"' in plan

    # When the row is swapped by htmx with the window the plan carried
    response = client.post(f"{pause_url}?start=2026-03-01&end=2026-03-31", **HX)

    # Then the row still shows the channel's figure
    row = response.content.decode()
    assert "Paused" in row and "50%" in row
