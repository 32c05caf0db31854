from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from communications import obligations, selectors
from communications.models import Channel, CommunicationObligation, FollowUp
from engagements.models import Engagement, Health
from stakeholders.models import StakeholderRole
from tests import factories


def _week(client, user, **params):
    client.force_login(user)
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    return response


def test_my_week_lists_the_channels_i_own_that_are_due_within_seven_days(client, world):
    # Given the lead owns the channel of their engagement, due within the week
    channel = world.mine.channel
    Channel.objects.filter(pk=channel.pk).update(next_due_at=timezone.now() + dt.timedelta(days=3))

    # When the lead, and then the consultant who does not own it, open My week
    as_lead = _week(client, world.lead)
    as_consultant = _week(client, world.consultant)

    # Then only the owner sees it, with a link that logs a check-in against it
    assert [c.pk for c in as_lead.context["channels_due"]] == [channel.pk]
    assert f"{reverse('check_in_create')}?channel={channel.pk}" in as_lead.content.decode()
    assert as_consultant.context["channels_due"] == []


def test_whole_team_toggle_shows_the_team_channels_but_never_other_teams(client, world):
    # Given channels due on the consultant's engagement and on two others
    for scope in (world.mine, world.sibling, world.other):
        Channel.objects.filter(pk=scope.channel.pk).update(next_due_at=timezone.now() + dt.timedelta(days=1))

    # When the consultant asks for the whole team's check-ins
    response = _week(client, world.consultant, scope="team")

    # Then the team's channel is listed and no other team's is
    assert [c.pk for c in response.context["channels_due"]] == [world.mine.channel.pk]


def test_overdue_channels_are_flagged_and_far_ones_left_out(client, world):
    # Given one channel of the lead overdue and another due in ten days
    Channel.objects.filter(pk=world.mine.channel.pk).update(next_due_at=timezone.now() - dt.timedelta(days=2))
    later = factories.make_channel(
        role=factories.make_role(engagement=world.mine.engagement), owner=world.lead
    )
    Channel.objects.filter(pk=later.pk).update(next_due_at=timezone.now() + dt.timedelta(days=10))

    # When the lead opens My week
    response = _week(client, world.lead)

    # Then the overdue one is listed with a badge and the far one is not listed
    assert [c.pk for c in response.context["channels_due"]] == [world.mine.channel.pk]
    assert "Overdue" in response.content.decode()


def test_my_week_lists_my_open_follow_ups_due_soon_or_overdue_only(client, world):
    # Given follow-ups of the consultant: overdue, due soon, due later, done; and one of the lead
    now = timezone.now()
    engagement = world.mine.engagement
    overdue = factories.make_follow_up(
        engagement=engagement, owner_user=world.consultant, title="Overdue", due_at=now - dt.timedelta(days=1)
    )
    soon = factories.make_follow_up(
        engagement=engagement, owner_user=world.consultant, title="Soon", due_at=now + dt.timedelta(days=2)
    )
    factories.make_follow_up(
        engagement=engagement, owner_user=world.consultant, title="Later", due_at=now + dt.timedelta(days=9)
    )
    done = factories.make_follow_up(
        engagement=engagement, owner_user=world.consultant, title="Done", due_at=now + dt.timedelta(days=1)
    )
    FollowUp.objects.filter(pk=done.pk).update(status=FollowUp.Status.DONE, completed_at=now)
    factories.make_follow_up(engagement=engagement, owner_user=world.lead, title="The lead's")

    # When the consultant opens My week
    response = _week(client, world.consultant)

    # Then exactly their open items of the coming week are listed, soonest first, each as its own row
    assert [f.pk for f in response.context["follow_ups"]] == [overdue.pk, soon.pk]
    body = response.content.decode()
    assert f'id="follow-up-{overdue.pk}"' in body
    assert "The lead&#x27;s" not in body and "The lead's" not in body


def test_a_follow_up_completed_from_my_week_without_javascript_returns_to_my_week(client, world):
    # Given a follow-up of the consultant due tomorrow, shown on My week with a complete action
    item = factories.make_follow_up(
        engagement=world.mine.engagement,
        owner_user=world.consultant,
        due_at=timezone.now() + dt.timedelta(days=1),
    )
    complete_url = reverse("follow_up_complete", kwargs={"pk": item.pk})
    page = _week(client, world.consultant)
    assert f'action="{complete_url}"' in page.content.decode()

    # When the consultant completes it with a plain form post
    response = client.post(complete_url, {"next": reverse("home")})

    # Then they are back on My week, where it is no longer listed
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    item.refresh_from_db()
    assert item.status == FollowUp.Status.DONE
    assert item not in _week(client, world.consultant).context["follow_ups"]


def test_a_follow_up_completed_from_my_week_with_htmx_is_swapped_in_place(client, world):
    # Given a follow-up of the consultant on My week
    item = factories.make_follow_up(engagement=world.mine.engagement, owner_user=world.consultant)
    _week(client, world.consultant)

    # When htmx posts its complete action
    response = client.post(
        reverse("follow_up_complete", kwargs={"pk": item.pk}),
        {"next": reverse("home")},
        headers={"HX-Request": "true"},
    )

    # Then only its row comes back, marked done
    body = response.content.decode()
    assert f'<tr id="follow-up-{item.pk}"' in body
    assert "<html" not in body
    assert "Done" in body


def _quiet_ids(user, as_of=None):
    rows = selectors.week_quiet_stakeholders(user=user, as_of=as_of or timezone.now())
    return {row.role.pk for row in rows}


def test_a_stakeholder_without_a_check_in_since_the_channel_passed_is_quiet(world):
    # Given a weekly channel with a stakeholder the consultant owns, last met a month ago
    role = factories.make_role(engagement=world.mine.engagement, relationship_owner=world.consultant)
    factories.make_channel(role=role, owner=world.consultant)
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[role.stakeholder],
        occurred_at=timezone.now() - dt.timedelta(days=30),
    )

    # Then the relationship has gone quiet
    assert _quiet_ids(world.consultant) == {role.pk}


def test_a_stakeholder_met_this_cycle_is_not_quiet(world):
    # Given a weekly channel with a stakeholder the consultant owns, met an hour ago
    role = factories.make_role(engagement=world.mine.engagement, relationship_owner=world.consultant)
    factories.make_channel(role=role, owner=world.consultant)
    factories.make_check_in(engagement=world.mine.engagement, attendees=[role.stakeholder])

    # Then the relationship is on cadence
    assert _quiet_ids(world.consultant) == set()


def test_without_a_channel_thirty_days_of_silence_make_a_stakeholder_quiet(world):
    # Given two stakeholders the consultant owns without a plan: one met 40 days ago, one 10 days ago
    silent = factories.make_role(engagement=world.mine.engagement, relationship_owner=world.consultant)
    recent = factories.make_role(engagement=world.mine.engagement, relationship_owner=world.consultant)
    for role, days in ((silent, 40), (recent, 10)):
        factories.make_check_in(
            engagement=world.mine.engagement,
            attendees=[role.stakeholder],
            occurred_at=timezone.now() - dt.timedelta(days=days),
        )

    # Then only the one silent for more than 30 days is quiet
    assert _quiet_ids(world.consultant) == {silent.pk}


def test_quiet_stakeholders_are_only_those_i_own(client, world):
    # Given a silent stakeholder owned by the lead, and one of the consultant
    theirs = factories.make_role(engagement=world.mine.engagement, relationship_owner=world.lead)
    mine = factories.make_role(engagement=world.mine.engagement, relationship_owner=world.consultant)

    # When the consultant opens My week
    response = _week(client, world.consultant)

    # Then only their own relationship is listed, with a log action for it
    listed = {row.role.pk for row in response.context["quiet"]}
    assert mine.pk in listed
    assert theirs.pk not in listed
    body = response.content.decode()
    assert f"stakeholder={mine.stakeholder_id}" in body
    assert "No channel planned, quiet for over 4 weeks" in body


def test_recent_activity_shows_check_ins_of_my_engagements_only(client, world):
    # Given check-ins on the consultant's engagement and on a sibling team's
    factories.make_check_in(
        engagement=world.mine.engagement,
        attendees=[world.mine.stakeholder],
        summary="Mine <script>x</script>",
    )
    factories.make_check_in(
        engagement=world.sibling.engagement, attendees=[world.sibling.stakeholder], summary="Sibling secret"
    )

    # When the consultant opens My week
    response = _week(client, world.consultant)

    # Then only their engagement's check-ins are listed, and user text is shown as text
    engagements = {c.engagement_id for c in response.context["recent"]}
    assert engagements == {world.mine.engagement.pk}
    body = response.content.decode()
    assert "Sibling secret" not in body
    assert "<script>x</script>" not in body
    assert "&lt;script&gt;" in body


def test_a_client_pmo_lead_sees_what_their_people_owe_and_their_clients_engagements(client, world):
    # Given the client PMO lead owns the follow-up of the first engagement through their stakeholder record
    response = _week(client, world.client_user)

    # Then they see what their organisation's people owe and its engagements, and no planning sections
    dashboard = response.context["dashboard"]
    assert {f.pk for f in dashboard.follow_ups.rows} == {world.mine.follow_up.pk, world.sibling.follow_up.pk}
    assert {e.code for e in dashboard.engagements.rows} == {"EHR-A", "DATA-A"}
    body = response.content.decode()
    assert "ERP-B" not in body
    assert "Check-ins due" not in body
    assert "obligations" not in response.context
    assert "Who must be told" not in body
    assert reverse("follow_up_complete", kwargs={"pk": world.mine.follow_up.pk}) in body


def _obligation_ids(response) -> list[int]:
    return [o.pk for o in response.context["obligations"]]


def test_my_week_lists_the_obligations_i_answer_for_with_a_link_to_tell_the_person(client, world):
    # Given the lead owns the relationship with the sponsor who must hear about a change on "mine"
    obligation = world.mine.obligation

    # When the lead, the consultant on the same team and the other teams' lead open My week
    as_lead = _week(client, world.lead)
    as_consultant = _week(client, world.consultant)
    as_outsider = _week(client, world.outsider_consultant)

    # Then only the lead sees it, with a link to log a check-in with that person on that engagement
    assert _obligation_ids(as_lead) == [obligation.pk]
    link = (
        f"{reverse('check_in_create')}?engagement={obligation.engagement_id}"
        f"&amp;stakeholder={obligation.stakeholder_id}"
    )
    body = as_lead.content.decode()
    assert link in body
    assert "Log check-in with this person" in body
    assert world.mine.change_request.title in body
    assert _obligation_ids(as_consultant) == []
    assert obligation.pk not in _obligation_ids(as_outsider)


def test_overdue_obligations_come_first_and_met_or_waived_ones_are_gone(client, world):
    # Given the lead answers for three more people: one overdue, one due later, one already waived
    now = timezone.now()
    change_request = world.mine.change_request
    people = [
        factories.make_role(engagement=world.mine.engagement, relationship_owner=world.lead).stakeholder
        for _ in range(3)
    ]
    overdue, later, waived = (
        obligations.obligation_add(actor=world.lead, change_request=change_request, stakeholder=person)
        for person in people
    )
    CommunicationObligation.objects.filter(pk=overdue.pk).update(deadline=now - dt.timedelta(days=2))
    CommunicationObligation.objects.filter(pk=world.mine.obligation.pk).update(
        deadline=now + dt.timedelta(days=1)
    )
    CommunicationObligation.objects.filter(pk=later.pk).update(deadline=now + dt.timedelta(days=20))
    obligations.obligation_waive(actor=world.lead, obligation=waived, reason="Told at the board")

    # When the lead opens My week
    response = _week(client, world.lead)

    # Then the overdue one leads, marked overdue, the others follow by deadline, the waived one is gone
    assert _obligation_ids(response) == [overdue.pk, world.mine.obligation.pk, later.pk]
    assert [o.is_overdue for o in response.context["obligations"]] == [True, False, False]
    row = response.content.decode().split(f'id="obligation-{overdue.pk}"')[1].split("</tr>")[0]
    assert "Overdue" in row


def test_an_obligation_nobody_owns_falls_to_the_engagement_lead(client, world):
    # Given a person on "mine" with neither a relationship owner nor a planned channel, who must be told
    person = factories.make_role(engagement=world.mine.engagement).stakeholder
    unowned = obligations.obligation_add(
        actor=world.lead, change_request=world.mine.change_request, stakeholder=person
    )
    assert unowned.channel_id is None

    # When the lead and the consultant open My week
    as_lead = _week(client, world.lead)
    as_consultant = _week(client, world.consultant)

    # Then the lead answers for it and the consultant does not
    assert unowned.pk in _obligation_ids(as_lead)
    assert _obligation_ids(as_consultant) == []


def test_a_check_in_with_the_person_takes_the_obligation_off_my_week(client, world):
    # Given the lead's open obligation towards the sponsor of "mine"
    obligation = world.mine.obligation

    # When a check-in with the sponsor is logged now (not the factory's hour ago, which in the
    # client's first hour of the day is yesterday there, before the obligation was opened)
    factories.make_check_in(
        engagement=obligation.engagement,
        attendees=[world.mine.stakeholder],
        actor=world.lead,
        occurred_at=timezone.now(),
    )

    # Then it is no longer on the lead's week
    assert _obligation_ids(_week(client, world.lead)) == []


def _fill_week(world, start: int, count: int) -> None:
    """``count`` more rows in every section of the lead's week."""
    engagement = world.mine.engagement
    now = timezone.now()
    for n in range(start, start + count):
        role = factories.make_role(
            engagement=engagement, relationship_owner=world.lead, kind=StakeholderRole.Kind.BUSINESS_LEADER
        )
        factories.make_channel(role=role, owner=world.lead, title=f"Channel {n}")
        factories.make_follow_up(
            engagement=engagement, owner_user=world.lead, title=f"Item {n}", due_at=now + dt.timedelta(days=1)
        )
        obligations.obligation_add(
            actor=world.lead, change_request=world.mine.change_request, stakeholder=role.stakeholder
        )
        factories.make_check_in(
            engagement=engagement,
            attendees=[role.stakeholder],
            occurred_at=now - dt.timedelta(days=40),
            summary=f"Talk {n}",
        )


def test_my_week_query_count_does_not_grow_with_rows(client, world, django_assert_num_queries):
    # Given the lead's week with 5 rows in every section
    _fill_week(world, 0, 5)
    client.force_login(world.lead)
    with CaptureQueriesContext(connection) as small:
        response = client.get(reverse("home"), {"scope": "team"})
    assert len(response.context["channels_due"]) >= 5
    assert len(response.context["quiet"]) >= 5
    assert len(response.context["obligations"]) >= 5

    # When it grows to 50 rows in every section
    _fill_week(world, 5, 45)

    # Then the page takes the same number of queries
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(reverse("home"), {"scope": "team"})
    assert len(response.context["channels_due"]) >= 50
    assert len(response.context["follow_ups"]) >= 50
    assert len(response.context["quiet"]) >= 50
    assert len(response.context["obligations"]) >= 50


def test_engagements_needing_attention_show_the_first_ten_red_first_and_the_rest_on_the_portfolio(
    client, world
):
    # Given eleven amber engagements and one red one on the lead's team, and one red one elsewhere
    ambers = [
        factories.make_engagement(client=world.mine.engagement.client, lead=world.lead, code=f"AMB-{n:02}")
        for n in range(11)
    ]
    red = factories.make_engagement(client=world.mine.engagement.client, lead=world.lead, code="ZZZ-RED")
    elsewhere = factories.make_engagement(client=world.other.engagement.client, code="AAA-RED")
    Engagement.objects.filter(pk__in=[e.pk for e in ambers]).update(health=Health.AMBER)
    Engagement.objects.filter(pk__in=[red.pk, elsewhere.pk]).update(health=Health.RED)

    # When the lead opens My week
    html = _week(client, world.lead).content.decode()

    # Then ten rows show, the red one first, then ambers by code, none from outside the lead's scope
    table = html.split('id="attention"')[1].split("</table>")[0]
    codes = [row.split("</a>")[0].rsplit(">", 1)[1] for row in table.split('<tr id="attention-')[1:]]
    assert codes == ["ZZZ-RED", *[f"AMB-{n:02}" for n in range(9)]]
    assert "AAA-RED" not in html
    # And the rest are a link away, on the portfolio sorted by health
    assert f'href="{reverse("portfolio")}?sort=health"' in html


def test_engagements_needing_attention_fit_on_my_week_without_a_link_when_few(client, world):
    Engagement.objects.filter(pk=world.mine.engagement.pk).update(health=Health.AMBER)

    html = _week(client, world.lead).content.decode()

    assert f'id="attention-{world.mine.engagement.pk}"' in html
    assert "?sort=health" not in html
