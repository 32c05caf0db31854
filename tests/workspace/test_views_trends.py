"""Trends and cadence heat maps: scoped figures, firm-only, accessible charts and safe CSV exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communications import services as communication_services
from communications.models import FollowUp, Occurrence, Sentiment, WeeklyRollup
from communications.rollups import weekly_rollups_refresh
from engagements.models import Client
from tests import factories
from workspace.exports import neutralised

pytestmark = pytest.mark.django_db

ROUTES = ("trends", "trends_export", "cadence_heat_map", "cadence_heat_map_export")


@pytest.fixture(autouse=True)
def _midweek(time_machine):
    """A Wednesday noon, before the world is built: a week ago and this week are the same in every zone."""
    time_machine.move_to(dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC))


@pytest.fixture
def history(world):
    """A meeting held on time a week ago on each engagement, and one missed two weeks ago on EHR-A."""
    now = timezone.now()
    for scope in (world.mine, world.sibling, world.other):
        factories.make_occurrence(channel=scope.channel, due_at=now - dt.timedelta(weeks=1))
    factories.make_occurrence(
        channel=world.mine.channel, due_at=now - dt.timedelta(weeks=2), outcome="missed"
    )
    weekly_rollups_refresh(
        engagement_ids=[s.engagement.pk for s in (world.mine, world.sibling, world.other)],
        moments=[now - dt.timedelta(weeks=1), now - dt.timedelta(weeks=2)],
        as_of=now,
    )
    return world


def _rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _meetings(response) -> int:
    return sum(week.meetings for week in response.context["trend"])


def test_each_user_sees_the_meetings_of_the_engagements_in_their_scope_only(client, world):
    # Given one check-in logged on each of the world's three engagements
    # When the practice lead and the consultant (a member of EHR-A only) open the trends
    client.force_login(world.practice_lead)
    everyone = _meetings(client.get(reverse("trends")))
    client.force_login(world.consultant)
    mine = client.get(reverse("trends"))

    # Then the practice lead counts all three and the consultant only his own
    assert (everyone, _meetings(mine)) == (3, 1)
    assert mine.context["subject"].label == "All engagements you see"


def test_a_client_narrows_the_trend_to_its_engagements(client, world):
    client.force_login(world.practice_lead)

    response = client.get(reverse("trends"), {"client": world.client_a.pk})

    # Client A holds EHR-A and DATA-A
    assert response.status_code == 200
    assert (_meetings(response), response.context["subject"].label) == (2, "Northwind Health")


def _took_part(world, actor, *, team, sentiment, hours_ago):
    return factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        actor=actor,
        team_attendees=team,
        sentiment=sentiment,
        occurred_at=timezone.now() - dt.timedelta(hours=hours_ago),
        covers=[],
    )


def _figures(response):
    """Meetings, mean sentiment of this week, compliance's due and held on time, and overdue now."""
    this_week = response.context["trend"][-1]
    return (
        sum(week.meetings for week in response.context["trend"]),
        this_week.sentiment_average,
        sum(week.occurrences_due for week in response.context["trend"]),
        sum(week.occurrences_held_on_time for week in response.context["trend"]),
        this_week.overdue_follow_ups,
    )


def test_two_consultants_on_one_engagement_each_get_their_own_figures(client, world):
    # Given on EHR-A: a meeting both attended (+2); one the lead logged alone (-2); one the lead logged
    # and attended (counted once, 0); one the consultant logged without naming himself (+1)
    lead, consultant = world.lead, world.consultant
    _took_part(world, lead, team=[lead, consultant], sentiment=2, hours_ago=1)
    _took_part(world, lead, team=[], sentiment=-2, hours_ago=2)
    _took_part(world, lead, team=[lead], sentiment=0, hours_ago=3)
    _took_part(world, consultant, team=[], sentiment=1, hours_ago=4)
    # And the consultant owes a follow-up overdue; the lead owns EHR-A's channel, held on time last week
    follow_up = factories.make_follow_up(engagement=world.mine.engagement, owner_user=consultant)
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=timezone.now() - dt.timedelta(hours=5))
    factories.make_occurrence(channel=world.mine.channel, due_at=timezone.now() - dt.timedelta(weeks=1))
    weekly_rollups_refresh(
        engagement_ids=[world.mine.engagement.pk],
        moments=[timezone.now(), timezone.now() - dt.timedelta(weeks=1)],
        as_of=timezone.now(),
    )
    client.force_login(world.practice_lead)

    # When the practice lead opens each one's trend
    mine = client.get(reverse("trends"), {"consultant": lead.pk})
    his = client.get(reverse("trends"), {"consultant": consultant.pk})
    engagement = client.get(reverse("trends"), {"engagement": world.mine.engagement.pk})

    # Then each counts only what they took part in, own and owe; the engagement counts everything
    assert _figures(mine) == (3, 0.0, 1, 1, 0)
    assert _figures(his) == (2, 1.5, 0, 0, 1)
    assert _figures(engagement)[0] == 5  # the four, and the world's own check-in
    assert "own figures, not their engagements' totals" in his.content.decode()
    # And his heat map shows no planned check-ins of his own, the lead's the one held
    heat = client.get(reverse("cadence_heat_map"), {"consultant": consultant.pk})
    assert sum(row.totals.planned for row in heat.context["rows"]) == 0
    heat = client.get(reverse("cadence_heat_map"), {"consultant": lead.pk})
    assert sum(row.totals.held for row in heat.context["rows"]) == 1


def test_a_consultant_sees_his_own_figures_but_not_a_colleagues(client, world):
    client.force_login(world.consultant)

    assert client.get(reverse("trends"), {"consultant": world.consultant.pk}).status_code == 200
    for route in ROUTES:
        assert client.get(reverse(route), {"consultant": world.lead.pk}).status_code == 404


def test_a_new_owner_of_a_channel_takes_its_history_in_the_owners_figures(client, world):
    # Given EHR-A's channel, owned by the lead, held on time last week
    factories.make_occurrence(channel=world.mine.channel, due_at=timezone.now() - dt.timedelta(weeks=1))
    weekly_rollups_refresh(
        engagement_ids=[world.mine.engagement.pk],
        moments=[timezone.now() - dt.timedelta(weeks=1)],
        as_of=timezone.now(),
    )
    channel = world.mine.channel

    # When the lead hands it to the consultant
    communication_services.channel_update(
        actor=world.lead,
        channel=channel,
        seen_updated_at=None,
        stakeholder=channel.stakeholder,
        title=channel.title,
        recurrence_rule=channel.recurrence,
        starts_on=channel.starts_on,
        local_time=channel.local_time,
        owner=world.consultant,
    )

    # Then the consultant's figures hold it, and the lead's no longer
    client.force_login(world.practice_lead)
    assert _figures(client.get(reverse("trends"), {"consultant": world.consultant.pk}))[2:4] == (1, 1)
    assert _figures(client.get(reverse("trends"), {"consultant": world.lead.pk}))[2:4] == (0, 0)


@pytest.mark.parametrize(
    "query",
    [
        lambda w: {"engagement": w.other.engagement.pk},
        lambda w: {"client": w.client_b.pk},
        lambda w: {"consultant": w.outsider_consultant.pk},
        lambda w: {"engagement": 10**6},
    ],
    ids=["engagement", "client", "consultant", "missing"],
)
@pytest.mark.parametrize("route", ROUTES)
def test_a_subject_outside_scope_answers_404(client, world, route, query):
    # Given the consultant, who is on EHR-A only
    client.force_login(world.consultant)

    # When he names another engagement, client or consultant, then nothing says it exists
    assert client.get(reverse(route), query(world)).status_code == 404


@pytest.mark.parametrize("route", ROUTES)
def test_client_users_get_404_even_for_their_own_client(client, world, route):
    client.force_login(world.client_user)

    assert client.get(reverse(route)).status_code == 404
    assert client.get(reverse(route), {"client": world.client_a.pk}).status_code == 404


def test_two_subjects_at_once_are_refused_with_a_message_and_the_portfolio_shown(client, world):
    client.force_login(world.practice_lead)

    response = client.get(reverse("trends"), {"client": world.client_a.pk, "consultant": world.lead.pk})

    assert response.status_code == 200
    assert "Choose one of a client, a consultant or an engagement." in response.content.decode()
    # What the user chose stays chosen
    assert response.context["form"]["client"].value() == str(world.client_a.pk)


def test_the_trend_page_draws_four_accessible_charts_each_with_its_table(client, world):
    client.force_login(world.practice_lead)

    html = client.get(reverse("trends")).content.decode()

    main = html[html.index("<main") :]
    for slug in ("meetings", "compliance", "overdue", "sentiment"):
        assert f'aria-labelledby="{slug}-title {slug}-desc"' in main
        assert f'<title id="{slug}-title">' in main and f'<desc id="{slug}-desc">' in main
    assert main.count('role="img"') == 4
    assert main.count('<details class="chart-data">') == 4
    assert "Week starting (Monday)" in main
    # Strict CSP: no inline style and no script in the page body
    assert "style=" not in html and "<script" not in main


def test_the_trend_export_has_26_weeks_with_the_figures_of_the_page(client, world):
    client.force_login(world.consultant)

    response = client.get(reverse("trends_export"))

    rows = _rows(response)
    assert response["Content-Type"].startswith("text/csv")
    assert len(rows) == 26
    assert sum(int(row["meetings"]) for row in rows) == 1
    assert list(rows[0])[:3] == ["subject", "week_start", "meetings"]


def test_export_cells_that_a_spreadsheet_would_run_are_neutralised(client, world):
    # Given a client whose name reads as a formula
    Client.objects.filter(pk=world.client_a.pk).update(name='=HYPERLINK("http://x.test")')
    client.force_login(world.practice_lead)

    rows = _rows(client.get(reverse("trends_export"), {"client": world.client_a.pk}))

    assert {row["subject"] for row in rows} == {'\'=HYPERLINK("http://x.test")'}
    assert [neutralised(v) for v in ("+1", "-2", "@A1", "plain", -0.5)] == [
        "'+1",
        "'-2",
        "'@A1",
        "plain",
        -0.5,
    ]


def test_the_engagement_heat_map_shows_each_stakeholder_held_and_missed_weeks(client, history):
    # Given EHR-A's sponsor, met last week and missed the week before
    world = history
    client.force_login(world.lead)

    response = client.get(reverse("cadence_heat_map"), {"engagement": world.mine.engagement.pk})

    # Then one row, for the sponsor, marks a week missed and a week held, in symbols and words
    rows = response.context["rows"]
    assert [row.label for row in rows] == [world.mine.stakeholder.name]
    assert [cell.state for cell in rows[0].cells][-3:-1] == ["missed", "held"]
    html = response.content.decode()
    assert "1 of 1 held" in html and "0 of 1 held, 1 missed" in html
    assert "✗" in html and "✓" in html


def test_the_client_heat_map_has_a_row_per_engagement_from_the_rollups(client, history):
    world = history
    client.force_login(world.practice_lead)

    response = client.get(reverse("cadence_heat_map"), {"client": world.client_a.pk, "weeks": 26})

    assert [row.label for row in response.context["rows"]] == [
        "DATA-A · Data warehouse",
        "EHR-A · EHR rollout",
    ]
    assert len(response.context["weeks"]) == 26
    assert sum(row.totals.held for row in response.context["rows"]) == 2


def test_the_heat_map_export_lists_every_row_and_week(client, history):
    world = history
    client.force_login(world.consultant)

    rows = _rows(client.get(reverse("cadence_heat_map_export")))

    # EHR-A only, over 12 weeks
    assert len(rows) == 12
    assert {row["engagement"] for row in rows} == {"EHR-A · EHR rollout"}
    assert (sum(int(row["held"]) for row in rows), sum(int(row["missed"]) for row in rows)) == (1, 1)
    assert {row["state"] for row in rows} == {"none", "held", "missed"}


def _grow(world, count: int) -> None:
    """``count`` more engagements for the practice lead, each with a check-in and its roll-ups."""
    for _ in range(count):
        engagement = factories.make_engagement(client=world.client_b, lead=world.outsider_consultant)
        role = factories.make_role(engagement=engagement)
        factories.make_check_in(
            engagement=engagement,
            attendees=[role.stakeholder],
            actor=world.outsider_consultant,
            team_attendees=[world.outsider_consultant],
            sentiment=Sentiment.POSITIVE,
            covers=[],
        )


def _queries(client, url, query=None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, query or {}).status_code == 200
    return len(captured)


@pytest.mark.parametrize("route", ROUTES)
def test_each_page_and_export_runs_the_same_queries_whatever_the_portfolio_holds(client, world, route):
    client.force_login(world.practice_lead)
    url = reverse(route)
    small = _queries(client, url)

    _grow(world, 8)

    assert _queries(client, url) == small
    assert _queries(client, url, {"client": world.client_b.pk}) == small + 1


@pytest.mark.parametrize("route", ROUTES)
def test_a_consultants_figures_cost_the_same_queries_whatever_they_took_part_in(client, world, route):
    client.force_login(world.practice_lead)
    url, query = reverse(route), {"consultant": world.outsider_consultant.pk}
    small = _queries(client, url, query)

    _grow(world, 8)

    assert _queries(client, url, query) == small


def test_the_stakeholder_heat_map_runs_the_same_queries_whatever_the_plan_holds(client, world):
    client.force_login(world.lead)
    url = reverse("cadence_heat_map")
    query = {"engagement": world.mine.engagement.pk}
    small = _queries(client, url, query)

    for _ in range(6):
        role = factories.make_role(engagement=world.mine.engagement)
        channel = factories.make_channel(role=role, owner=world.lead)
        factories.make_occurrence(channel=channel, due_at=timezone.now() - dt.timedelta(days=3))

    assert _queries(client, url, query) == small


def test_the_sweep_fills_what_the_trend_page_reads(client, world):
    # Given roll-ups lost
    WeeklyRollup.objects.all().delete()
    client.force_login(world.practice_lead)
    assert _meetings(client.get(reverse("trends"))) == 0

    # When the periodic refresh runs for this week
    ids = list(world.mine.engagement.__class__.objects.values_list("pk", flat=True))
    weekly_rollups_refresh(
        engagement_ids=ids,
        moments=[timezone.now(), timezone.now() - dt.timedelta(hours=1)],
        as_of=timezone.now(),
    )

    # Then the page counts the meetings again
    assert _meetings(client.get(reverse("trends"))) == 3
    assert Occurrence.objects.count() >= 3


def test_the_consultant_choice_offers_others_only_to_those_who_see_every_engagement(client, world):
    # Given the consultant, on EHR-A with its lead: he may pick only himself
    client.force_login(world.consultant)
    choices = client.get(reverse("trends")).context["form"].fields["consultant"].widget.choices
    assert {label for value, label in choices if value} == {str(world.consultant)}

    # And the practice lead may pick everyone on a team
    client.force_login(world.practice_lead)
    choices = client.get(reverse("trends")).context["form"].fields["consultant"].widget.choices
    assert {label for value, label in choices if value} >= {
        str(world.lead),
        str(world.consultant),
        str(world.outsider_consultant),
    }


def test_the_engagement_tabs_offer_trends_to_the_firm_only(client, world):
    url = reverse("engagement_detail", args=[world.mine.engagement.pk])
    trends_link = f'href="{reverse("trends")}?engagement={world.mine.engagement.pk}"'

    client.force_login(world.lead)
    assert trends_link in client.get(url).content.decode()
    client.force_login(world.client_user)
    assert trends_link not in client.get(url).content.decode()


def test_a_bad_number_of_weeks_is_pointed_out_and_the_engagement_kept(client, world):
    client.force_login(world.lead)

    response = client.get(
        reverse("cadence_heat_map"), {"engagement": world.mine.engagement.pk, "weeks": "99"}
    )

    # Then the heat map stays on EHR-A, at the default 12 weeks, and says what was wrong
    assert response.context["subject"].engagement == world.mine.engagement
    assert len(response.context["weeks"]) == 12
    assert response.context["form"].errors["weeks"]
