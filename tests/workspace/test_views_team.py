"""The team page: who is on an engagement, and the lead adding, removing and handing over."""

from __future__ import annotations

import pytest
from django.urls import reverse

from communications.models import Channel, FollowUp
from engagements.models import Membership
from engagements.services import membership_add
from stakeholders.models import StakeholderRole
from tests import factories


def _team(engagement) -> dict[str, str]:
    return {membership.user.username: membership.role for membership in engagement.memberships.all()}


def test_the_team_page_lists_members_lead_first_and_offers_only_firm_users_not_yet_on_it(client, world):
    # Given the lead of engagement "mine", and a consultant of the firm on no team
    client.force_login(world.lead)
    newcomer = factories.consultant(username="newcomer", first_name="Nia", last_name="Newcomer")

    # When they open the team page
    response = client.get(reverse("engagement_team", args=[world.mine.engagement.pk]))

    # Then it lists the lead first, then the consultant, each with their role,
    # and offers to add the newcomer, but not a client user nor anyone already on the team
    body = response.content.decode()
    assert response.status_code == 200
    assert [m.user for m in response.context["team"]] == [world.lead, world.consultant]
    assert "Engagement lead" in body and "Consultant" in body
    offered = set(response.context["add_form"].fields["user"].queryset)
    assert newcomer in offered
    assert not offered & {world.client_user, world.lead, world.consultant}


def test_adding_someone_not_offered_is_refused_beside_the_field(client, world):
    # Given the lead on the team page
    client.force_login(world.lead)

    # When they post the client user, whom the page never offered
    response = client.post(
        reverse("team_member_add", args=[world.mine.engagement.pk]), {"user": world.client_user.pk}
    )

    # Then the page shows the error beside the person, and the team is unchanged
    assert response.status_code == 200
    assert response.context["add_form"].errors["user"]
    assert _team(world.mine.engagement) == {"lead": "lead", "consultant": "consultant"}


def test_adding_a_member_joins_them_as_consultant(client, world):
    # Given the lead and a consultant of the firm on no team
    client.force_login(world.lead)
    newcomer = factories.consultant(username="newcomer")

    # When the lead adds them
    response = client.post(reverse("team_member_add", args=[world.mine.engagement.pk]), {"user": newcomer.pk})

    # Then they are back on the team page, and the newcomer is a consultant on the team
    assert response.status_code == 302
    assert response["Location"] == reverse("engagement_team", args=[world.mine.engagement.pk])
    assert _team(world.mine.engagement)["newcomer"] == "consultant"


def test_handing_over_the_lead_demotes_the_old_lead_who_then_sees_no_controls(client, world):
    # Given the lead on the team page
    client.force_login(world.lead)
    engagement = world.mine.engagement
    consultant_membership = engagement.memberships.get(user=world.consultant)

    # When they make the consultant lead, then open the team page again
    response = client.post(reverse("membership_make_lead", args=[consultant_membership.pk]))
    page = client.get(reverse("engagement_team", args=[engagement.pk])).content.decode()

    # Then the consultant leads, the old lead is a consultant, and the page offers them nothing to change
    assert response.status_code == 302
    assert _team(engagement) == {"consultant": "lead", "lead": "consultant"}
    assert reverse("team_member_add", args=[engagement.pk]) not in page
    assert reverse("membership_make_lead", args=[world.mine.membership.pk]) not in page


def test_the_lead_cannot_be_removed_before_handing_over(client, world):
    # Given a practice lead, and the lead's membership of engagement "mine"
    client.force_login(world.practice_lead)
    lead_membership = world.mine.membership

    # When they open the removal page of the lead and post it anyway
    page = client.get(reverse("membership_remove", args=[lead_membership.pk])).content.decode()
    response = client.post(reverse("membership_remove", args=[lead_membership.pk]))

    # Then the page says to hand over first, the post is refused with that reason, and the lead stays
    assert "Make another member lead first" in page
    assert response.status_code == 200
    assert "hand the lead role to another member first" in response.content.decode()
    assert _team(world.mine.engagement)["lead"] == "lead"


def _owning_everything(world):
    """The consultant of "mine" as owner of an open follow-up, a channel and a relationship."""
    engagement = world.mine.engagement
    follow_up = factories.make_follow_up(engagement=engagement, owner_user=world.consultant)
    channel = factories.make_channel(
        role=world.mine.role, owner=world.consultant, title="Fortnightly steering"
    )
    StakeholderRole.objects.filter(pk=world.mine.role.pk).update(relationship_owner=world.consultant)
    return follow_up, channel


def test_removing_a_member_who_owns_work_asks_who_takes_it_over_and_changes_nothing_until_then(client, world):
    # Given the consultant owning a follow-up, a channel and a relationship on "mine"
    follow_up, channel = _owning_everything(world)
    membership = world.mine.engagement.memberships.get(user=world.consultant)
    client.force_login(world.lead)

    # When the lead opens the removal page, then takes them off without choosing anyone
    page = client.get(reverse("membership_remove", args=[membership.pk]))
    response = client.post(reverse("membership_remove", args=[membership.pk]), {"reassign_to": ""})

    # Then the page named what they own, the refusal sits beside "reassign to", and nothing changed
    assert "1 open follow-up, 1 channel and 1 relationship" in page.content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors["reassign_to"]
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert FollowUp.objects.get(pk=follow_up.pk).owner_user == world.consultant
    assert Channel.objects.get(pk=channel.pk).owner == world.consultant


def test_removing_a_member_hands_all_their_work_to_the_chosen_member(client, world):
    # Given the consultant owning a follow-up, a channel and a relationship on "mine"
    follow_up, channel = _owning_everything(world)
    membership = world.mine.engagement.memberships.get(user=world.consultant)
    client.force_login(world.lead)

    # When the lead takes them off and hands their work to themselves
    response = client.post(reverse("membership_remove", args=[membership.pk]), {"reassign_to": world.lead.pk})

    # Then the consultant is off the team, and the lead owns the follow-up, the channel and the relationship
    assert response.status_code == 302
    assert _team(world.mine.engagement) == {"lead": "lead"}
    assert FollowUp.objects.get(pk=follow_up.pk).owner_user == world.lead
    assert Channel.objects.get(pk=channel.pk).owner == world.lead
    assert StakeholderRole.objects.get(pk=world.mine.role.pk).relationship_owner == world.lead
    # And the former member no longer sees the engagement
    client.force_login(world.consultant)
    assert client.get(reverse("engagement_detail", args=[world.mine.engagement.pk])).status_code == 404


@pytest.mark.parametrize("count", [3, 30])
def test_team_page_query_count_does_not_grow_with_the_team(client, db, django_assert_num_queries, count):
    # Given an engagement with a lead and a team of some size, and as many firm users not on it
    lead = factories.consultant()
    engagement = factories.make_engagement(lead=lead)
    admin = factories.administrator()
    for _ in range(count):
        membership_add(actor=admin, engagement=engagement, user=factories.consultant())
        factories.consultant()
    client.force_login(lead)

    # When the team page renders, then it costs the same queries at any size: session, user,
    # engagement, may-do, team, people to add, the notification bell, the header's role
    with django_assert_num_queries(8):
        response = client.get(reverse("engagement_team", args=[engagement.pk]))
    assert response.status_code == 200
    assert len(response.context["team"]) == count + 1
