"""Communication obligations: opened by a change request, met by a check-in, waived with a reason."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communications import obligations
from communications.models import CommunicationObligation
from engagements.models import ChangeRequest, Engagement
from engagements.working_days import EngagementCalendar, working_days_after
from pmaas.errors import NotAllowed, TransitionRefused
from stakeholders.models import Scale, StakeholderRole
from tests import factories

UTC = dt.UTC
# A Thursday, so five working days later crosses a weekend.
AS_OF = dt.datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
Open = CommunicationObligation.Status.OPEN


def _record(engagement: Engagement, actor, **kwargs) -> ChangeRequest:
    values: dict[str, Any] = {
        "title": "Add the pharmacy module",
        "kind": ChangeRequest.Kind.SCOPE,
        "raised_on": dt.date(2026, 3, 5),
        "budget_impact": 40_000,
        "as_of": AS_OF,
    }
    values.update(kwargs)
    return obligations.change_request_record(actor=actor, engagement=engagement, **values)


def _told(change_request: ChangeRequest) -> set[int]:
    return set(
        CommunicationObligation.objects.filter(change_request=change_request).values_list(
            "stakeholder_id", flat=True
        )
    )


@pytest.fixture
def cast(db):
    """An engagement with a sponsor, a PMO lead, a high-influence leader and a low-influence one."""
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    roles = {
        "sponsor": factories.make_role(engagement=engagement, kind=StakeholderRole.Kind.SPONSOR),
        "pmo": factories.make_role(engagement=engagement, kind=StakeholderRole.Kind.PMO_LEAD),
        "cfo": factories.make_role(
            engagement=engagement, kind=StakeholderRole.Kind.BUSINESS_LEADER, influence=Scale.HIGH
        ),
        "analyst": factories.make_role(
            engagement=engagement, kind=StakeholderRole.Kind.TEAM_MEMBER, influence=Scale.LOW
        ),
    }
    return engagement, lead, {name: role.stakeholder for name, role in roles.items()}


def test_a_scope_change_opens_obligations_for_sponsors_pmo_lead_and_high_influence(cast):
    # Given an engagement with key and other stakeholders
    engagement, lead, people = cast

    # When a scope change is recorded without naming who must be told
    change_request = _record(engagement, lead)

    # Then the sponsor, the PMO lead and the high-influence leader must be told, the analyst not
    assert _told(change_request) == {people["sponsor"].pk, people["pmo"].pk, people["cfo"].pk}
    assert set(CommunicationObligation.objects.values_list("status", flat=True)) == {Open}


def test_a_schedule_change_opens_no_obligation_unless_people_are_named(cast):
    # Given an engagement with key stakeholders
    engagement, lead, people = cast

    # When a schedule change is recorded by default, and another naming the analyst
    quiet = _record(engagement, lead, kind=ChangeRequest.Kind.SCHEDULE)
    named = _record(
        engagement, lead, kind=ChangeRequest.Kind.SCHEDULE, notify_stakeholder_ids=[people["analyst"].pk]
    )

    # Then the first opens none and the second exactly the named one
    assert _told(quiet) == set()
    assert _told(named) == {people["analyst"].pk}


def test_naming_someone_outside_the_engagement_records_nothing(cast):
    # Given a stakeholder of the same client without a role on the engagement
    engagement, lead, _ = cast
    stranger = factories.make_stakeholder(client=engagement.client)

    # When a change names them
    with pytest.raises(ValidationError) as refused:
        _record(engagement, lead, notify_stakeholder_ids=[stranger.pk])

    # Then it is refused and neither the change nor any obligation is saved
    assert "notify_stakeholders" in refused.value.message_dict
    assert not ChangeRequest.objects.filter(engagement=engagement).exists()
    assert not CommunicationObligation.objects.exists()


def test_deadline_is_the_earliest_planned_channel_or_five_working_days(cast):
    # Given the sponsor with two weekly channels (Tuesdays and Fridays) and the PMO lead with none
    engagement, lead, people = cast
    sponsor_role = StakeholderRole.objects.get(engagement=engagement, stakeholder=people["sponsor"])
    tuesday = factories.make_channel(role=sponsor_role, owner=lead, as_of=AS_OF)
    friday = factories.make_channel(
        role=sponsor_role,
        owner=lead,
        recurrence_rule="FREQ=WEEKLY;BYDAY=FR",
        title="Friday call",
        as_of=AS_OF,
    )

    # When a change is recorded on Thursday 5 March 2026
    change_request = _record(
        engagement, lead, notify_stakeholder_ids=[people["sponsor"].pk, people["pmo"].pk]
    )

    # Then the sponsor must be told by the sooner channel (Friday), the PMO lead within five working days
    sponsor = CommunicationObligation.objects.get(
        change_request=change_request, stakeholder=people["sponsor"]
    )
    pmo = CommunicationObligation.objects.get(change_request=change_request, stakeholder=people["pmo"])
    assert friday.next_due_at is not None and tuesday.next_due_at is not None
    assert friday.next_due_at < tuesday.next_due_at
    assert sponsor.channel == friday
    assert sponsor.deadline == friday.next_due_at
    assert pmo.channel is None
    assert pmo.deadline == dt.datetime(2026, 3, 12, 16, 0, tzinfo=UTC)  # the end of the day, 17:00 in Berlin


def test_working_days_skip_the_weekend():
    # Given a Friday afternoon, when one working day is added, then it is Monday afternoon
    friday = dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    monday = dt.datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
    assert (
        working_days_after(
            friday, 1, calendar=EngagementCalendar(time_zone="UTC", country="", subdivision="")
        )
        == monday
    )


def _recent_change(engagement, lead, people, *, hours_ago: int = 48) -> ChangeRequest:
    return _record(
        engagement,
        lead,
        as_of=timezone.now() - dt.timedelta(hours=hours_ago),
        notify_stakeholder_ids=[people["sponsor"].pk, people["pmo"].pk],
    )


def test_a_check_in_with_the_stakeholder_after_the_change_meets_their_obligation(cast):
    # Given a change recorded two days ago that the sponsor and PMO lead must hear about
    engagement, lead, people = cast
    change_request = _recent_change(engagement, lead, people)

    # When a check-in with the sponsor is logged for an hour ago
    check_in = factories.make_check_in(engagement=engagement, attendees=[people["sponsor"]], actor=lead)

    # Then the sponsor's obligation is met by it, at its time; the PMO lead's stays open
    sponsor = CommunicationObligation.objects.get(
        change_request=change_request, stakeholder=people["sponsor"]
    )
    pmo = CommunicationObligation.objects.get(change_request=change_request, stakeholder=people["pmo"])
    assert sponsor.status == CommunicationObligation.Status.MET
    assert sponsor.met_by_check_in == check_in
    assert sponsor.met_at == check_in.occurred_at
    assert pmo.status == Open


def test_a_check_in_before_the_change_or_without_the_stakeholder_meets_nothing(cast):
    # Given a change recorded two days ago
    engagement, lead, people = cast
    _recent_change(engagement, lead, people)

    # When a check-in with the sponsor three days ago, and one with only the analyst now, are logged
    factories.make_check_in(
        engagement=engagement,
        attendees=[people["sponsor"]],
        actor=lead,
        occurred_at=timezone.now() - dt.timedelta(days=3),
    )
    factories.make_check_in(engagement=engagement, attendees=[people["analyst"]], actor=lead)

    # Then every obligation is still open
    assert set(CommunicationObligation.objects.values_list("status", flat=True)) == {Open}


def test_a_check_in_on_another_engagement_meets_nothing(cast):
    # Given a change on one engagement, and another engagement with the same sponsor
    engagement, lead, people = cast
    _recent_change(engagement, lead, people)
    elsewhere = factories.make_engagement(client=engagement.client, lead=lead)
    factories.make_role(engagement=elsewhere, stakeholder=people["sponsor"])

    # When a check-in with the sponsor is logged on the other engagement
    factories.make_check_in(engagement=elsewhere, attendees=[people["sponsor"]], actor=lead)

    # Then the obligation on the first stays open
    assert set(CommunicationObligation.objects.values_list("status", flat=True)) == {Open}


def test_a_check_in_logged_right_after_the_change_at_the_minute_meets_it(cast):
    # Given a change the sponsor must hear about, recorded at 10:00:37
    engagement, lead, people = cast
    recorded = dt.datetime(2026, 3, 5, 10, 0, 37, tzinfo=UTC)
    _record(engagement, lead, as_of=recorded, notify_stakeholder_ids=[people["sponsor"].pk])

    # When a check-in is logged with the form's time, cut to the minute: 10:00
    at_the_minute = recorded.replace(second=0)
    check_in = factories.make_check_in(
        engagement=engagement, attendees=[people["sponsor"]], actor=lead, occurred_at=at_the_minute
    )

    # Then it meets the obligation
    obligation = CommunicationObligation.objects.get(stakeholder=people["sponsor"])
    assert obligation.status == CommunicationObligation.Status.MET
    assert obligation.met_by_check_in == check_in


def test_the_meeting_where_the_change_was_discussed_meets_it_but_the_day_before_does_not(cast):
    # Given a change recorded in the afternoon of Thursday 5 March, after the morning's meeting
    engagement, lead, people = cast
    _record(
        engagement,
        lead,
        as_of=dt.datetime(2026, 3, 5, 16, 0, tzinfo=UTC),
        notify_stakeholder_ids=[people["sponsor"].pk, people["pmo"].pk],
    )

    # When the morning's meeting with the sponsor, and one with the PMO lead the evening before, are logged
    factories.make_check_in(
        engagement=engagement,
        attendees=[people["sponsor"]],
        actor=lead,
        occurred_at=dt.datetime(2026, 3, 5, 9, 0, tzinfo=UTC),
    )
    factories.make_check_in(
        engagement=engagement,
        attendees=[people["pmo"]],
        actor=lead,
        occurred_at=dt.datetime(2026, 3, 4, 20, 0, tzinfo=UTC),
    )

    # Then the sponsor has been told and the PMO lead not yet
    status = dict(CommunicationObligation.objects.values_list("stakeholder_id", "status"))
    assert status == {people["sponsor"].pk: CommunicationObligation.Status.MET, people["pmo"].pk: Open}


def _utc(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("time_zone", "recorded", "occurred", "met"),
    [
        # Auckland (UTC+13): recorded 6 March 09:00 local; 5 March 23:00 local is the day before,
        # 6 March 00:30 local the same day, although both are 5 March in UTC.
        ("Pacific/Auckland", _utc(2026, 3, 5, 20, 0), _utc(2026, 3, 5, 10, 0), False),
        ("Pacific/Auckland", _utc(2026, 3, 5, 20, 0), _utc(2026, 3, 5, 11, 30), True),
        # Los Angeles (UTC-8): recorded 5 March 18:00 local (6 March in UTC); 5 March 09:00 local counts.
        ("America/Los_Angeles", _utc(2026, 3, 6, 2, 0), _utc(2026, 3, 5, 17, 0), True),
        ("America/Los_Angeles", _utc(2026, 3, 6, 2, 0), _utc(2026, 3, 5, 7, 59), False),
        # New York springs forward on Sunday 8 March: a 23-hour day from 05:00 to 04:00 UTC.
        # Recorded at 23:30 EDT; 00:30 EST that morning counts, 23:30 EST the evening before does not.
        ("America/New_York", _utc(2026, 3, 9, 3, 30), _utc(2026, 3, 8, 5, 30), True),
        ("America/New_York", _utc(2026, 3, 9, 3, 30), _utc(2026, 3, 8, 4, 30), False),
        # London falls back on Sunday 25 October: a 25-hour day from 23:00 UTC on the 24th.
        # Recorded at 23:30 GMT; 00:30 BST that morning (24 October in UTC) counts, 23:30 BST before not.
        ("Europe/London", _utc(2026, 10, 25, 23, 30), _utc(2026, 10, 24, 23, 30), True),
        ("Europe/London", _utc(2026, 10, 25, 23, 30), _utc(2026, 10, 24, 22, 30), False),
    ],
)
def test_a_check_in_counts_from_the_day_of_the_change_in_the_stakeholders_time_zone(
    db, time_zone, recorded, occurred, met
):
    # Given a stakeholder in a zone whose local date differs from UTC's, and a change they must hear about
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    person = factories.make_stakeholder(client=engagement.client, time_zone=time_zone)
    factories.make_role(engagement=engagement, stakeholder=person, kind=StakeholderRole.Kind.SPONSOR)
    _record(
        engagement,
        lead,
        raised_on=recorded.date(),
        as_of=recorded,
        notify_stakeholder_ids=[person.pk],
    )

    # When a check-in with them is logged at a time around the start of that local day
    factories.make_check_in(engagement=engagement, attendees=[person], actor=lead, occurred_at=occurred)

    # Then it meets the obligation exactly when it falls on or after the change's local day
    obligation = CommunicationObligation.objects.get(stakeholder=person)
    assert (obligation.status == CommunicationObligation.Status.MET) is met


def test_attendees_in_different_zones_are_each_judged_by_their_own_day(db):
    # Given a change recorded at 20:00 UTC on 5 March (6 March in Auckland) for people in Auckland and London
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    auckland = factories.make_stakeholder(client=engagement.client, time_zone="Pacific/Auckland")
    london = factories.make_stakeholder(client=engagement.client, time_zone="Europe/London")
    for person in (auckland, london):
        factories.make_role(engagement=engagement, stakeholder=person, kind=StakeholderRole.Kind.SPONSOR)
    _record(
        engagement,
        lead,
        as_of=dt.datetime(2026, 3, 5, 20, 0, tzinfo=UTC),
        notify_stakeholder_ids=[auckland.pk, london.pk],
    )

    # When both attend a call at 10:00 UTC on 5 March (23:00 in Auckland, 10:00 in London)
    factories.make_check_in(
        engagement=engagement,
        attendees=[auckland, london],
        actor=lead,
        occurred_at=dt.datetime(2026, 3, 5, 10, 0, tzinfo=UTC),
    )

    # Then London heard it on the day of the change; for Auckland the call was the day before
    status = dict(CommunicationObligation.objects.values_list("stakeholder_id", "status"))
    assert status == {london.pk: CommunicationObligation.Status.MET, auckland.pk: Open}


@pytest.mark.parametrize("changes", [1, 12])
def test_meeting_obligations_costs_one_statement_whatever_their_number(cast, changes):
    # Given some changes, each owed to the sponsor and the PMO lead
    engagement, lead, people = cast
    for _ in range(changes):
        _recent_change(engagement, lead, people)
    check_in = factories.make_check_in(engagement=engagement, attendees=[people["analyst"]], actor=lead)
    check_in.attendees.add(people["sponsor"], people["pmo"])

    # When the obligations are met for a check-in with both
    with CaptureQueriesContext(connection) as queries:
        met = obligations.obligations_meet_for_check_in(check_in=check_in)

    # Then all of them are met by one read of the attendees' time zones and one UPDATE
    assert met == 2 * changes
    assert len(queries) == 2


@pytest.mark.parametrize("changes", [1, 12])
def test_logging_a_check_in_costs_the_same_whatever_the_open_obligations(
    cast, changes, django_assert_num_queries
):
    # Given a baseline cost of logging a check-in with two attendees and no obligations, once their
    # relationship health has been stored by an earlier one (its first writing costs a statement)
    engagement, lead, people = cast
    factories.make_check_in(engagement=engagement, attendees=[people["sponsor"], people["pmo"]], actor=lead)
    with CaptureQueriesContext(connection) as baseline:
        factories.make_check_in(
            engagement=engagement, attendees=[people["sponsor"], people["pmo"]], actor=lead
        )
    for _ in range(changes):
        _recent_change(engagement, lead, people)

    # When the same check-in is logged with obligations open
    with CaptureQueriesContext(connection) as measured:
        factories.make_check_in(
            engagement=engagement, attendees=[people["sponsor"], people["pmo"]], actor=lead
        )

    # Then it costs the same number of queries, and every obligation is met
    assert len(measured) == len(baseline)
    assert not CommunicationObligation.objects.open().exists()


def test_waiving_needs_a_reason_and_happens_once(cast):
    # Given an open obligation
    engagement, lead, people = cast
    change_request = _recent_change(engagement, lead, people)
    obligation = CommunicationObligation.objects.filter(change_request=change_request).first()
    assert obligation is not None

    # When it is waived without a reason, then with one, then again
    with pytest.raises(ValidationError) as no_reason:
        obligations.obligation_waive(actor=lead, obligation=obligation, reason="  ")
    waived = obligations.obligation_waive(
        actor=lead, obligation=obligation, reason="Told at the steering committee"
    )
    with pytest.raises(TransitionRefused):
        obligations.obligation_waive(actor=lead, obligation=obligation, reason="Again")

    # Then only the reasoned waiver counts, with who and why
    assert "reason" in no_reason.value.message_dict
    assert waived.status == CommunicationObligation.Status.WAIVED
    assert waived.waived_reason == "Told at the steering committee"
    assert waived.waived_by == lead


def test_adding_someone_needs_a_role_and_no_open_obligation(cast):
    # Given a change the sponsor must already hear about
    engagement, lead, people = cast
    change_request = _recent_change(engagement, lead, people)
    stranger = factories.make_stakeholder(client=engagement.client)

    # When the analyst, the sponsor again and a stranger are added
    added = obligations.obligation_add(
        actor=lead, change_request=change_request, stakeholder=people["analyst"], as_of=AS_OF
    )
    with pytest.raises(ValidationError) as twice:
        obligations.obligation_add(actor=lead, change_request=change_request, stakeholder=people["sponsor"])
    with pytest.raises(ValidationError) as outsider:
        obligations.obligation_add(actor=lead, change_request=change_request, stakeholder=stranger)

    # Then only the analyst is added, with a deadline five working days out
    assert added.deadline == dt.datetime(2026, 3, 12, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
    assert "stakeholder" in twice.value.message_dict
    assert "stakeholder" in outsider.value.message_dict
    assert _told(change_request) == {people["sponsor"].pk, people["pmo"].pk, people["analyst"].pk}


def test_a_client_user_cannot_record_waive_or_add(world):
    # Given the client PMO lead, who sees engagement "mine"
    pmo = world.client_user

    # When they try to change obligations, then each is forbidden
    with pytest.raises(NotAllowed):
        _record(world.mine.engagement, pmo)
    with pytest.raises(NotAllowed):
        obligations.obligation_waive(actor=pmo, obligation=world.mine.obligation, reason="Not needed")
    with pytest.raises(NotAllowed):
        obligations.obligation_add(
            actor=pmo, change_request=world.mine.change_request, stakeholder=world.mine.stakeholder
        )


# --- the obligations page ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "edit_controls"),
    [
        ("administrator", True),
        ("practice_lead", True),
        ("engagement_lead", True),
        ("consultant", True),
    ],
)
def test_obligations_page_lists_each_change_with_who_must_be_told(client, world, role, edit_controls):
    # Given a user of each role who sees engagement "mine"
    client.force_login(world.users()[role])

    # When they open its obligations page
    response = client.get(reverse("engagement_obligations", args=[world.mine.engagement.pk]))

    # Then the change and the sponsor are listed, with waive and add controls only for those who may edit
    body = response.content.decode()
    assert response.status_code == 200
    assert world.mine.change_request.title in body
    assert world.mine.stakeholder.name in body
    assert (reverse("obligation_waive", args=[world.mine.obligation.pk]) in body) is edit_controls
    assert (reverse("obligation_add", args=[world.mine.change_request.pk]) in body) is edit_controls


def test_waiving_from_the_page_needs_a_reason(client, world):
    # Given the engagement lead on the obligations page
    client.force_login(world.lead)
    url = reverse("obligation_waive", args=[world.mine.obligation.pk])

    # When they waive without a reason, then with one
    refused = client.post(url, {"reason": ""})
    accepted = client.post(url, {"reason": "Told in person"})

    # Then the first shows the error beside the field and saves nothing; the second waives and redirects
    assert refused.status_code == 200
    assert "Say why this person need not be told." in refused.content.decode()
    assert accepted.status_code == 302
    world.mine.obligation.refresh_from_db()
    assert world.mine.obligation.status == CommunicationObligation.Status.WAIVED
    assert world.mine.obligation.waived_reason == "Told in person"


def test_adding_from_the_page_resolves_only_stakeholders_of_the_engagement(client, world):
    # Given the engagement lead, a stakeholder with a role on "mine" and one on another client's engagement
    client.force_login(world.lead)
    extra = factories.make_role(engagement=world.mine.engagement).stakeholder
    url = reverse("obligation_add", args=[world.mine.change_request.pk])

    # When they add the other client's stakeholder, then the one of this engagement
    refused = client.post(url, {"stakeholder": world.other.stakeholder.pk})
    accepted = client.post(url, {"stakeholder": extra.pk})

    # Then the outsider is refused as no valid choice, the insider is added
    assert refused.status_code == 200
    assert "Select a valid choice" in refused.content.decode()
    assert accepted.status_code == 302
    assert extra.pk in _told(world.mine.change_request)
    assert world.other.stakeholder.pk not in _told(world.mine.change_request)


def test_obligations_do_not_exist_for_a_client_user(client, world):
    # Given the client PMO lead
    client.force_login(world.client_user)

    # When they open the page, or post a waiver and an addition, then none exists for them and nothing changes
    page = client.get(reverse("engagement_obligations", args=[world.mine.engagement.pk]))
    waive = client.post(reverse("obligation_waive", args=[world.mine.obligation.pk]), {"reason": "No"})
    add = client.post(
        reverse("obligation_add", args=[world.mine.change_request.pk]),
        {"stakeholder": world.mine.stakeholder.pk},
    )
    assert (page.status_code, waive.status_code, add.status_code) == (404, 404, 404)
    world.mine.obligation.refresh_from_db()
    assert world.mine.obligation.status == Open


@pytest.mark.parametrize("count", [5, 50])
def test_obligations_page_query_count_does_not_grow_with_rows(client, db, django_assert_num_queries, count):
    # Given an engagement with some changes, each owed to several stakeholders, some already waived
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    people = [
        factories.make_role(engagement=engagement, kind=StakeholderRole.Kind.SPONSOR).stakeholder
        for _ in range(3)
    ]
    for index in range(count):
        change_request = _record(engagement, lead, title=f"Change {index}")
        if index % 2:
            obligation = CommunicationObligation.objects.filter(change_request=change_request).first()
            assert obligation is not None
            obligations.obligation_waive(actor=lead, obligation=obligation, reason="Told already")
    assert CommunicationObligation.objects.count() == count * len(people)
    client.force_login(lead)

    # When the page renders, then it costs the same queries at any size: session, user, engagement,
    # stakeholders for the add forms, obligations, change requests, may-edit check, summary, the bell's count,
    # the header's role
    with django_assert_num_queries(10):
        response = client.get(reverse("engagement_obligations", args=[engagement.pk]))
    assert response.status_code == 200
