"""Taking a member off a team: their work is handed on in the same step, or nothing happens."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from communications.models import Channel, FollowUp
from communications.services import follow_up_complete, membership_remove
from engagements.models import Membership
from pmaas.errors import RuleViolation
from stakeholders.models import StakeholderRole
from tests import factories
from tests.factories import World


def _consultant_owns_work(world: World) -> tuple[FollowUp, FollowUp, Channel]:
    engagement = world.mine.engagement
    open_item = factories.make_follow_up(
        engagement=engagement, owner_user=world.consultant, title="Open item"
    )
    done_item = factories.make_follow_up(
        engagement=engagement, owner_user=world.consultant, title="Done item"
    )
    follow_up_complete(actor=world.consultant, follow_up=done_item)
    channel = factories.make_channel(role=world.mine.role, owner=world.consultant, title="Steering")
    StakeholderRole.objects.filter(pk=world.mine.role.pk).update(relationship_owner=world.consultant)
    return open_item, done_item, channel


def _owners(*rows: Any) -> list[Any]:
    owners = []
    for row in rows:
        row.refresh_from_db()
        owners.append(row.owner_user if isinstance(row, FollowUp) else row.owner)
    return owners


def test_a_member_leaves_with_their_open_work_handed_on_and_their_history_kept(world: World) -> None:
    # Given the consultant owning an open and a done follow-up, a channel and a relationship
    open_item, done_item, channel = _consultant_owns_work(world)
    membership = world.mine.engagement.memberships.get(user=world.consultant)

    # When the lead takes them off the team, handing their work to the lead
    membership_remove(actor=world.lead, membership=membership, reassign_to=world.lead)

    # Then they are off the team; open item, channel, relationship are the lead's; the done item stays theirs
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert _owners(open_item, channel, done_item) == [world.lead, world.lead, world.consultant]
    assert StakeholderRole.objects.get(pk=world.mine.role.pk).relationship_owner == world.lead


@pytest.mark.parametrize("reassign", ["nobody", "themselves", "outsider"])
def test_a_member_with_work_is_not_removed_without_another_member_to_take_it(
    world: World, reassign: str
) -> None:
    # Given the consultant owning work on "mine"
    open_item, _, channel = _consultant_owns_work(world)
    membership = world.mine.engagement.memberships.get(user=world.consultant)
    target = {"nobody": None, "themselves": world.consultant, "outsider": world.outsider_consultant}[reassign]

    # When the lead removes them handing the work to nobody, to themselves or to someone off the team
    with pytest.raises(ValidationError) as refused:
        membership_remove(actor=world.lead, membership=membership, reassign_to=target)

    # Then it is refused under "reassign_to" and nothing at all changed
    assert "reassign_to" in refused.value.message_dict
    assert Membership.objects.filter(pk=membership.pk).exists()
    assert _owners(open_item, channel) == [world.consultant, world.consultant]


def test_the_lead_is_not_removed(world: World) -> None:
    # Given the lead's membership of "mine"
    # When a practice lead removes it, then it is refused and the lead stays
    with pytest.raises(RuleViolation):
        membership_remove(
            actor=world.practice_lead, membership=world.mine.membership, reassign_to=world.consultant
        )
    assert Membership.objects.filter(pk=world.mine.membership.pk, role="lead").exists()


def test_the_api_removes_a_member_with_the_work_handed_to_reassign_to(client, world: World) -> None:
    # Given the consultant owning work, and the lead using the API
    open_item, _, channel = _consultant_owns_work(world)
    membership = world.mine.engagement.memberships.get(user=world.consultant)
    client.force_login(world.lead)
    url = reverse("v1:membership-detail", args=[membership.pk])

    # When the lead deletes the membership without naming anyone, then naming themselves
    refused = client.delete(url)
    removed = client.delete(f"{url}?reassign_to={world.lead.pk}")

    # Then the first is 400 under reassign_to and changes nothing, the second removes and hands on
    assert refused.status_code == 400
    assert "reassign_to" in refused.json()
    assert removed.status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert _owners(open_item, channel) == [world.lead, world.lead]


def test_the_api_refuses_a_second_lead_and_hands_the_role_over_instead(client, world: World) -> None:
    # Given the lead of "mine" using the API, and a newcomer of the firm
    client.force_login(world.lead)
    newcomer = factories.consultant()
    body = {"engagement": world.mine.engagement.pk, "user": newcomer.pk, "role": "lead"}

    # When they add the newcomer as a second lead, then as a consultant, then make them lead
    second_lead = client.post(reverse("v1:membership-list"), body, content_type="application/json")
    added = client.post(
        reverse("v1:membership-list"), {**body, "role": "consultant"}, content_type="application/json"
    )
    handed = client.post(reverse("v1:membership-make-lead", args=[added.json()["id"]]))

    # Then the second lead is refused under role; the newcomer joins, then leads; the old lead is a consultant
    assert second_lead.status_code == 400
    assert "role" in second_lead.json()
    assert (added.status_code, handed.status_code) == (201, 200)
    assert handed.json()["role"] == "lead"
    team = dict(world.mine.engagement.memberships.values_list("user", "role"))
    assert (team[newcomer.pk], team[world.lead.pk]) == ("lead", "consultant")
