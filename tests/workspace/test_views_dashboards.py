"""The firm's dashboards: the portfolio, who needs attention, the consultants, and their exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import User
from communications.health import engagement_health_refresh, engagements_recompute_health
from communications.models import CheckIn, CommunicationObligation, FollowUp
from communications.services import FollowUpSpec
from engagements.models import Engagement, Health
from stakeholders.models import Level, StakeholderRole
from tests import factories
from tests.compliance_history import row_of
from tests.factories import World
from workspace import dashboards
from workspace.exports import neutralised

pytestmark = pytest.mark.django_db


def _codes(html: str) -> list[str]:
    """The engagement codes of the portfolio's rows, in the page's order."""
    return re.findall(
        r'<tr id="portfolio-\d+">\s*<td data-label="Engagement"><a href="[^"]+">([^<]+)</a>', html
    )


def _make_red(engagement: Engagement) -> None:
    """Red for real: one follow-up overdue past the red age, the health recomputed as the sweep would."""
    now = timezone.now()
    lead = User.objects.filter(memberships__engagement=engagement, memberships__role="lead").get()
    follow_up = factories.make_follow_up(
        engagement=engagement, owner_user=lead, title="Sign the data processing agreement"
    )
    FollowUp.objects.filter(pk=follow_up.pk).update(due_at=now - dt.timedelta(days=130))
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=now)


# --- scope ---------------------------------------------------------------------------------------


def test_a_consultant_sees_only_the_engagements_of_his_teams(client, world):
    # Given the consultant, on EHR-A's team only, and the practice lead, who sees every engagement
    client.force_login(world.consultant)

    # When each opens the portfolio
    mine = client.get(reverse("portfolio")).content.decode()
    client.force_login(world.practice_lead)
    everything = client.get(reverse("portfolio")).content.decode()

    # Then the consultant's rows are his team's engagement alone, and the practice lead's all three
    assert _codes(mine) == ["EHR-A"]
    assert "DATA-A" not in mine and "ERP-B" not in mine
    assert sorted(_codes(everything)) == ["DATA-A", "EHR-A", "ERP-B"]


def test_a_consultants_export_holds_only_his_engagements(client, world):
    client.force_login(world.consultant)
    rows = list(csv.reader(io.StringIO(client.get(reverse("portfolio"), {"format": "csv"}).content.decode())))
    assert [row[0] for row in rows[1:]] == ["EHR-A"]


@pytest.mark.parametrize("name", ["portfolio", "attention", "consultants"])
@pytest.mark.parametrize("export", ["", "csv", "xlsx"])
def test_a_client_user_gets_404_on_every_dashboard_and_export(client, world, name, export):
    client.force_login(world.client_user)
    assert client.get(reverse(name), {"format": export} if export else {}).status_code == 404


def test_a_consultant_cannot_open_the_consultants_page(client, world):
    for user in (world.consultant, world.lead):
        client.force_login(user)
        assert client.get(reverse("consultants")).status_code == 404
        assert client.get(reverse("consultants"), {"format": "csv"}).status_code == 404


# --- home and navigation ---------------------------------------------------------------------------


def test_the_practice_leads_home_is_the_portfolio_and_my_week_has_its_own_address(client, world):
    client.force_login(world.practice_lead)

    home = client.get(reverse("home")).content.decode()
    week = client.get(reverse("my_week")).content.decode()

    assert "<h1>Portfolio</h1>" in home
    assert "<h1>My week" in week
    # And the navigation offers both, and the consultants
    for url in (reverse("portfolio"), reverse("my_week"), reverse("attention"), reverse("consultants")):
        assert f'href="{url}"' in home


def test_a_consultants_home_stays_my_week_with_the_portfolio_a_link_away(client, world):
    client.force_login(world.consultant)

    home = client.get(reverse("home")).content.decode()

    assert "<h1>My week" in home
    assert f'href="{reverse("portfolio")}"' in home and f'href="{reverse("attention")}"' in home
    assert f'href="{reverse("consultants")}"' not in home


def test_a_client_user_is_offered_none_of_the_dashboards(client, world):
    client.force_login(world.client_user)
    home = client.get(reverse("home")).content.decode()
    for name in ("portfolio", "attention", "consultants"):
        assert f'href="{reverse(name)}"' not in home


# --- the portfolio's rows ----------------------------------------------------------------------------


def test_a_row_shows_health_compliance_overdue_sponsors_milestone_changes_and_sentiment(client, world):
    # Given EHR-A with a known history: compliance 1 of 2 in the last 4 weeks and 3 of 5 in 12,
    # two overdue follow-ups (the oldest 40 days late), a sponsor last met 29 days ago on a weekly
    # cadence, a milestone 20 days past due, and sentiment falling from +2 to -1
    now = timezone.now()
    engagement, channel, sponsor = world.mine.engagement, world.mine.channel, world.mine.stakeholder
    for days_ago, outcome in (
        (3, "on_time"),
        (10, "missed"),
        (40, "on_time"),
        (50, "missed"),
        (60, "on_time"),
    ):
        factories.make_occurrence(channel=channel, due_at=now - dt.timedelta(days=days_ago), outcome=outcome)
    for days in (40, 5):
        follow_up = factories.make_follow_up(
            engagement=engagement, owner_user=world.lead, title=f"Late by {days}"
        )
        FollowUp.objects.filter(pk=follow_up.pk).update(due_at=now - dt.timedelta(days=days))
    CheckIn.objects.filter(engagement=engagement).update(occurred_at=now - dt.timedelta(days=45), sentiment=2)
    factories.make_check_in(
        engagement=engagement, attendees=[sponsor], occurred_at=now - dt.timedelta(days=29), sentiment=-1
    )
    berlin_today = now.astimezone(ZoneInfo(engagement.client.time_zone)).date()
    world.mine.milestone.__class__.objects.filter(pk=world.mine.milestone.pk).update(
        due_on=berlin_today - dt.timedelta(days=20)
    )
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=now)
    client.force_login(world.lead)

    # When the lead opens the portfolio
    row = row_of(client.get(reverse("portfolio")).content.decode(), f"portfolio-{engagement.pk}")

    # Then the row says each of these
    engagement.refresh_from_db()
    assert f"rag-{engagement.health}" in row and "(computed)" in row
    assert engagement.health_factors[0]["label"] in row
    assert "50% / 60%" in row
    assert '>2</a> <span class="muted">oldest almost 6 weeks' in row
    assert f"{sponsor.name}</a>: over 4 weeks ago" in row and "past cadence" in row
    assert "Go-live" in row and "slipping" in row
    assert reverse("engagement_changes", args=[engagement.pk]) in row
    assert "-1.0" in row and "falling" in row


def test_an_overridden_health_shows_the_override_and_no_computed_factor(client, world):
    now = timezone.now()
    _make_red(world.mine.engagement)
    Engagement.objects.filter(pk=world.mine.engagement.pk).update(
        health_override=Health.GREEN,
        health_override_reason="Agreement signed today",
        health_override_until=now + dt.timedelta(days=3),
    )
    client.force_login(world.lead)

    row = row_of(client.get(reverse("portfolio")).content.decode(), f"portfolio-{world.mine.engagement.pk}")
    assert "rag-green" in row and "(overridden)" in row and "health-factor" not in row
    # And the filter reads the health in force, not the computed one
    red = client.get(reverse("portfolio"), {"health": "red"}).content.decode()
    assert _codes(red) == []


def test_an_ended_engagement_reads_as_ended_without_health_flags_and_one_on_hold_says_so(client, world):
    # Given the lead's engagement computed red with a sponsor past the cadence, then closed; and one on hold
    engagement = world.mine.engagement
    CheckIn.objects.filter(engagement=engagement).update(occurred_at=timezone.now() - dt.timedelta(days=45))
    _make_red(engagement)
    Engagement.objects.filter(pk=engagement.pk).update(status=Engagement.Status.CLOSED)
    client.force_login(world.lead)

    # When the lead opens the portfolio
    closed = row_of(client.get(reverse("portfolio")).content.decode(), f"portfolio-{engagement.pk}")
    Engagement.objects.filter(pk=engagement.pk).update(status=Engagement.Status.ON_HOLD)
    held = row_of(client.get(reverse("portfolio")).content.decode(), f"portfolio-{engagement.pk}")

    # Then the closed one's health cell says it is closed, with no colour, reason or cadence flag
    assert '<td data-label="Health"><span class="muted">Closed</span></td>' in closed
    assert "rag-" not in closed and "health-factor" not in closed and "past cadence" not in closed
    # And the one on hold says so above its health, which still reads as computed
    assert '<span class="status-note">On hold</span><br><span class="rag rag-red">' in held
    assert "past cadence" in held
    # And each row names its client under the engagement
    assert engagement.client.name in closed


# --- filters, sorting, paging, remembering ---------------------------------------------------------


def test_filters_narrow_by_client_lead_status_and_health(client, world):
    # Given ERP-B red, DATA-A on hold
    _make_red(world.other.engagement)
    Engagement.objects.filter(pk=world.sibling.engagement.pk).update(status=Engagement.Status.ON_HOLD)
    client.force_login(world.practice_lead)

    def codes(**query: str) -> list[str]:
        return sorted(_codes(client.get(reverse("portfolio"), query).content.decode()))

    # Then each filter keeps exactly its engagements
    assert codes(health="red") == ["ERP-B"]
    assert codes(health="green") == ["DATA-A", "EHR-A"]
    assert codes(client=str(world.client_a.pk)) == ["DATA-A", "EHR-A"]
    assert codes(lead=str(world.outsider_consultant.pk)) == ["DATA-A", "ERP-B"]
    assert codes(lead=str(world.lead.pk)) == ["EHR-A"]
    assert codes(status="on_hold") == ["DATA-A"]
    assert codes(client=str(world.client_a.pk), status="active") == ["EHR-A"]


def test_a_filter_outside_the_users_scope_is_a_field_error_that_keeps_the_rest(client, world):
    # Given the consultant, who does not see client B
    client.force_login(world.consultant)

    # When a crafted link names client B
    response = client.get(reverse("portfolio"), {"client": str(world.client_b.pk), "status": "active"})

    # Then it is refused on the field, nothing is listed, and what was typed stays chosen
    html = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice" in html and "ERP-B" not in html
    assert '<option value="active" selected>' in html


def test_sorting_follows_the_chosen_column_and_its_direction(client, world):
    _make_red(world.other.engagement)
    client.force_login(world.practice_lead)

    def order(sort: str) -> list[str]:
        return _codes(client.get(reverse("portfolio"), {"sort": sort}).content.decode())

    assert order("engagement") == ["DATA-A", "EHR-A", "ERP-B"]
    assert order("-engagement") == ["ERP-B", "EHR-A", "DATA-A"]
    assert order("client") == ["ERP-B", "DATA-A", "EHR-A"]  # Contoso before Northwind, then by code
    assert order("health")[0] == "ERP-B"
    assert order("overdue")[-1] == "ERP-B" and order("-overdue")[0] == "ERP-B"
    response = client.get(reverse("portfolio"), {"sort": "budget"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_pages_hold_every_engagement_once_in_a_stable_order(client, world, monkeypatch):
    # Given seven engagements that tie on the sort column (all active), two to a page
    for n in range(4):
        factories.make_engagement(client=world.client_b, lead=world.lead, code=f"TIE-{n}")
    monkeypatch.setattr(dashboards, "PAGE_SIZE", 2)
    client.force_login(world.practice_lead)

    # When the practice lead walks the pages by their Next links
    seen: list[str] = []
    url = reverse("portfolio") + "?sort=status"
    for _ in range(10):
        html = client.get(url).content.decode()
        seen += _codes(html)
        if 'rel="next"' not in html:
            break
        url = re.findall(r'<a href="([^"]+)" rel="next">', html)[0].replace("&amp;", "&")

    # Then every engagement appears exactly once, in the same order as one long page would give
    monkeypatch.setattr(dashboards, "PAGE_SIZE", 50)
    whole = _codes(client.get(reverse("portfolio"), {"sort": "status"}).content.decode())
    assert seen == whole and len(whole) == 7
    # And the last page offers the previous one and no next
    assert 'rel="prev"' in html and 'rel="next"' not in html


def test_the_page_remembers_the_last_filters_across_logins_until_cleared(client, world):
    _make_red(world.other.engagement)
    client.force_login(world.practice_lead)

    # Given the practice lead filtered to red engagements, then logged out and back in
    client.get(reverse("portfolio"), {"health": "red", "sort": "-engagement"})
    client.logout()
    client.force_login(User.objects.get(pk=world.practice_lead.pk))

    # When they open the portfolio (or their home) without any filter
    html = client.get(reverse("portfolio")).content.decode()
    home = client.get(reverse("home")).content.decode()

    # Then it opens filtered as they left it, saying so, with a way to clear
    assert _codes(html) == ["ERP-B"] and _codes(home) == ["ERP-B"]
    assert '<option value="red" selected>' in html
    assert "Clear filters" in html
    assert User.objects.get(pk=world.practice_lead.pk).page_filters == {
        "portfolio": {"health": "red", "sort": "-engagement"}
    }

    # When they clear the filters
    cleared = client.get(reverse("portfolio"), {"clear": "1"}, follow=True).content.decode()

    # Then every engagement is back, and nothing is remembered
    assert sorted(_codes(cleared)) == ["DATA-A", "EHR-A", "ERP-B"]
    assert User.objects.get(pk=world.practice_lead.pk).page_filters == {}


def test_filters_are_remembered_per_user(client, world):
    client.force_login(world.practice_lead)
    client.get(reverse("portfolio"), {"status": "on_hold"})
    client.force_login(world.administrator)
    assert sorted(_codes(client.get(reverse("portfolio")).content.decode())) == ["DATA-A", "EHR-A", "ERP-B"]


# --- exports -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://evil.test")', '\'=HYPERLINK("http://evil.test")'),
        ("+49 30 1234", "'+49 30 1234"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("Weekly sync", "Weekly sync"),
        (-3, -3),
        (None, ""),
        (dt.date(2026, 3, 1), "2026-03-01"),
    ],
)
def test_formula_like_cells_are_neutralised_and_numbers_kept(value, written):
    assert neutralised(value) == written


def test_the_csv_export_holds_the_filtered_rows_with_formulas_neutralised(client, world):
    # Given an engagement whose name and sponsor were typed as formulas, and a red one filtered out
    Engagement.objects.filter(pk=world.mine.engagement.pk).update(name='=HYPERLINK("http://evil.test","x")')
    type(world.mine.stakeholder).objects.filter(pk=world.mine.stakeholder.pk).update(name="@Anna")
    _make_red(world.other.engagement)
    client.force_login(world.practice_lead)

    # When the practice lead exports the green engagements sorted by code
    response = client.get(reverse("portfolio"), {"health": "green", "sort": "engagement", "format": "csv"})

    # Then the file is a CSV attachment with the page's columns and rows, formulas made text
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, body = rows[0], rows[1:]
    assert header[:6] == ["Code", "Engagement", "Client", "Lead", "Status", "Health"]
    assert [row[0] for row in body] == ["DATA-A", "EHR-A"]
    ehr = dict(zip(header, body[1], strict=True))
    assert ehr["Engagement"] == '\'=HYPERLINK("http://evil.test","x")'
    assert ehr["Sponsors (last met)"].startswith("'@Anna (")
    assert ehr["Client"] == "Northwind Health" and ehr["Lead"] == str(world.lead)
    assert ehr["Health"] == "green" and ehr["Pending scope changes"] == "1"


def test_the_xlsx_export_is_a_workbook_with_the_same_rows(client, world):
    Engagement.objects.filter(pk=world.mine.engagement.pk).update(name="=1+1")
    client.force_login(world.lead)

    response = client.get(reverse("portfolio"), {"format": "xlsx"})

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:2] == ["Code", "Engagement"]
    assert rows[1][:2] == ["EHR-A", "'=1+1"]
    assert rows[1][9] == 0 and rows[1][15] == 1  # counts stay numbers


# --- who needs attention -------------------------------------------------------------------------------


def test_attention_lists_each_kind_of_item_with_the_action_and_its_link(client, world):
    # Given, on EHR-A: the silent sponsor of the world, an obligation past its deadline, and a
    # high-influence business leader resisting where support is needed, never met
    now = timezone.now()
    engagement = world.mine.engagement
    CommunicationObligation.objects.filter(pk=world.mine.obligation.pk).update(
        deadline=now - dt.timedelta(days=4)
    )
    leader = factories.make_role(
        engagement=engagement,
        stakeholder=factories.make_stakeholder(client=engagement.client, name="Dr. Ines Vogel"),
        influence=5,
        current_level=Level.RESISTANT,
        desired_level=Level.SUPPORTIVE,
    )
    client.force_login(world.consultant)

    # When the consultant opens Who needs attention
    html = client.get(reverse("attention")).content.decode()

    # Then each section names the person, why, and links to the action
    check_in = f"{reverse('check_in_create')}?engagement={engagement.pk}&amp;stakeholder="
    silent = html.split('id="attention-silent"')[1].split("</section>")[0]
    assert world.mine.stakeholder.name in silent and "Gone quiet" in silent
    assert f"{check_in}{world.mine.stakeholder.pk}" in silent
    gaps = html.split('id="attention-gaps"')[1].split("</section>")[0]
    assert "Dr. Ines Vogel" in gaps and "resistant, needed supportive" in gaps
    assert reverse("stakeholder_detail", args=[leader.stakeholder_id]) in gaps
    obligations = html.split('id="attention-obligations"')[1].split("</section>")[0]
    assert "Add the pharmacy module" in obligations and "due 4 days ago" in obligations
    assert reverse("engagement_obligations", args=[engagement.pk]) in obligations
    # And nothing of the engagements outside the consultant's team
    assert "ERP-B" not in html and "DATA-A" not in html


def _dropping(
    engagement: Engagement, name: str, *, met_days_ago: int, owes: int = 0, now: dt.datetime | None = None
) -> StakeholderRole:
    """Someone on the level wanted, met ``met_days_ago`` (green then, as computed at the meeting),
    owing ``owes`` follow-ups due an hour after the meeting: overdue, and so a drop, at the next sweep."""
    role = factories.make_role(
        engagement=engagement,
        stakeholder=factories.make_stakeholder(client=engagement.client, name=name),
        current_level=Level.SUPPORTIVE,
        desired_level=Level.SUPPORTIVE,
    )
    met_at = (now or timezone.now()) - dt.timedelta(days=met_days_ago)
    factories.make_check_in(
        engagement=engagement,
        attendees=[role.stakeholder],
        occurred_at=met_at,
        covers=[],
        as_of=met_at,
        follow_ups=[
            FollowUpSpec(
                title=f"Sign-off {n}",
                due_at=met_at + dt.timedelta(hours=1),
                owner_stakeholder=role.stakeholder,
            )
            for n in range(owes)
        ],
    )
    return role


def _section(html: str, key: str) -> str:
    return html.split(f'id="attention-{key}"')[1].split("</section>")[0]


def test_attention_lists_relationships_whose_health_dropped_worst_and_latest_first(client, world):
    # Given on EHR-A, written in time order and each green when first computed: one who owes a
    # follow-up since 40 days, so dropped too long ago to list; one met 22 days ago, whom time alone
    # turns amber today; two met 5 days ago who owe follow-ups (two: red; one: amber), swept 3 days ago
    engagement = world.mine.engagement
    now = timezone.now()
    _dropping(engagement, "Olga Old", met_days_ago=40, owes=1, now=now)
    quiet = _dropping(engagement, "Quentin Quiet", met_days_ago=22, now=now)
    _dropping(engagement, "Rita Red", met_days_ago=5, owes=2, now=now)
    _dropping(engagement, "Alma Amber", met_days_ago=5, owes=1, now=now)
    engagement_health_refresh(engagement_ids=[engagement.pk], as_of=now - dt.timedelta(days=3))
    # And one never assessed before, amber when first computed by the sweep now
    factories.make_role(
        engagement=engagement,
        stakeholder=factories.make_stakeholder(client=engagement.client, name="Nina New"),
    )
    engagements_recompute_health(as_of=now)
    client.force_login(world.consultant)

    # When the consultant opens Who needs attention
    section = _section(client.get(reverse("attention")).content.decode(), "relationships")

    # Then the drops of the window are listed, red first, then the latest amber, each from → to and when
    assert "Relationships whose health dropped" in section
    people = re.findall(r"(Rita Red|Alma Amber|Quentin Quiet|Olga Old|Nina New)</td>", section)
    assert people == ["Rita Red", "Quentin Quiet", "Alma Amber"]
    rita = section.split("Rita Red</td>")[1].split("</tr>")[0]
    assert 'rag-green">Green</span> → <span class="rag rag-red">Red</span>' in rita
    # And the reasons are those that hold now, said apart from the drop they may have moved on from
    assert re.search(r"3 days ago</time>\. Now: 2 overdue follow-ups", rita)
    # And the action fits the reason: chase what Rita owes, get back in touch with Quentin
    owed = reverse("engagement_follow_ups", args=[engagement.pk]) + "#follow-ups-overdue"
    assert f'href="{owed}">Chase the follow-ups Rita Red owes</a>' in rita
    quentin = section.split("Quentin Quiet</td>")[1].split("</tr>")[0]
    assert 'rag-green">Green</span> → <span class="rag rag-amber">Amber</span>' in quentin
    assert re.search(r"today</time>\. Now: No contact for over 3 weeks", quentin)
    check_in = (
        f"{reverse('check_in_create')}?engagement={engagement.pk}&amp;stakeholder={quiet.stakeholder_id}"
    )
    assert f'href="{check_in}">Log a check-in with Quentin Quiet</a>' in quentin
    # And a user outside EHR-A's team sees none of them
    client.force_login(world.outsider_consultant)
    assert "Rita Red" not in client.get(reverse("attention")).content.decode()


def test_the_attention_export_says_from_what_and_when_a_relationship_dropped(client, world):
    engagement = world.mine.engagement
    _dropping(engagement, "Rita Red", met_days_ago=5, owes=2)
    engagements_recompute_health(as_of=timezone.now())
    client.force_login(world.lead)

    rows = list(csv.reader(io.StringIO(client.get(reverse("attention"), {"format": "csv"}).content.decode())))

    (rita,) = [row for row in rows if row[2] == "Rita Red"]
    assert rita[0] == "Relationships whose health dropped"
    assert rita[3] == "Green to red today. Now: 2 overdue follow-ups" and rita[5] == "red"


def test_attention_caps_each_section_and_pages_the_rest(client, world, monkeypatch):
    # Given twelve resistant high-influence people on EHR-A
    engagement = world.mine.engagement
    for n in range(12):
        factories.make_role(
            engagement=engagement,
            stakeholder=factories.make_stakeholder(client=engagement.client, name=f"Board member {n:02d}"),
            influence=5,
            current_level=StakeholderRole._meta.get_field("current_level").default,
            desired_level=Level.LEADING,
        )
    monkeypatch.setattr(dashboards, "PAGE_SIZE", 5)
    client.force_login(world.lead)

    # When the lead opens the page, then follows the "more" link and pages on
    html = client.get(reverse("attention")).content.decode()
    gaps = html.split('id="attention-gaps"')[1].split("</section>")[0]
    first = client.get(reverse("attention"), {"section": "gaps"}).content.decode()
    third = client.get(reverse("attention"), {"section": "gaps", "page": "3"}).content.decode()

    # Then the page shows ten and says two more, the section pages by five
    assert gaps.count("<tr>") == 1 + dashboards.ATTENTION_CAP
    assert f'href="{reverse("attention")}?section=gaps">2 more</a>' in gaps
    assert first.count("Plan how to bring Board member") == 5 and 'id="attention-silent"' not in first
    assert (
        third.count("Plan how to bring Board member") == 2
        and 'rel="next"' not in third
        and 'rel="prev"' in third
    )


def test_the_attention_export_holds_every_item_with_absolute_links(client, world):
    client.force_login(world.lead)
    rows = list(csv.reader(io.StringIO(client.get(reverse("attention"), {"format": "csv"}).content.decode())))
    assert rows[0] == ["Section", "Engagement", "Person", "Why", "Action", "Severity", "Link"]
    silent = [row for row in rows[1:] if row[0] == dashboards.ATTENTION_SECTIONS["silent"]]
    assert [row[2] for row in silent] == [world.mine.stakeholder.name]
    assert silent[0][6].startswith("http://testserver/check-ins/new/?engagement=")


# --- consultants -----------------------------------------------------------------------------------------


def test_consultants_lists_engagements_compliance_and_overdue_owed(client, world):
    # Given the outsider owns the channels of DATA-A and ERP-B (1 of 2 held on time lately) and owes
    # two overdue follow-ups
    now = timezone.now()
    factories.make_occurrence(
        channel=world.other.channel, due_at=now - dt.timedelta(days=9), outcome="on_time"
    )
    factories.make_occurrence(
        channel=world.sibling.channel, due_at=now - dt.timedelta(days=8), outcome="missed"
    )
    for _ in range(2):
        follow_up = factories.make_follow_up(
            engagement=world.other.engagement, owner_user=world.outsider_consultant
        )
        FollowUp.objects.filter(pk=follow_up.pk).update(due_at=now - dt.timedelta(days=1))
    client.force_login(world.practice_lead)

    # When the practice lead opens the consultants page
    html = client.get(reverse("consultants")).content.decode()

    # Then each team member has a row with those figures
    outsider = row_of(html, f"consultant-{world.outsider_consultant.pk}")
    assert '<td data-label="Running engagements">2</td>' in outsider
    assert "50%" in outsider and "(1 of 2)" in outsider
    assert '<span class="badge badge-overdue">2</span>' in outsider
    assert f"consultant-{world.consultant.pk}" in html
    # And each is named by the role they play: those who lead an engagement as its lead
    assert '<span class="muted">Engagement lead</span>' in outsider
    assert '<span class="muted">Engagement lead</span>' in row_of(html, f"consultant-{world.lead.pk}")
    assert '<span class="muted">Consultant</span>' in row_of(html, f"consultant-{world.consultant.pk}")
    # And the export holds the same
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("consultants"), {"format": "csv", "sort": "-overdue"}).content.decode()
            )
        )
    )
    assert rows[1][1] == world.outsider_consultant.username and rows[1][2:] == ["2", "2", "1", "50", "2"]


# --- a fixed number of queries, whatever the portfolio holds ------------------------------------------


def _grow(world: World, extra: int, *, drops: bool) -> None:
    """``extra`` more engagements, each with a sponsor, a plan, a check-in, follow-ups and a silence flag;
    with ``drops``, each with a relationship whose health dropped (one on EHR-A too), as swept now."""
    if drops:
        _dropping(world.mine.engagement, "Rita Red", met_days_ago=5, owes=1)
    for n in range(extra):
        engagement = factories.make_engagement(
            client=world.client_b, lead=world.outsider_consultant, code=f"MORE-{n}"
        )
        factories.make_scope(engagement=engagement, owner=world.outsider_consultant)
        factories.make_occurrence(
            channel=engagement.channels.get(), due_at=timezone.now() - dt.timedelta(days=3), outcome="missed"
        )
        if drops:
            _dropping(engagement, f"Dropped {n}", met_days_ago=5, owes=1)
    if drops:
        engagements_recompute_health(as_of=timezone.now())


# Each page: the session and the user, then its own queries; a full page also the notification bell
# and (the portfolio) the filter's clients and leads.
@pytest.mark.parametrize("extra", [0, 9], ids=["3 engagements", "12 engagements"])
@pytest.mark.parametrize(
    ("name", "query", "budget"),
    [
        ("portfolio", {}, 7),
        ("portfolio", {"health": "green", "client": "client_b", "lead": "outsider"}, 9),
        ("portfolio", {"format": "csv"}, 4),
        ("attention", {}, 9),
        ("attention", {"format": "csv"}, 6),
        ("consultants", {}, 4),
        ("consultants", {"format": "csv"}, 3),
    ],
)
def test_dashboards_run_a_fixed_number_of_queries(
    client, world, django_assert_num_queries, extra, name, query, budget
):
    _grow(world, extra, drops=name == "attention")
    ids = {"client_b": str(world.client_b.pk), "outsider": str(world.outsider_consultant.pk)}
    query = {key: ids.get(value, value) for key, value in query.items()}
    client.force_login(world.practice_lead)
    client.get(reverse(name), query)  # the filters are remembered once; the budget is for the next visit

    with django_assert_num_queries(budget):
        response = client.get(reverse(name), query)
    assert response.status_code == 200
    if name == "attention":
        assert "Rita Red" in response.content.decode()


def test_remembered_filters_gone_out_of_scope_are_refused_with_the_way_to_clear_them(client, world):
    # Given the consultant remembered a client he no longer sees
    User.objects.filter(pk=world.consultant.pk).update(
        page_filters={"portfolio": {"client": str(world.client_b.pk)}}
    )
    client.force_login(world.consultant)

    # When he opens the portfolio, then the filter is refused on its field and he may clear it
    response = client.get(reverse("portfolio"))
    html = response.content.decode()
    assert response.status_code == 400 and "Select a valid choice" in html
    assert f'href="{reverse("portfolio")}?clear=1">Clear filters</a>' in html
    assert _codes(client.get(reverse("portfolio"), {"clear": "1"}, follow=True).content.decode()) == ["EHR-A"]
