from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from communications import obligations
from communications.models import CommunicationObligation
from engagements import services
from engagements.models import ChangeRequest, Engagement, Milestone
from pmaas.errors import TransitionRefused
from stakeholders.models import Scale, StakeholderRole
from tests import factories
from workspace.views.engagements import ENGAGEMENT_LIST_PAGE_SIZE


def _next_week() -> dt.date:
    return timezone.localdate() + dt.timedelta(days=7)


def test_home_sends_anonymous_visitors_to_log_in(client, db):
    # When someone who has not logged in opens the home page
    response = client.get(reverse("engagement_list"))

    # Then they are sent to the login page, coming back afterwards
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "next=/" in response["Location"]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("administrator", {"EHR-A", "DATA-A", "ERP-B"}),
        ("practice_lead", {"EHR-A", "DATA-A", "ERP-B"}),
        ("engagement_lead", {"EHR-A"}),
        ("consultant", {"EHR-A"}),
        ("client_pmo_lead", {"EHR-A", "DATA-A"}),
    ],
)
def test_home_lists_the_engagements_the_user_may_see_with_client_and_status(client, world, role, expected):
    # Given a user of each role
    client.force_login(world.users()[role])

    # When they open the home page
    response = client.get(reverse("engagement_list"))

    # Then it lists exactly the engagements in their scope, with client and status
    assert response.status_code == 200
    shown = {engagement.code for engagement in response.context["engagements"]}
    assert shown == expected
    body = response.content.decode()
    for code in {"EHR-A", "DATA-A", "ERP-B"} - expected:
        assert code not in body
    assert "Northwind Health" in body
    assert "Active" in body


def test_home_tells_a_user_without_engagements_what_to_do(client, db):
    # Given a consultant on no team
    client.force_login(factories.consultant())

    # When they open the home page
    response = client.get(reverse("engagement_list"))

    # Then they read why the list is empty
    assert "not on any engagement yet" in response.content.decode()


def test_home_shows_whether_health_is_overridden(client, world):
    # Given an engagement whose health a lead overrode with a reason
    from engagements.services import engagement_override_health

    engagement_override_health(
        actor=world.lead,
        engagement=world.mine.engagement,
        health="red",
        reason="Sponsor left the client",
        until=_next_week(),
    )
    client.force_login(world.consultant)

    # When the consultant opens the home page
    body = client.get(reverse("engagement_list")).content.decode()

    # Then the engagement reads red and overridden
    assert "rag-red" in body
    assert "(overridden)" in body


@pytest.mark.parametrize("count", [5, 50])
def test_home_query_count_does_not_grow_with_engagements(client, db, django_assert_num_queries, count):
    # Given a practice lead and a portfolio of some size
    lead = factories.practice_lead()
    shared_client = factories.make_client()
    for _ in range(count):
        factories.make_engagement(client=shared_client)
    client.force_login(lead)

    # When the home page renders, then it costs the same few queries at any size:
    # session, user, clients for the filter, engagements with their clients
    with django_assert_num_queries(5):
        response = client.get(reverse("engagement_list"))
    assert len(response.context["engagements"]) == count


# --- the engagement list's filters ----------------------------------------------------------------------


def test_engagement_list_filters_by_status_and_client_and_links_each_row(client, world):
    # Given a practice lead, and the sibling engagement put on hold
    Engagement.objects.filter(pk=world.sibling.engagement.pk).update(status=Engagement.Status.ON_HOLD)
    client.force_login(world.practice_lead)

    # When they filter by client A, then by client A and active
    by_client = client.get(reverse("engagement_list"), {"client": world.client_a.pk})
    by_both = client.get(reverse("engagement_list"), {"client": world.client_a.pk, "status": "active"})

    # Then each shows the matching engagements, linked to their pages
    assert {e.code for e in by_client.context["engagements"]} == {"EHR-A", "DATA-A"}
    assert {e.code for e in by_both.context["engagements"]} == {"EHR-A"}
    assert reverse("engagement_detail", args=[world.mine.engagement.pk]) in by_both.content.decode()


def test_engagement_list_is_paged_in_a_stable_order_with_filters_kept(client, world):
    # Given more engagements of one client than a page holds, two of them with the same name
    size = ENGAGEMENT_LIST_PAGE_SIZE
    lead = factories.consultant()
    crowded = factories.make_client(name="Aaa Crowded Client")
    made = [
        factories.make_engagement(client=crowded, lead=lead, name=f"Rollout {n:03d}") for n in range(size + 1)
    ]
    made.append(factories.make_engagement(client=crowded, lead=lead, name="Rollout 000"))
    client.force_login(world.practice_lead)

    # When the practice lead reads the client's engagements page by page
    first = client.get(reverse("engagement_list"), {"client": crowded.pk})
    second = client.get(reverse("engagement_list"), {"client": crowded.pk, "page": 2})

    # Then each engagement shows exactly once, in name order, the same name ordered by creation
    shown = [e.pk for e in first.context["engagements"]] + [e.pk for e in second.context["engagements"]]
    expected = sorted(made, key=lambda e: (e.name, e.pk))
    assert shown == [e.pk for e in expected]
    assert len(first.context["engagements"]) == size

    # And the links between the pages keep the filter
    assert f'href="?client={crowded.pk}&amp;page=2"' in first.content.decode()
    assert f'href="?client={crowded.pk}&amp;page=1"' in second.content.decode()
    assert 'rel="next"' not in second.content.decode()


def test_engagement_list_offers_only_clients_in_scope(client, world):
    # Given a consultant on client A's engagement only
    client.force_login(world.consultant)

    # When they open the list, and when they ask for client B's engagements by id
    page = client.get(reverse("engagement_list"))
    forced = client.get(reverse("engagement_list"), {"client": world.client_b.pk})

    # Then client B is never offered nor listed
    assert "Contoso Manufacturing" not in page.content.decode()
    assert "ERP-B" not in forced.content.decode()


# --- the overview ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "can_edit", "owns"),
    [
        ("administrator", True, True),
        ("practice_lead", True, True),
        ("engagement_lead", True, True),
        ("consultant", True, False),
        ("client_pmo_lead", False, False),
    ],
)
def test_overview_shows_header_team_milestones_changes_and_obligations(client, world, role, can_edit, owns):
    # Given a user of each role who sees engagement "mine", with an undecided change owed to its sponsor
    client.force_login(world.users()[role])

    # When they open the overview
    response = client.get(reverse("engagement_detail", args=[world.mine.engagement.pk]))

    # Then it shows client, team, the open milestone, the open change and (to the firm) who must be told,
    # the change request button to those who may edit, and the health form only to its owners
    body = response.content.decode()
    assert response.status_code == 200
    assert "Northwind Health" in body
    assert world.lead.get_full_name() in body
    assert "Engagement lead" in body
    assert "Go-live" in body
    assert world.mine.change_request.title in body
    firm = role != "client_pmo_lead"
    assert (world.mine.stakeholder.name in body) is firm
    assert ("1 open obligation" in body) is firm
    assert (reverse("engagement_health", args=[world.mine.engagement.pk]) in body) is owns
    assert (reverse("change_request_create", args=[world.mine.engagement.pk]) in body) is can_edit


@pytest.mark.parametrize(("role", "shown"), [("engagement_lead", True), ("client_pmo_lead", False)])
def test_overview_shows_the_firm_whose_public_holidays_count(client, world, role, shown):
    # Given engagement "mine" counted in Bavaria
    Engagement.objects.filter(pk=world.mine.engagement.pk).update(holiday_subdivision="BY")
    client.force_login(world.users()[role])

    # When they open the overview
    response = client.get(reverse("engagement_detail", args=[world.mine.engagement.pk]))

    # Then the firm sees the country and region; the client's users do not
    body = response.content.decode()
    assert response.status_code == 200
    assert ("<dt>Public holidays</dt>" in body and ">DE · BY</a></dd>" in body) is shown


def _health(client, engagement, **data):
    engagement.refresh_from_db()
    values = {"seen_updated_at": engagement.updated_at.isoformat(), "until": _next_week().isoformat()}
    values.update(data)
    return client.post(reverse("engagement_health", args=[engagement.pk]), values)


def test_overriding_health_needs_a_reason_and_keeps_what_was_typed(client, world):
    # Given the engagement lead
    client.force_login(world.lead)
    engagement = world.mine.engagement

    # When they override to red without a reason
    response = _health(client, engagement, health="red", reason="")

    # Then the error sits beside the reason, red stays chosen, and nothing is saved
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["health_form"].errors["reason"]
    assert '<option value="red" selected>' in body
    engagement.refresh_from_db()
    assert engagement.health_override == ""


def test_overriding_and_returning_to_computed_health(client, world):
    # Given the engagement lead
    client.force_login(world.lead)
    engagement = world.mine.engagement

    # When they override to amber with a reason, then choose the computed health again
    overridden = _health(client, engagement, health="amber", reason="Sponsor is **on leave**")
    engagement.refresh_from_db()
    state_after_override = (engagement.health_override, engagement.health_override_reason)
    page = client.get(reverse("engagement_detail", args=[engagement.pk])).content.decode()
    cleared = _health(client, engagement, health="", reason="")
    engagement.refresh_from_db()

    # Then the override showed with its reason as safe Markdown, and is gone afterwards
    assert overridden.status_code == 302
    assert state_after_override == ("amber", "Sponsor is **on leave**")
    assert "<strong>on leave</strong>" in page
    assert "overridden" in page
    assert cleared.status_code == 302
    assert engagement.health_override == ""


def test_a_stale_health_override_is_refused_with_a_clear_message(client, world):
    # Given two editors who opened the overview at the same time
    client.force_login(world.lead)
    engagement = world.mine.engagement
    seen = engagement.updated_at.isoformat()
    services.engagement_override_health(
        actor=world.practice_lead, engagement=engagement, health="red", reason="Late", until=_next_week()
    )

    # When the lead saves based on what they saw before the practice lead's change
    response = client.post(
        reverse("engagement_health", args=[engagement.pk]),
        {"health": "green", "reason": "All fine", "until": _next_week().isoformat(), "seen_updated_at": seen},
    )

    # Then the save is refused with the stale message, the practice lead's red stays, the lead's text is kept
    body = response.content.decode()
    assert response.status_code == 200
    assert "Someone else changed this" in body
    assert "All fine" in body
    engagement.refresh_from_db()
    assert engagement.health_override == "red"


def test_health_override_by_htmx_answers_with_the_section_only(client, world):
    # Given the engagement lead using htmx
    client.force_login(world.lead)
    engagement = world.mine.engagement

    # When they save an override through htmx
    response = client.post(
        reverse("engagement_health", args=[engagement.pk]),
        {
            "health": "amber",
            "reason": "Budget pressure",
            "until": _next_week().isoformat(),
            "seen_updated_at": engagement.updated_at.isoformat(),
        },
        HTTP_HX_REQUEST="true",
    )

    # Then the answer is the health section alone, showing the new state,
    # and the header's badges (the facts' and the phone's folded line's) redrawn out of band
    # so the page does not show two colours
    body = response.content.decode()
    assert response.status_code == 200
    assert '<section id="health"' in body
    assert "<html" not in body
    assert "rag-amber" in body
    header = body[body.index('id="header-health"') :]
    assert 'hx-swap-oob="true"' in header[:60] and "rag-amber" in header and "Budget pressure" in header
    assert '<span id="header-health-badge" class="rag rag-amber" hx-swap-oob="true">Amber</span>' in body


def test_a_client_user_cannot_override_health(client, world):
    # Given the client PMO lead
    client.force_login(world.client_user)

    # When they post an override, then it is forbidden and nothing changes
    response = _health(client, world.mine.engagement, health="red", reason="Unhappy")
    assert response.status_code == 403
    world.mine.engagement.refresh_from_db()
    assert world.mine.engagement.health_override == ""


def _make_rows(engagement: Engagement, lead, count: int) -> None:
    sponsor = factories.make_role(engagement=engagement, kind=StakeholderRole.Kind.SPONSOR).stakeholder
    for index in range(count):
        services.milestone_create(
            actor=lead, engagement=engagement, name=f"Milestone {index}", due_on=dt.date(2026, 6, 1)
        )
        change_request = obligations.change_request_record(
            actor=lead,
            engagement=engagement,
            title=f"Change {index}",
            kind=ChangeRequest.Kind.SCOPE,
            raised_on=dt.date(2026, 3, 2),
            notify_stakeholder_ids=[sponsor.pk],
        )
        if index % 3 == 0:
            services.change_request_transition(
                actor=lead, change_request=change_request, to_status="approved", decision="Go ahead"
            )
    factories.make_role(engagement=engagement, kind=StakeholderRole.Kind.PMO_LEAD)


@pytest.mark.parametrize("count", [5, 50])
def test_overview_query_count_does_not_grow_with_rows(client, db, django_assert_num_queries, count):
    # Given an engagement with some milestones, change requests and obligations, and more team members
    lead = factories.consultant()
    members = tuple(factories.consultant() for _ in range(count // 5))
    engagement = factories.make_engagement(lead=lead, members=members)
    _make_rows(engagement, lead, count)
    client.force_login(lead)

    # When the overview renders, then it costs the same queries at any size: session, user, engagement,
    # may-edit, team, milestones, change requests, obligations, obligation summary, open silence flags,
    # the top open risks, the bell's unread count and the header's role
    with django_assert_num_queries(13):
        response = client.get(reverse("engagement_detail", args=[engagement.pk]))
    assert response.status_code == 200


@pytest.mark.parametrize("count", [5, 50])
def test_changes_page_query_count_does_not_grow_with_rows(client, db, django_assert_num_queries, count):
    # Given an engagement with some milestones, change requests (some decided) and obligations
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    _make_rows(engagement, lead, count)
    client.force_login(lead)

    # When the changes page renders, then it costs the same queries at any size: session, user,
    # engagement, change requests, obligations, may-edit, milestones, the bell, the header's role
    with django_assert_num_queries(9):
        response = client.get(reverse("engagement_changes", args=[engagement.pk]))
    assert response.status_code == 200
    assert len(response.context["change_rows"]) == count


# --- milestones -----------------------------------------------------------------------------------------


def test_a_milestone_without_name_or_date_is_refused_with_what_was_typed(client, world):
    # Given the consultant
    client.force_login(world.consultant)
    url = reverse("milestone_create", args=[world.mine.engagement.pk])

    # When they submit a milestone with a description but no name and a mistyped date
    response = client.post(url, {"name": "", "due_on": "31/02/2026", "description": "Cut-over weekend"})

    # Then both errors sit beside their fields, the typed values are kept, nothing is saved
    form = response.context["form"]
    body = response.content.decode()
    assert response.status_code == 200
    assert set(form.errors) == {"name", "due_on"}
    assert "Cut-over weekend" in body
    assert 'value="31/02/2026"' in body
    assert not Milestone.objects.filter(description="Cut-over weekend").exists()


def test_adding_editing_and_completing_a_milestone(client, world):
    # Given the consultant
    client.force_login(world.consultant)
    engagement = world.mine.engagement

    # When they add a milestone, rename it, then mark it complete
    created = client.post(
        reverse("milestone_create", args=[engagement.pk]), {"name": "UAT", "due_on": "2026-05-04"}
    )
    milestone = Milestone.objects.get(engagement=engagement, name="UAT")
    edited = client.post(
        reverse("milestone_edit", args=[milestone.pk]),
        {
            "name": "User acceptance",
            "due_on": "2026-05-11",
            "seen_updated_at": milestone.updated_at.isoformat(),
        },
    )
    completed = client.post(reverse("milestone_complete", args=[milestone.pk]))

    # Then each redirects to the changes page and the milestone reads renamed, re-dated and complete
    assert [r.status_code for r in (created, edited, completed)] == [302, 302, 302]
    milestone.refresh_from_db()
    assert (milestone.name, milestone.due_on) == ("User acceptance", dt.date(2026, 5, 11))
    assert milestone.completed_on is not None


def test_completing_a_milestone_by_htmx_answers_with_its_row(client, world):
    # Given the lead using htmx
    client.force_login(world.lead)

    # When they mark the milestone complete
    response = client.post(
        reverse("milestone_complete", args=[world.mine.milestone.pk]), HTTP_HX_REQUEST="true"
    )

    # Then the answer is the row alone, reading complete
    body = response.content.decode()
    assert body.lstrip().startswith("<tr")
    assert "Complete on" in body


def test_a_stale_milestone_edit_is_refused_and_the_second_save_goes_through(client, world):
    # Given a milestone another editor renamed after the lead opened it
    client.force_login(world.lead)
    milestone = world.mine.milestone
    seen = milestone.updated_at.isoformat()
    services.milestone_update(
        actor=world.consultant, milestone=milestone, name="Go-live weekend", due_on=milestone.due_on
    )
    url = reverse("milestone_edit", args=[milestone.pk])

    # When the lead saves their copy, then saves again from the refused form
    refused = client.post(url, {"name": "Launch", "due_on": "2026-09-01", "seen_updated_at": seen})
    again = refused.context["form"].data.dict()
    accepted = client.post(url, again)

    # Then the first is refused with the message and keeps "Launch"; the deliberate second save applies
    assert "Someone else changed this" in refused.content.decode()
    assert 'value="Launch"' in refused.content.decode()
    assert accepted.status_code == 302
    milestone.refresh_from_db()
    assert milestone.name == "Launch"


def test_changes_page_shows_no_edit_controls_to_a_client_user_and_forbids_their_posts(client, world):
    # Given the client PMO lead
    client.force_login(world.client_user)
    engagement = world.mine.engagement

    # When they open the changes page and try to add, complete and decide
    page = client.get(reverse("engagement_changes", args=[engagement.pk])).content.decode()
    add = client.post(
        reverse("milestone_create", args=[engagement.pk]), {"name": "X", "due_on": "2026-05-04"}
    )
    complete = client.post(reverse("milestone_complete", args=[world.mine.milestone.pk]))
    record = client.post(reverse("change_request_create", args=[engagement.pk]), {"title": "X"})
    decide = client.post(
        reverse("change_request_decide", args=[world.mine.change_request.pk]),
        {"to_status": "withdrawn"},
    )

    # Then the page shows the milestones and changes without controls, and every post is 403
    assert "Go-live" in page and world.mine.change_request.title in page
    assert reverse("milestone_complete", args=[world.mine.milestone.pk]) not in page
    assert reverse("change_request_decide", args=[world.mine.change_request.pk]) not in page
    assert [add.status_code, complete.status_code, record.status_code, decide.status_code] == [403] * 4
    world.mine.milestone.refresh_from_db()
    assert world.mine.milestone.completed_on is None


# --- change requests ------------------------------------------------------------------------------------


def test_record_form_ticks_the_key_stakeholders(client, world):
    # Given "mine", with a sponsor (ticked) and a low-influence team member (not ticked)
    quiet = factories.make_role(
        engagement=world.mine.engagement, kind=StakeholderRole.Kind.TEAM_MEMBER, influence=Scale.LOW
    ).stakeholder
    client.force_login(world.consultant)

    # When the consultant opens the form
    response = client.get(reverse("change_request_create", args=[world.mine.engagement.pk]))

    # Then the sponsor is pre-ticked and the team member offered but not ticked
    form = response.context["form"]
    assert list(form["notify_stakeholders"].value()) == [world.mine.stakeholder.pk]
    assert quiet.name in response.content.decode()


def test_a_change_request_with_non_numeric_impact_is_refused_with_what_was_typed(client, world):
    # Given the consultant
    client.force_login(world.consultant)

    # When they record a change whose budget impact is words
    response = client.post(
        reverse("change_request_create", args=[world.mine.engagement.pk]),
        {
            "title": "Extra interface",
            "kind": "scope",
            "raised_on": "2026-03-05",
            "budget_impact": "about 10k",
            "schedule_impact_days": "5",
            "notify_stakeholders": [world.mine.stakeholder.pk],
        },
    )

    # Then the error is beside the impact, the text is kept, and nothing is saved
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"budget_impact"}
    assert 'value="about 10k"' in response.content.decode()
    assert not ChangeRequest.objects.filter(title="Extra interface").exists()


def test_recording_a_change_opens_obligations_for_the_ticked_people(client, world):
    # Given the consultant and a second stakeholder on "mine"
    other = factories.make_role(
        engagement=world.mine.engagement, kind=StakeholderRole.Kind.TEAM_MEMBER
    ).stakeholder
    client.force_login(world.consultant)

    # When they record a scope change, unticking the sponsor and ticking the other person
    response = client.post(
        reverse("change_request_create", args=[world.mine.engagement.pk]),
        {
            "title": "Extra interface",
            "kind": "scope",
            "raised_on": "2026-03-05",
            "budget_impact": "10000",
            "schedule_impact_days": "5",
            "notify_stakeholders": [other.pk],
        },
    )

    # Then the change is saved as proposed, by them, and exactly the ticked person must be told
    change_request = ChangeRequest.objects.get(title="Extra interface")
    assert response.status_code == 302
    assert (change_request.status, change_request.requested_by) == ("proposed", world.consultant)
    told = set(
        CommunicationObligation.objects.filter(change_request=change_request).values_list(
            "stakeholder", flat=True
        )
    )
    assert told == {other.pk}


def test_rejecting_without_a_decision_text_is_refused(client, world):
    # Given the lead on the decision page
    client.force_login(world.lead)
    change_request = world.mine.change_request

    # When they reject without saying why
    response = client.post(
        reverse("change_request_decide", args=[change_request.pk]),
        {"to_status": "rejected", "decision": " ", "seen_updated_at": change_request.updated_at.isoformat()},
    )

    # Then the error is beside the decision and the request is still proposed
    assert response.status_code == 200
    assert "decision" in response.context["form"].errors
    change_request.refresh_from_db()
    assert change_request.status == "proposed"


def test_approving_records_who_decided_and_when(client, world):
    # Given the lead on the decision page
    client.force_login(world.lead)
    change_request = world.mine.change_request

    # When they approve with a decision text
    response = client.post(
        reverse("change_request_decide", args=[change_request.pk]),
        {
            "to_status": "approved",
            "decision": "Steering committee agreed",
            "seen_updated_at": change_request.updated_at.isoformat(),
        },
    )

    # Then the request is approved, by the lead, with a time and the text; it can no longer be edited
    assert response.status_code == 302
    change_request.refresh_from_db()
    assert (change_request.status, change_request.decided_by) == ("approved", world.lead)
    assert change_request.decided_at is not None
    assert change_request.decision == "Steering committee agreed"
    page = client.get(reverse("change_request_decide", args=[change_request.pk])).content.decode()
    assert "can no longer move" in page


@pytest.mark.parametrize(
    ("start", "to_status", "allowed"),
    [
        ("proposed", "under_review", True),
        ("proposed", "approved", True),
        ("proposed", "withdrawn", True),
        ("under_review", "rejected", True),
        ("under_review", "proposed", False),
        ("approved", "proposed", False),
        ("approved", "rejected", False),
        ("rejected", "approved", False),
        ("withdrawn", "under_review", False),
        ("proposed", "proposed", False),
    ],
)
def test_change_request_transitions_follow_the_table(world, start, to_status, allowed):
    # Given a change request in a starting status
    change_request = world.mine.change_request
    if start != "proposed":
        services.change_request_transition(
            actor=world.lead, change_request=change_request, to_status=start, decision="Agreed"
        )

    # When it is moved
    try:
        services.change_request_transition(
            actor=world.lead, change_request=change_request, to_status=to_status, decision="Agreed"
        )
        moved = True
    except TransitionRefused as refused:
        assert "to_status" in refused.message_dict
        moved = False

    # Then it moves exactly when the table allows it, and the database agrees
    assert moved is allowed
    change_request.refresh_from_db()
    assert change_request.status == (to_status if allowed else start)


def test_a_stale_change_request_edit_is_refused(client, world):
    # Given a change request another editor retitled after the consultant opened it
    client.force_login(world.consultant)
    change_request = world.mine.change_request
    seen = change_request.updated_at.isoformat()
    services.change_request_update(
        actor=world.lead,
        change_request=change_request,
        title="Pharmacy and lab modules",
        kind="scope",
        raised_on=change_request.raised_on,
        budget_impact=60_000,
    )

    # When the consultant saves their copy
    response = client.post(
        reverse("change_request_edit", args=[change_request.pk]),
        {
            "title": "Pharmacy module only",
            "kind": "scope",
            "raised_on": "2026-03-02",
            "budget_impact": "30000",
            "schedule_impact_days": "0",
            "seen_updated_at": seen,
        },
    )

    # Then it is refused with the message and the lead's version stays
    assert "Someone else changed this" in response.content.decode()
    change_request.refresh_from_db()
    assert change_request.title == "Pharmacy and lab modules"


def test_a_decided_change_request_can_no_longer_be_edited(world):
    # Given an approved change request
    change_request = world.mine.change_request
    services.change_request_transition(
        actor=world.lead, change_request=change_request, to_status="approved", decision="Agreed"
    )

    # When someone edits it, then it is refused
    with pytest.raises(ValidationError):
        services.change_request_update(
            actor=world.lead,
            change_request=change_request,
            title="Other",
            kind="scope",
            raised_on=dt.date(2026, 3, 2),
        )


def test_the_edit_form_as_rendered_saves_without_a_stale_refusal(client, world):
    # Given the lead opening the milestone's edit form
    client.force_login(world.lead)
    url = reverse("milestone_edit", args=[world.mine.milestone.pk])
    page = client.get(url).content.decode()
    rendered_seen = re.search(r'name="seen_updated_at" value="([^"]+)"', page)
    assert rendered_seen is not None

    # When they save with the version the page carried
    response = client.post(
        url,
        {
            "name": "Go-live weekend",
            "due_on": "2026-09-05",
            "seen_updated_at": html.unescape(rendered_seen.group(1)),
        },
    )

    # Then the save goes through
    assert response.status_code == 302
    world.mine.milestone.refresh_from_db()
    assert world.mine.milestone.name == "Go-live weekend"


def test_a_change_without_a_stated_impact_reads_none_stated_not_zero(client, world):
    # Given a change request raised without a budget or schedule impact
    engagement = world.mine.engagement
    services.change_request_create(
        actor=world.administrator,
        engagement=engagement,
        title="Extra report for finance",
        kind=ChangeRequest.Kind.SCOPE,
        raised_on=dt.date(2026, 3, 2),
    )
    client.force_login(world.lead)

    # When the lead reads the overview and the changes page
    for name in ("engagement_detail", "engagement_changes"):
        body = client.get(reverse(name, args=[engagement.pk])).content.decode()

        # Then its impact reads as not stated, never as "0 EUR" or "0 days"
        row = body.split("Extra report for finance")[1].split("</tr>")[0]
        assert "none stated" in row, name
        assert f"0 {engagement.currency}" not in row and "0 days" not in row, name


def test_a_closed_engagement_is_listed_without_its_last_health_as_a_flag(client, world):
    # Given the lead's engagement computed red, then closed
    engagement = world.mine.engagement
    Engagement.objects.filter(pk=engagement.pk).update(
        health="red", health_factors=[{"key": "overdue_follow_ups", "label": "Overdue follow-ups"}]
    )
    Engagement.objects.filter(pk=engagement.pk).update(status=Engagement.Status.CLOSED)
    client.force_login(world.lead)

    # When the lead lists the engagements
    page = client.get(reverse("engagement_list")).content.decode()

    # Then its health cell says there is none to act on, with no colour or reason
    row = page.split(f'href="{reverse("engagement_detail", args=[engagement.pk])}"')[1].split("</tr>")[0]
    health = row.split('<td data-label="Health">')[1].split("</td>")[0]
    assert health == '<span class="muted">none: closed</span>'
