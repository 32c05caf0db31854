"""The RAID tab, its CSV, an item's pages, the overview's top risks and filing decisions from a check-in."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communications import raid
from communications.models import RaidItem
from tests import factories

pytestmark = pytest.mark.django_db


def _tab(engagement, **query):
    return reverse("engagement_raid", args=[engagement.pk]), query


def _get_tab(client, engagement, **query):
    url, params = _tab(engagement, **query)
    return client.get(url, params)


def _csv(client, engagement, **query):
    response = client.get(reverse("engagement_raid_csv", args=[engagement.pk]), query)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


# The tab


def test_the_tab_lists_the_log_with_its_risk_matrix(client, world):
    # Given a second risk, rated 5 × 5, and an issue
    factories.make_raid_item(
        engagement=world.mine.engagement, title="Data migration overruns", likelihood=5, impact=5
    )
    factories.make_raid_item(engagement=world.mine.engagement, kind="issue", title="Lab feed rejected")
    client.force_login(world.consultant)

    response = _get_tab(client, world.mine.engagement)

    # Then every item is listed, and the matrix counts each open risk in its cell, as text and in a table
    body = response.content.decode()
    assert response.status_code == 200
    for title in ("Interface vendor may slip", "Data migration overruns", "Lab feed rejected"):
        assert title in body
    assert 'role="img"' in body and '<title id="risk-matrix-title">' in body
    assert "Likelihood 3, impact 4: 1." in body and "Likelihood 5, impact 5: 1." in body
    assert "<caption>Open risks by impact (rows) and likelihood (columns)</caption>" in body
    assert "style=" not in body
    assert 'aria-current="page">RAID log<' in body


def test_filters_by_kind_status_owner_and_stakeholder(client, world):
    engagement = world.mine.engagement
    factories.make_raid_item(
        engagement=engagement, kind="decision", title="Freeze scope", owner=world.consultant
    )
    closed = factories.make_raid_item(engagement=engagement, kind="issue", title="Printer drivers")
    raid.raid_item_transition(actor=world.lead, item=closed, to_status="closed")
    client.force_login(world.lead)

    def titles(**query):
        body = _get_tab(client, engagement, **query).content.decode()
        return {t for t in ("Interface vendor", "Freeze scope", "Printer drivers") if t in body}

    assert titles(kind="decision") == {"Freeze scope"}
    assert titles(status="closed") == {"Printer drivers"}
    assert titles(owner=str(world.consultant.pk)) == {"Freeze scope"}
    assert titles(stakeholder=str(world.mine.stakeholder.pk)) == {"Interface vendor"}
    # A filter value that is no choice is no filter
    assert titles(kind="rumour") == {"Interface vendor", "Freeze scope", "Printer drivers"}


def test_open_items_come_first_with_the_highest_risk_at_the_top(client, world):
    # Given, besides the world's open risk scored 12, a risk scored 25 recorded before an issue and
    # a risk scored 4, and a closed risk scored 20 recorded last
    engagement = world.mine.engagement
    severe = factories.make_raid_item(engagement=engagement, title="Go-live slips", likelihood=5, impact=5)
    issue = factories.make_raid_item(engagement=engagement, kind="issue", title="Lab feed rejected")
    mild = factories.make_raid_item(engagement=engagement, title="Parking short", likelihood=2, impact=2)
    closed = factories.make_raid_item(engagement=engagement, title="Server room", likelihood=4, impact=5)
    raid.raid_item_transition(actor=world.lead, item=closed, to_status="closed")
    client.force_login(world.lead)

    # When the lead opens the tab, and downloads it
    body = _get_tab(client, engagement).content.decode()
    header, *rows = _csv(client, engagement)

    # Then the open risks come first, highest score first, then the other open items newest
    # first, and the closed ones last; the CSV in the same order
    expected = [severe.pk, world.mine.raid_item.pk, mild.pk, issue.pk, closed.pk]
    assert [int(pk) for pk in re.findall(r'<tr id="raid-(\d+)"', body)] == expected
    assert [int(row[header.index("id")]) for row in rows] == expected


def test_the_log_pages_without_repeating_or_skipping(client, world):
    for n in range(30):
        factories.make_raid_item(
            engagement=world.mine.engagement, kind="issue", title=f"Issue number {n:02d}"
        )
    client.force_login(world.lead)

    first = _get_tab(client, world.mine.engagement).content.decode()
    after = re.search(r'href="\?after=([\d.]+)">Next page', first)
    assert after is not None
    second = _get_tab(client, world.mine.engagement, after=after.group(1)).content.decode()

    shown = re.findall(r"Issue number (\d\d)|(Interface vendor)", first + second)
    assert len(shown) == 31
    assert "Next page" not in second


@pytest.mark.parametrize("extra", [2, 20])
def test_the_tab_and_the_csv_read_a_fixed_number_of_queries(client, world, django_assert_num_queries, extra):
    for n in range(extra):
        factories.make_raid_item(
            engagement=world.mine.engagement,
            title=f"Risk {n}",
            owner=world.consultant,
            stakeholders=[world.mine.stakeholder],
            raised_by=world.mine.stakeholder,
        )
    client.force_login(world.consultant)
    _get_tab(client, world.mine.engagement)

    # The same count whatever the number of items: the page's stakeholders come in one prefetch,
    # the matrix in one grouped query, the CSV's rows and their stakeholders in two.
    with django_assert_num_queries(TAB_QUERIES):
        assert _get_tab(client, world.mine.engagement).status_code == 200
    with django_assert_num_queries(CSV_QUERIES):
        _csv(client, world.mine.engagement)


TAB_QUERIES = 12
CSV_QUERIES = 8


# Thursday 3 December 2026, 20:00 UTC: already Friday 4 December in Auckland.
EVENING_UTC = dt.datetime(2026, 12, 3, 20, 0, tzinfo=dt.UTC)


def _row(body: str, item: RaidItem) -> str:
    return body.split(f'id="raid-{item.pk}"')[1].split("</tr>")[0]


def test_the_tab_says_what_each_date_is_and_marks_what_is_overdue_on_the_readers_day(
    client, world, time_machine
):
    # Given a risk due for review on 3 December, an issue due on 1 December, an assumption to
    # validate by 10 December, a closed risk whose review day has passed, and a decision
    engagement = world.mine.engagement
    risk = factories.make_raid_item(
        engagement=engagement, title="Wards short-staffed", review_on=dt.date(2026, 12, 3)
    )
    issue = factories.make_raid_item(
        engagement=engagement, kind="issue", title="Lab feed", due_on=dt.date(2026, 12, 1)
    )
    assumption = factories.make_raid_item(
        engagement=engagement, kind="assumption", title="Vendor on site", validate_by=dt.date(2026, 12, 10)
    )
    closed = factories.make_raid_item(engagement=engagement, title="Parking", review_on=dt.date(2026, 12, 1))
    raid.raid_item_transition(actor=world.lead, item=closed, to_status="closed")
    decision = factories.make_raid_item(
        engagement=engagement, kind="decision", title="Freeze scope", decided_on=dt.date(2026, 12, 2)
    )
    undecided_by = factories.make_raid_item(
        engagement=engagement, kind="decision", title="Pharmacy later", decided_by=""
    )
    time_machine.move_to(EVENING_UTC, tick=False)

    # When a consultant in Auckland (already 4 December) and the lead in UTC (still 3 December) read the tab
    world.consultant.time_zone = "Pacific/Auckland"
    world.consultant.save()
    client.force_login(world.consultant)
    auckland = _get_tab(client, engagement).content.decode()
    client.force_login(world.lead)
    utc = _get_tab(client, engagement).content.decode()

    # Then the column says it holds the date's meaning, and each row says what its date is
    assert '<th scope="col">When</th>' in auckland
    assert '<th scope="col">Owner or decider</th>' in auckland
    assert "Validate by <time" in _row(auckland, assumption)
    assert "Decided <time" in _row(auckland, decision) and "2 Dec 2026" in _row(auckland, decision)
    assert "Review by <time" in _row(auckland, closed)
    # And in Auckland the risk's review is overdue, in words and colour, as is the issue
    assert 'class="overdue">Review overdue since <time datetime="2026-12-03">3 Dec 2026</time>' in _row(
        auckland, risk
    )
    assert 'class="overdue">Overdue since <time datetime="2026-12-01">' in _row(auckland, issue)
    assert "overdue" not in _row(auckland, closed) and "overdue" not in _row(auckland, assumption)
    # While in UTC the risk's review day is today, not past
    assert "Review by <time" in _row(utc, risk) and "overdue" not in _row(utc, risk)
    assert "Overdue since" in _row(utc, issue)
    # And a decision names who decided, or nobody; an item without an owner says the lead answers
    assert "decided by</span> Steering committee" in _row(auckland, decision)
    assert "lead" not in _row(auckland, decision)
    assert '<span class="muted">—</span>' in _row(auckland, undecided_by)
    assert "Engagement lead (none named)" in _row(auckland, risk)


def test_an_item_nobody_owns_reads_as_the_engagement_leads_wherever_it_is_shown(client, world):
    # Given the engagement's top risk, which names no owner
    engagement = world.mine.engagement
    risk = factories.make_raid_item(engagement=engagement, title="Go-live slips", likelihood=5, impact=5)
    client.force_login(world.lead)

    # When the lead reads the tab, the item's page, the overview's top risks and the form to add one
    tab = _get_tab(client, engagement).content.decode()
    detail = client.get(reverse("raid_item_detail", args=[risk.pk])).content.decode()
    overview = client.get(reverse("engagement_detail", args=[engagement.pk])).content.decode()
    form = client.get(reverse("raid_item_create", args=[engagement.pk])).content.decode()

    # Then each says the engagement lead answers, in words a consultant uses, and the form offers them
    assert '<span class="muted">Engagement lead (none named)</span>' in _row(tab, risk)
    assert "<dt>Owner</dt><dd>Engagement lead (none named)</dd>" in detail
    assert "Engagement lead (none named)" in overview.split('id="top-risks-title"')[1].split("</section>")[0]
    assert '<option value="" selected>The engagement lead</option>' in form
    assert "none named:" not in tab + detail + overview


def test_a_settled_assumption_says_what_settled_it_and_when_not_its_validation_date(
    client, world, time_machine
):
    # Given an assumption proved wrong on 3 December and one that held true that day, both
    # due for validation by 15 December, and one still to validate by then
    engagement = world.mine.engagement
    time_machine.move_to(dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC), tick=False)
    wrong, held, pending = (
        factories.make_raid_item(
            engagement=engagement, kind="assumption", title=title, validate_by=dt.date(2026, 12, 15)
        )
        for title in ("Vendor on site", "Wards keep paper charts", "Lab feed ready")
    )
    raid.raid_assumption_validate(actor=world.lead, item=wrong, holds=False)
    raid.raid_assumption_validate(actor=world.lead, item=held, holds=True)
    client.force_login(world.lead)

    # When the lead reads the tab and the page of the one proved wrong
    tab = _get_tab(client, engagement).content.decode()
    detail = client.get(reverse("raid_item_detail", args=[wrong.pk])).content.decode()

    # Then each settled one says what settled it and on which day, with no date to validate by
    on_the_3rd = '<time datetime="2026-12-03">3 Dec 2026</time>'
    assert f"Proved wrong on {on_the_3rd}" in _row(tab, wrong)
    assert f"Held true on {on_the_3rd}" in _row(tab, held)
    assert "Validate by" not in _row(tab, wrong) + _row(tab, held)
    assert "Validate by <time" in _row(tab, pending)
    assert f"<dt>Outcome</dt><dd>Proved wrong on {on_the_3rd}</dd>" in detail
    assert "Validate by" not in detail and "15 Dec 2026" not in detail


def test_the_overview_marks_a_top_risk_whose_review_is_overdue(client, world, time_machine):
    factories.make_raid_item(
        engagement=world.mine.engagement, title="Data migration overruns", review_on=dt.date(2026, 12, 10)
    )
    time_machine.move_to(EVENING_UTC, tick=False)
    client.force_login(world.consultant)

    body = client.get(reverse("engagement_detail", args=[world.mine.engagement.pk])).content.decode()

    section = body.split('id="top-risks-title"')[1].split("</section>")[0]
    # The world's risk was due for review on 1 April; the new one is not due yet
    assert 'class="overdue">Review overdue since <time datetime="2026-04-01">1 Apr 2026</time>' in section
    assert 'Review by <time datetime="2026-12-10">10 Dec 2026</time>' in section
    assert section.count("overdue since") == 1


def test_another_teams_log_and_items_answer_404(client, world):
    client.force_login(world.consultant)
    assert _get_tab(client, world.other.engagement).status_code == 404
    assert client.get(reverse("raid_item_detail", args=[world.other.raid_item.pk])).status_code == 404
    assert client.get(reverse("engagement_raid_csv", args=[world.other.engagement.pk])).status_code == 404


def test_a_client_user_sees_only_shared_items_and_none_of_the_firms_bookkeeping(client, world):
    # Given an internal risk beside the world's shared one, reviewed by the team
    internal = factories.make_raid_item(engagement=world.mine.engagement, title="Sponsor may leave")
    raid.raid_risk_review(
        actor=world.lead,
        item=world.mine.raid_item,
        likelihood=3,
        impact=4,
        trend="rising",
        next_review_on=timezone.localdate() + dt.timedelta(days=7),
    )
    client.force_login(world.client_user)

    # When the client's PMO lead opens the log, the shared item and the internal one
    tab = _get_tab(client, world.mine.engagement).content.decode()
    shared = client.get(reverse("raid_item_detail", args=[world.mine.raid_item.pk])).content.decode()

    # Then only the shared item shows; the internal one is 404; no edit control nor review stamp shows
    assert "Interface vendor may slip" in tab and "Sponsor may leave" not in tab
    assert "1 open risk," in tab
    assert client.get(reverse("raid_item_detail", args=[internal.pk])).status_code == 404
    assert "Last reviewed" not in shared and "Client sees it" not in shared
    assert "Review this risk" not in shared and ">Edit<" not in shared
    assert "Sponsor may leave" not in "".join(",".join(row) for row in _csv(client, world.mine.engagement))
    assert client.get(reverse("raid_item_create", args=[world.mine.engagement.pk])).status_code == 403


# CSV


def test_the_csv_has_the_tabs_filters_and_neutralises_formulas(client, world):
    factories.make_raid_item(
        engagement=world.mine.engagement, kind="issue", title='=HYPERLINK("http://x","y")'
    )
    factories.make_raid_item(
        engagement=world.mine.engagement, kind="issue", title="@SUM(A1)", description="-2+3"
    )
    client.force_login(world.lead)

    rows = _csv(client, world.mine.engagement, kind="issue")

    assert rows[0][:3] == ["id", "kind", "title"]
    titles = [row[2] for row in rows[1:]]
    assert titles == ["'@SUM(A1)", '\'=HYPERLINK("http://x","y")']
    assert rows[1][rows[0].index("description")] == "'-2+3"


def test_the_csv_separates_the_names_of_several_deciders_as_it_does_the_stakeholders(client, world):
    # Given a decision filed from a check-in with two people, and one whose decider was typed with a comma
    engagement = world.mine.engagement
    other = factories.make_role(engagement=engagement).stakeholder
    check_in = factories.make_check_in(
        engagement=engagement, attendees=[world.mine.stakeholder, other], decisions="Go-live moves to May."
    )
    raid.raid_decisions_file_from_check_in(actor=world.lead, check_in=check_in)
    factories.make_raid_item(
        engagement=engagement, kind="decision", title="Freeze scope", decided_by="Steering board, in session"
    )
    client.force_login(world.lead)

    # When the lead downloads the decisions
    header, *rows = _csv(client, engagement, kind="decision")
    by_title = {row[header.index("title")]: row for row in rows}

    # Then the deciders of the filed one are apart by "; " as its stakeholders are, and the typed one as typed
    filed = by_title["Go-live moves to May."]
    people = {world.mine.stakeholder.name, other.name}
    assert set(filed[header.index("decided by")].split("; ")) == people
    assert set(filed[header.index("stakeholders")].split("; ")) == people
    assert by_title["Freeze scope"][header.index("decided by")] == "Steering board, in session"


# Forms


def test_adding_a_risk_without_javascript_keeps_what_was_typed_when_refused(client, world):
    client.force_login(world.consultant)
    url = reverse("raid_item_create", args=[world.mine.engagement.pk])

    # When the form is sent without an impact
    refused = client.post(url, {"kind": "risk", "title": "Go-live clashes with audit", "likelihood": "4"})

    # Then the error shows beside the impact and the title is kept
    body = refused.content.decode()
    assert refused.status_code == 200
    assert "Rate its impact, 1 to 5." in body and 'value="Go-live clashes with audit"' in body

    # When sent complete, the risk is recorded and its page opens
    saved = client.post(
        url,
        {
            "kind": "risk",
            "title": "Go-live clashes with audit",
            "likelihood": "4",
            "impact": "3",
            "trend": "rising",
            "review_on": "2026-04-01",
            "owner": str(world.consultant.pk),
            "stakeholders": [str(world.mine.stakeholder.pk)],
        },
    )
    item = RaidItem.objects.get(title="Go-live clashes with audit")
    assert saved.status_code == 302 and saved["Location"] == reverse("raid_item_detail", args=[item.pk])
    assert (item.score, item.owner, item.created_by) == (12, world.consultant, world.consultant)


def test_the_form_of_a_kind_asks_only_for_that_kinds_fields(client, world):
    client.force_login(world.consultant)
    body = client.get(reverse("raid_item_create", args=[world.mine.engagement.pk]), {"kind": "decision"})
    html = body.content.decode()
    assert (
        'name="decided_on"' in html and 'name="likelihood"' not in html and 'name="validate_by"' not in html
    )


def test_editing_refuses_a_stale_copy(client, world):
    client.force_login(world.lead)
    item = world.mine.raid_item
    url = reverse("raid_item_edit", args=[item.pk])
    stale = item.updated_at.isoformat()
    # Someone else changes the item first
    raid.raid_item_transition(actor=world.lead, item=item, to_status="closed")

    response = client.post(
        url, {"title": "Renamed", "likelihood": "3", "impact": "4", "seen_updated_at": stale}
    )

    assert "Someone else changed this" in response.content.decode()
    item.refresh_from_db()
    assert item.title == "Interface vendor may slip"


def test_reviewing_a_risk_from_its_page(client, world):
    client.force_login(world.consultant)
    # The 5th of next month: a day of one digit, written without a leading zero.
    fifth = (timezone.localdate().replace(day=1) + dt.timedelta(days=32)).replace(day=5)
    next_review = fifth.isoformat()
    response = client.post(
        reverse("raid_risk_review", args=[world.mine.raid_item.pk]),
        {"likelihood": "2", "impact": "4", "trend": "falling", "next_review_on": next_review},
    )
    assert response.status_code == 302
    item = RaidItem.objects.get(pk=world.mine.raid_item.pk)
    assert (item.score, item.trend, str(item.review_on)) == (8, "falling", next_review)
    assert f"next review 5 {fifth:%b %Y}." in client.get(response["Location"]).content.decode()


def test_an_issue_turned_into_a_change_request_lands_on_the_changes_page(client, world):
    issue = factories.make_raid_item(
        engagement=world.mine.engagement, kind="issue", title="Lab feed rejected"
    )
    client.force_login(world.lead)
    response = client.post(
        reverse("raid_issue_to_change_request", args=[issue.pk]),
        {"title": "Lab feed adapter", "kind": "scope", "budget_impact": "5000", "schedule_impact_days": "10"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("engagement_changes", args=[world.mine.engagement.pk])
    issue.refresh_from_db()
    assert issue.became_change_request.schedule_impact_days == 10
    assert issue.became_change_request.title == "Lab feed adapter"


def test_the_change_request_form_warns_it_is_shared_and_copies_only_a_shared_issues_words(client, world):
    # Given an internal issue and a shared one
    internal = factories.make_raid_item(
        engagement=world.mine.engagement,
        kind="issue",
        title="Sponsor blocks the budget",
        description="Cut it.",
    )
    shared = factories.make_raid_item(
        engagement=world.mine.engagement,
        kind="issue",
        title="Lab feed rejected",
        description="Spec gap.",
        shared_with_client=True,
    )
    client.force_login(world.lead)

    # When the lead opens each
    internal_page = client.get(reverse("raid_item_detail", args=[internal.pk])).content.decode()
    shared_page = client.get(reverse("raid_item_detail", args=[shared.pk])).content.decode()

    # Then both say the change request is the client's to read; the internal one's form starts empty
    assert "show on the client's pages and in sponsors' status updates" in internal_page
    assert "This issue is internal, so none of its words are copied" in internal_page
    form = internal_page[internal_page.index('id="change-heading"') :]
    assert 'value="Sponsor blocks the budget"' not in form and "Cut it." not in form
    form = shared_page[shared_page.index('id="change-heading"') :]
    assert 'value="Lab feed rejected"' in form and "Spec gap." in form

    # And an internal issue's change request without a title is refused beside the field, writing nothing
    response = client.post(
        reverse("raid_issue_to_change_request", args=[internal.pk]),
        {
            "title": "",
            "description": "Budget review",
            "kind": "budget",
            "budget_impact": "0",
            "schedule_impact_days": "0",
        },
    )
    assert response.status_code == 400
    assert "Budget review" in response.content.decode()
    internal.refresh_from_db()
    assert internal.became_change_request is None


# The overview and the check-in form


def test_the_overview_shows_the_top_open_risks_by_score(client, world):
    factories.make_raid_item(
        engagement=world.mine.engagement, title="Data migration overruns", likelihood=5, impact=5
    )
    low = factories.make_raid_item(
        engagement=world.mine.engagement, title="Parking at the hospital", likelihood=1, impact=1
    )
    raid.raid_item_transition(actor=world.lead, item=low, to_status="closed")
    client.force_login(world.consultant)

    body = client.get(reverse("engagement_detail", args=[world.mine.engagement.pk])).content.decode()

    section = body.split('id="top-risks-title"')[1].split("</section>")[0]
    assert section.index("Data migration overruns") < section.index("Interface vendor may slip")
    assert "Parking at the hospital" not in section


def test_decisions_typed_in_a_check_in_are_filed_in_the_log_in_one_step(client, world):
    client.force_login(world.consultant)
    response = client.post(
        reverse("check_in_create"),
        {
            "engagement": str(world.mine.engagement.pk),
            "attendees": [str(world.mine.stakeholder.pk)],
            "kind": "call",
            "occurred_at": (timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "summary": "Steering call.",
            "sentiment": "0",
            "decisions": "- Go-live moves to 4 May\n- Pharmacy joins wave 2",
            "file_decisions": "on",
            "follow_ups-TOTAL_FORMS": "0",
            "follow_ups-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert "2 decisions filed in the RAID log" in response.content.decode()
    assert set(RaidItem.objects.filter(kind="decision").values_list("title", flat=True)) >= {
        "Go-live moves to 4 May",
        "Pharmacy joins wave 2",
    }


def _review(world, risk, likelihood: int, *, days: int = 0) -> None:
    raid.raid_risk_review(
        actor=world.consultant,
        item=risk,
        likelihood=likelihood,
        impact=4,
        trend="falling",
        next_review_on=timezone.localdate() + dt.timedelta(days=14),
        as_of=timezone.now() + dt.timedelta(minutes=days),
    )


def test_a_risks_page_lists_its_reviews_for_the_team_and_none_for_the_client(client, world):
    # Given the world's shared risk, reviewed down to 2 x 4
    risk = world.mine.raid_item
    RaidItem.objects.filter(pk=risk.pk).update(shared_with_client=True)
    before = f"{risk.likelihood} × {risk.impact} = {risk.likelihood * risk.impact}"
    _review(world, risk, 2)
    url = reverse("raid_item_detail", args=[risk.pk])

    # When the lead, then the client's user, opens it
    client.force_login(world.lead)
    team_page = client.get(url).content.decode()
    client.force_login(world.client_user)
    client_page = client.get(url).content.decode()

    # Then the team reads how its rating moved and who moved it; the client reads the rating alone
    assert "Reviews" in team_page
    assert re.search(rf"{re.escape(before)} → 2 × 4 = <strong>8</strong>, falling", team_page)
    assert str(world.consultant) in team_page[team_page.index('id="reviews-heading"') :]
    assert 'id="reviews-heading"' not in client_page
    assert "2 × 4 = <strong>8</strong>" in client_page


def test_a_risks_page_reads_a_fixed_number_of_queries_however_many_reviews(
    client, world, django_assert_num_queries
):
    risk = world.mine.raid_item
    _review(world, risk, 2)
    url = reverse("raid_item_detail", args=[risk.pk])
    client.force_login(world.lead)
    client.get(url)
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    # Read now: the next request's start clears the log the capture is a view of.
    budget = len(one.captured_queries)
    for n in range(1, 8):
        _review(world, risk, 1 + n % 5, days=n)

    with django_assert_num_queries(budget):
        page = client.get(url).content.decode()
    assert page.count("; next review") == 8


def test_a_schedule_change_from_an_issue_tells_whom_the_lead_ticks(client, world):
    # Given an internal issue, and the engagement's sponsor ticked by default on its change request form
    issue = factories.make_raid_item(engagement=world.mine.engagement, kind="issue", title="Lab feed late")
    client.force_login(world.lead)
    page = client.get(reverse("raid_item_detail", args=[issue.pk])).content.decode()
    form = page[page.index('id="change-heading"') :]
    sponsor = world.mine.stakeholder
    assert re.search(rf'value="{sponsor.pk}"[^>]*checked', form), "the sponsor is not ticked by default"

    # When the lead records a schedule change (a kind that tells nobody unless asked), the sponsor ticked
    response = client.post(
        reverse("raid_issue_to_change_request", args=[issue.pk]),
        {
            "title": "Two weeks more for the lab feed",
            "kind": "schedule",
            "budget_impact": "0",
            "schedule_impact_days": "10",
            "notify_stakeholders": [str(sponsor.pk)],
        },
    )

    # Then the sponsor must be told of it
    assert response.status_code == 302
    issue.refresh_from_db()
    told = issue.became_change_request.communication_obligations.values_list("stakeholder_id", flat=True)
    assert list(told) == [sponsor.pk]
