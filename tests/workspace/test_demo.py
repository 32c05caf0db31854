from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import transaction
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communications.health import engagement_health, engagement_signals, health_thresholds
from communications.models import (
    Channel,
    CheckIn,
    FollowUp,
    FollowUpComment,
    Occurrence,
    RaidItem,
    SilenceFlag,
    WeeklyRollup,
)
from communications.rollups import week_bounds
from communications.scheduling import channel_due_times
from communications.trends import TREND_WEEKS
from demo.portfolio import DEMO_PASSWORD, demo_codes
from engagements.models import Client, Engagement, Membership
from notifications.models import Notification
from search.models import SearchDocument
from stakeholders.models import StakeholderRole

# One worker loads the module's demo once: split over two, each loaded it.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("demo")]

OUR_APPS = ("accounts", "engagements", "stakeholders", "communications")
HOSPITAL_CODES = {"EHR-2026", "CDW-2026", "QRR-2027"}
CONSULTANT_CODES = {"EHR-2026", "ERP-S4", "CRM-2026", "REG-2026"}


def _demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def _printed_logins(output: str) -> dict[str, str]:
    """username -> password, read from the table the command prints."""
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("username"))
    return {line.split()[0]: line.split()[1] for line in lines[header + 1 :] if line.strip()}


def _counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in OUR_APPS
        for model in apps.get_app_config(app).get_models(include_auto_created=True)
    }


def _codes_on_home(http: HttpClient) -> set[str]:
    response = http.get(reverse("engagement_list"))
    assert response.status_code == 200
    return {code for code in demo_codes() if code in response.content.decode()}


@pytest.fixture(scope="module")
def demo_started_at() -> dt.datetime:
    """The moment just before the module's demo was loaded: what it judged by its own clock."""
    return timezone.now()


@pytest.fixture(scope="module")
def demo_output(demo_started_at: dt.datetime, django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    """The demo loaded once for the tests that only read it, and what the command printed.

    Loaded in a transaction that is rolled back after the module; each test
    runs in a savepoint inside it, so what a test writes is undone after it.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield _demo()
        transaction.set_rollback(True)


def test_demo_loads_twelve_engagements_for_four_clients(demo_output: str) -> None:
    # given an empty database
    # when loading the demo
    output = demo_output

    # then the portfolio is there, with a table of logins
    assert "Loaded the demo portfolio" in output
    assert Client.objects.count() == 4
    assert set(Engagement.objects.values_list("code", flat=True)) == set(demo_codes())
    assert len(demo_codes()) == 12
    assert {"admin", "practice", "lead", "consultant", "client"} <= set(_printed_logins(output))


def test_running_the_demo_twice_changes_nothing(demo_output: str) -> None:
    # given a loaded demo
    before = _counts()

    # when running it again
    output = _demo("--quiet")

    # then it says so and every table keeps its row count
    assert "already loaded" in output
    assert _counts() == before
    assert "username" not in output


def test_a_demo_loaded_before_search_gets_its_index_when_run_again(demo_output: str) -> None:
    from search.models import SearchDocument
    from search.selectors import search_document_list

    # given a loaded demo whose search index was never written (it predates search)
    SearchDocument.objects.all().delete()

    # when running the demo again
    output = _demo("--quiet")

    # then the index is written from the rows, and the practice lead finds a demo check-in by its words
    assert "Search index written" in output
    check_in = CheckIn.objects.order_by("pk").first()
    assert check_in is not None
    word = max(("".join(ch for ch in w if ch.isalpha()) for w in check_in.summary.split()), key=len)
    found = search_document_list(user=User.objects.get(username="practice"), query=word, kind="check_in")
    assert found is not None and found.hits
    assert SearchDocument.objects.filter(kind="check_in", object_id=check_in.pk).exists()


def test_every_printed_login_signs_in_and_sees_its_engagements(demo_output: str) -> None:
    # given a loaded demo and the logins it printed
    logins = _printed_logins(demo_output)
    assert set(logins.values()) == {DEMO_PASSWORD}

    seen = {}
    for username, password in logins.items():
        # when each signs in through the login page and opens the home page
        http = HttpClient()
        response = http.post(reverse("login"), {"username": username, "password": password})
        assert response.status_code == 302, username
        seen[username] = _codes_on_home(http)

    # then each sees exactly the engagements their role allows
    assert seen["practice"] == set(demo_codes())
    assert seen["admin"] == set(demo_codes())
    assert seen["consultant"] == CONSULTANT_CODES
    assert seen["client"] == HOSPITAL_CODES
    assert seen["lead"] == {"EHR-2026", "CDW-2026", "QRR-2027", "CMS-2026"}


def test_demo_history_spans_months_with_done_open_and_overdue_follow_ups(
    demo_output: str, demo_started_at: dt.datetime
) -> None:
    # given a loaded demo
    now = timezone.now()

    # when looking at its check-ins and follow-ups
    first = CheckIn.objects.order_by("occurred_at").first()
    last = CheckIn.objects.order_by("occurred_at").last()
    follow_ups = FollowUp.objects.all()

    # then the history covers about four months up to now
    assert first is not None and last is not None
    assert last.occurred_at - first.occurred_at > dt.timedelta(days=90)
    assert last.occurred_at <= now
    assert CheckIn.objects.filter(occurred_at__gte=now - dt.timedelta(days=14)).exists()
    # and some follow-ups are done, some open in time, some overdue and flagged as such
    assert follow_ups.filter(status=FollowUp.Status.DONE).exists()
    assert follow_ups.open().filter(due_at__gte=now).exists()
    # (judged when the demo was loaded: one due since, while the module ran, waits for the beat)
    overdue = follow_ups.overdue(as_of=demo_started_at)
    assert overdue.exists()
    assert not overdue.filter(overdue_stamp__isnull=True).exists()
    # and the client PMO lead owes some of them
    assert follow_ups.filter(owner_stakeholder__user__username="client").exists()


def test_demo_comments_are_dated_in_their_items_history_not_at_load_time(demo_output: str) -> None:
    # given a loaded demo, whose history ends at the start of today
    history_end = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)

    # when reading the comments on its follow-ups
    comments = list(
        FollowUpComment.objects.filter(follow_up__engagement__code__in=demo_codes()).select_related(
            "follow_up__check_in"
        )
    )

    # then each was written after its item came out of its meeting and fell due, before today,
    # and not all at one moment
    assert comments
    for comment in comments:
        follow_up = comment.follow_up
        assert follow_up.due_at < comment.created_at < history_end
        if follow_up.check_in is not None:
            assert follow_up.check_in.occurred_at < comment.created_at
    assert len({comment.created_at for comment in comments}) > 1


def test_demo_teams_joined_when_their_engagement_began_not_at_load_time(demo_output: str) -> None:
    # when reading who joined each demo engagement, and when
    memberships = list(
        Membership.objects.filter(engagement__code__in=demo_codes()).select_related("engagement")
    )

    # then nobody joined on the day the demo was loaded; a running engagement's team joined on its first day
    assert memberships
    today = timezone.now().date()
    for membership in memberships:
        assert membership.joined_at.date() < today
        if membership.engagement.start_date < today - dt.timedelta(days=30):
            assert abs((membership.joined_at.date() - membership.engagement.start_date).days) <= 1


def test_demo_raid_items_were_raised_over_the_history_and_search_dates_them_so(demo_output: str) -> None:
    # when reading the demo's RAID log, other than the decisions a check-in filed at load
    items = list(RaidItem.objects.filter(engagement__code__in=demo_codes(), check_in__isnull=True))
    today = timezone.now().date()

    # then each was raised before today, not all on one day, and settled (if it was) after it was raised
    assert items
    assert all(item.created_at.date() < today for item in items)
    assert len({item.created_at.date() for item in items}) > 3
    for item in items:
        for settled in (item.closed_at, item.validated_at):
            assert settled is None or item.created_at < settled < timezone.now()

    # and search shows the day each was raised, not the day the demo was loaded
    documents = SearchDocument.objects.filter(kind="raid_item", object_id__in=[i.pk for i in items])
    assert documents.exists()
    assert all(d.happened_at is not None and d.happened_at.date() < today for d in documents)


def test_demo_compliance_follows_from_every_planned_meeting_held_or_missed(demo_output: str) -> None:
    # given a loaded demo
    history_end = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)

    for channel in Channel.objects.filter(engagement__code__in=demo_codes()).select_related(
        "engagement", "stakeholder"
    ):
        # then every meeting its plan held before the demo's history ended is an occurrence
        # (the dispatcher's own expansion of the plan), none passed over
        start = dt.datetime.combine(channel.starts_on, dt.time(0), tzinfo=dt.UTC)
        planned = list(
            channel_due_times(channel=channel, after=start, until=history_end - channel.grace_period)
        )
        rows = dict(
            Occurrence.objects.filter(
                channel=channel, due_at__lte=planned[-1] if planned else start
            ).values_list("due_at", "status")
        )
        assert sorted(rows) == planned, channel
        # and each was either held by a check-in with that person, or missed with no check-in
        assert set(rows.values()) <= {Occurrence.Status.HELD, Occurrence.Status.MISSED}, channel
    held = Occurrence.objects.filter(status=Occurrence.Status.HELD).select_related("check_in", "channel")
    for occurrence in held:
        assert occurrence.check_in is not None
        assert occurrence.check_in.attendees.filter(pk=occurrence.channel.stakeholder_id).exists()
        assert abs(occurrence.check_in.occurred_at - occurrence.due_at) <= occurrence.channel.grace_period
    # and each planned check-in of the history holds exactly the occurrence it was for
    planned_check_ins = CheckIn.objects.filter(channel__isnull=False)
    assert planned_check_ins.count() == held.count()
    # and the portfolio's compliance is neither perfect nor invented: some meetings were missed
    assert Occurrence.objects.filter(status=Occurrence.Status.MISSED).exists()


def test_demo_shows_a_silent_sponsor_and_notifications_from_the_first_page(demo_output: str) -> None:
    # given a loaded demo, before any periodic sweep has run

    # then a sponsor has gone quiet, with a follow-up for the consultant who owns the relationship
    flag = SilenceFlag.objects.open().select_related("follow_up__owner_user").first()
    assert flag is not None and flag.follow_up is not None
    assert flag.follow_up.title.startswith(f"Get back in touch with {flag.stakeholder.name}")
    assert flag.follow_up.owner_user is not None and flag.follow_up.owner_user.is_firm_member
    # and the consultant's bell has unread news while older notifications are read
    notifications = Notification.objects.filter(recipient__username="consultant")
    assert notifications.unread().exists()
    assert notifications.filter(read_at__isnull=False).exists()


def test_demo_colours_follow_from_its_data(demo_output: str) -> None:
    # given the demo as loaded
    engagements = list(Engagement.objects.select_related("client").order_by("pk"))

    # then no colour is set by hand: each stored health and its factors are what
    # the health function answers for the demo's rows at the time they were computed
    assert not [e.code for e in engagements if e.health_override]
    as_of = engagements[0].health_computed_at
    assert as_of is not None
    thresholds = health_thresholds()
    signals = engagement_signals(
        engagements=[(e.pk, e.client.time_zone) for e in engagements], as_of=as_of, thresholds=thresholds
    )
    for engagement in engagements:
        expected = engagement_health(signals=signals[engagement.pk], thresholds=thresholds)
        assert engagement.health == expected.status, engagement.code
        assert engagement.health_factors == [factor.as_json() for factor in expected.factors]

    # and the troubled engagement whose sponsors went quiet is red, saying so, among all three colours
    by_code = {e.code: e for e in engagements}
    assert by_code["ERP-S4"].health == "red"
    assert "silent_stakeholders" in {factor["code"] for factor in by_code["ERP-S4"].health_factors}
    assert {e.health for e in engagements} == {"green", "amber", "red"}


def test_demo_has_a_relationship_whose_drop_follows_from_its_data(demo_output: str) -> None:
    # Given the demo as loaded, and the practice lead on Who needs attention
    http = HttpClient()
    http.force_login(User.objects.get(username="practice"))
    html = http.get(reverse("attention")).content.decode()
    section = html.split('id="attention-relationships"')[1].split("</section>")[0]

    # Then the COO met once a month ago and never since is listed, green to amber for the silence
    row = section.split("Stefan Wolf</td>")[1].split("</tr>")[0]
    assert 'rag-green">Green</span> → <span class="rag rag-amber">Amber</span>' in row
    assert "No contact for over 4 weeks and no planned channel" in row
    # And the drop is dated the first sweep after his silence passed the 21 days allowed
    role = StakeholderRole.objects.get(engagement__code="EHR-2026", stakeholder__name="Stefan Wolf")
    (met_at,) = CheckIn.objects.filter(engagement=role.engagement, attendees=role.stakeholder).values_list(
        "occurred_at", flat=True
    )
    since = role.relationship_health_since
    assert since is not None
    limit = dt.timedelta(days=health_thresholds().relationship_unplanned_amber_days)
    assert met_at + limit < since <= met_at + limit + dt.timedelta(days=1)
    assert timezone.now() - since < dt.timedelta(days=14)


def test_demo_ends_with_the_roll_ups_of_every_week_of_its_history(demo_output: str) -> None:
    # Given the loaded demo, then every engagement has a roll-up for at least the trends' 26 weeks
    engagements = Engagement.objects.filter(code__in=demo_codes()).select_related("client")
    for engagement in engagements:
        weeks = WeeklyRollup.objects.filter(engagement=engagement).count()
        assert weeks >= TREND_WEEKS, (engagement.code, weeks)

    # And each week's meetings are the check-ins logged in it, in the engagement's zone
    busiest = WeeklyRollup.objects.order_by("-meetings", "pk").select_related("engagement__client").first()
    assert busiest is not None and busiest.meetings > 0
    start, end = week_bounds(busiest.week_start, ZoneInfo(busiest.engagement.client.time_zone))
    logged = CheckIn.objects.filter(
        engagement=busiest.engagement, occurred_at__gte=start, occurred_at__lt=end
    )
    assert busiest.meetings == logged.count()
    # And the trend page of the practice lead reads them
    http = HttpClient()
    http.force_login(User.objects.get(username="practice"))
    trend = http.get(reverse("trends")).context["trend"]
    assert sum(week.meetings for week in trend) > 0
    assert any(week.compliance_percent is not None for week in trend)
