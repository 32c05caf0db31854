"""Every action of the policy, every role: allowed or 403 through pages and API, control shown if allowed.

The actions are read from engagements.policy.POLICY, so an action declared
without probes here fails test_every_action_has_probes. Each probe acts on
engagement "mine", which every role sees: 404 is the route matrix's concern
(tests/test_route_matrix.py), this one is about what a role may do where it
may look.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as WebClient
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from communications.models import CheckIn, Delivery, RaidItem
from engagements.models import ChangeRequest, Engagement, Membership, Milestone
from engagements.policy import POLICY, Action, Standing, engagement_standing
from engagements.services import membership_add
from tests import factories
from tests.factories import World

STANDING_OF_ROLE = {
    "administrator": Standing.ADMINISTRATOR,
    "practice_lead": Standing.PRACTICE_LEAD,
    "engagement_lead": Standing.LEAD,
    "consultant": Standing.CONSULTANT,
    "client_pmo_lead": Standing.CLIENT,
}
ROLES = tuple(STANDING_OF_ROLE)

# What DESIGN.md, "Roles and what they may see", promises: the policy must say the same.
OWNERS = {"administrator", "practice_lead", "engagement_lead"}
PROMISED = {
    Action.EDIT_RECORDS: OWNERS | {"consultant"},
    Action.OVERRIDE_HEALTH: OWNERS,
    Action.DECIDE_CHANGE_REQUEST: OWNERS,
    Action.MANAGE_TEAM: OWNERS,
    Action.APPROVE_SPONSOR_UPDATE: OWNERS,
    # The world's check-in was logged by nobody in the cast: only the owners may correct or delete it.
    # Its author may edit it too (tests/communications/test_views_corrections.py).
    Action.EDIT_CHECK_IN: OWNERS,
    Action.DELETE_CHECK_IN: OWNERS,
}

# A page that did what was asked redirects (POST-redirect-GET); the API answers with the result.
PAGE_DONE = {302}
API_DONE = {200, 201, 204}


@dataclasses.dataclass
class Cast:
    """The world, plus a spare member who owns nothing and a newcomer of the firm not yet on the team.

    And an open assumption and an open issue on engagement "mine" beside the world's risk, all shared
    with the client, so a client user sees each RAID action refused rather than the item missing.
    """

    world: World
    spare: Membership
    newcomer: User
    assumption: RaidItem
    issue: RaidItem

    @property
    def engagement(self) -> Engagement:
        return self.world.mine.engagement

    @property
    def change_request(self) -> ChangeRequest:
        return self.world.mine.change_request

    def consultant_membership(self) -> Membership:
        return self.engagement.memberships.get(user=self.world.consultant)


@dataclasses.dataclass(frozen=True)
class Probe:
    """How to attempt one action through a page and through the API, and how to tell it happened.

    ``page`` and ``api`` return the status of every request they made;
    ``control`` is the page that offers the action and the URL its control
    posts to (or links to), present exactly for those allowed.
    """

    page: Callable[[WebClient, Cast], list[int]]
    api: Callable[[WebClient, Cast], list[int]]
    happened: Callable[[Cast], bool]
    control: Callable[[Cast], tuple[str, str]]
    # False when the pages are about what pmaas/sharing.py never shares with a client (sponsor
    # updates): to a client user they do not exist, so page and action answer 404, not 403.
    client_sees_pages: bool = True


def _seen(row: Any) -> str:
    row.refresh_from_db()
    return str(row.updated_at.isoformat())


def _api(client: WebClient, method: str, url: str, body: dict[str, Any] | None = None) -> int:
    return getattr(client, method)(url, body or {}, content_type="application/json").status_code


# --- edit records: the team's everyday work, the RAID log's actions among it ------------------------------

RECORDED = "Cut-over rehearsal"


def _review(cast: Cast) -> dict[str, Any]:
    next_review = timezone.now().date() + dt.timedelta(days=14)
    return {"likelihood": 4, "impact": 5, "trend": "rising", "next_review_on": next_review.isoformat()}


# The cast's issue is internal, so its change request is given a title of its own, for the client.
CHANGE_TITLE = "Extra interface work"


def _to_change_request() -> dict[str, Any]:
    return {"title": CHANGE_TITLE, "kind": "scope", "budget_impact": "1500.00", "schedule_impact_days": 5}


def _records_page(client: WebClient, cast: Cast) -> list[int]:
    risk = cast.world.mine.raid_item
    return [
        client.post(
            reverse("milestone_create", args=[cast.engagement.pk]), {"name": RECORDED, "due_on": "2026-08-03"}
        ).status_code,
        client.post(reverse("raid_risk_review", args=[risk.pk]), _review(cast)).status_code,
        client.post(
            reverse("raid_assumption_validate", args=[cast.assumption.pk]), {"holds": "no"}
        ).status_code,
        client.post(
            reverse("raid_issue_to_change_request", args=[cast.issue.pk]), _to_change_request()
        ).status_code,
        client.post(reverse("raid_item_transition", args=[risk.pk]), {"to_status": "closed"}).status_code,
    ]


def _records_api(client: WebClient, cast: Cast) -> list[int]:
    risk = cast.world.mine.raid_item
    follow_up = {
        "engagement": cast.engagement.pk,
        "title": RECORDED,
        "due_at": (timezone.now() + dt.timedelta(days=3)).isoformat(),
        "owner_user": cast.world.lead.pk,
    }
    return [
        _api(client, "post", reverse("v1:follow-up-list"), follow_up),
        _api(client, "post", reverse("v1:raid-item-review", args=[risk.pk]), _review(cast)),
        _api(client, "post", reverse("v1:raid-item-validate", args=[cast.assumption.pk]), {"holds": False}),
        _api(
            client, "post", reverse("v1:raid-item-change-request", args=[cast.issue.pk]), _to_change_request()
        ),
        _api(client, "post", reverse("v1:raid-item-transition", args=[risk.pk]), {"to_status": "closed"}),
    ]


def _records_happened(cast: Cast) -> bool:
    risk = RaidItem.objects.get(pk=cast.world.mine.raid_item.pk)
    assumption = RaidItem.objects.get(pk=cast.assumption.pk)
    issue = RaidItem.objects.get(pk=cast.issue.pk)
    changes = (
        Milestone.objects.filter(name=RECORDED).exists()
        or cast.engagement.follow_ups.filter(title=RECORDED).exists(),
        (risk.likelihood, risk.impact, risk.trend) == (4, 5, "rising") and risk.last_reviewed_at is not None,
        risk.status == RaidItem.Status.CLOSED,
        (assumption.status, assumption.validation) == (RaidItem.Status.CLOSED, "failed"),
        issue.became_change_request is not None
        and issue.became_change_request.title == CHANGE_TITLE
        and issue.became_change_request.schedule_impact_days == 5,
    )
    assert len(set(changes)) == 1, f"only some of the records changed: {changes}"
    return changes[0]


# --- health override ------------------------------------------------------------------------------------


def _health_page(client: WebClient, cast: Cast) -> list[int]:
    url = reverse("engagement_health", args=[cast.engagement.pk])
    body = {
        "health": "red",
        "reason": "Sponsor left",
        "until": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
        "seen_updated_at": _seen(cast.engagement),
    }
    return [client.post(url, body).status_code]


def _health_api(client: WebClient, cast: Cast) -> list[int]:
    url = reverse("v1:engagement-health-override", args=[cast.engagement.pk])
    body = {
        "health": "red",
        "reason": "Sponsor left",
        "until": (timezone.localdate() + dt.timedelta(days=7)).isoformat(),
        "seen_updated_at": _seen(cast.engagement),
    }
    return [_api(client, "post", url, body)]


def _health_happened(cast: Cast) -> bool:
    cast.engagement.refresh_from_db()
    return cast.engagement.health_override == "red"


# --- change-request decisions ---------------------------------------------------------------------------


def _decide_page(client: WebClient, cast: Cast) -> list[int]:
    url = reverse("change_request_decide", args=[cast.change_request.pk])
    body = {"to_status": "approved", "decision": "Agreed", "seen_updated_at": _seen(cast.change_request)}
    return [client.post(url, body).status_code]


def _decide_api(client: WebClient, cast: Cast) -> list[int]:
    url = reverse("v1:change-request-transition", args=[cast.change_request.pk])
    body = {"to_status": "approved", "decision": "Agreed", "seen_updated_at": _seen(cast.change_request)}
    return [_api(client, "post", url, body)]


def _decide_happened(cast: Cast) -> bool:
    cast.change_request.refresh_from_db()
    return cast.change_request.status == ChangeRequest.Status.APPROVED


# --- a sponsor update's summary and approval ----------------------------------------------------------------


def _held_delivery(cast: Cast) -> Delivery:
    """The world's update of engagement "mine", held at its send time for approval."""
    Delivery.objects.filter(pk=cast.world.mine.delivery.pk).update(held_at=timezone.now())
    return cast.world.mine.delivery


def _approve_page(client: WebClient, cast: Cast) -> list[int]:
    delivery = _held_delivery(cast)
    url = reverse("delivery_approve", args=[cast.engagement.pk, delivery.pk])
    return [client.post(url, {"summary": "The data migration is on track.", "action": "approve"}).status_code]


def _approve_api(client: WebClient, cast: Cast) -> list[int]:
    delivery = _held_delivery(cast)
    url = reverse("v1:delivery-approve", args=[delivery.pk])
    return [_api(client, "post", url, {"summary": "The data migration is on track."})]


def _approve_happened(cast: Cast) -> bool:
    delivery = Delivery.objects.get(pk=cast.world.mine.delivery.pk)
    assert (delivery.approved_at is None) is (delivery.outbox_message_id is None)
    return delivery.outbox_message_id is not None


# --- the team: add, remove, hand over (last, as it may take the actor's own lead role) ---------------------


def _team_page(client: WebClient, cast: Cast) -> list[int]:
    return [
        client.post(
            reverse("team_member_add", args=[cast.engagement.pk]), {"user": cast.newcomer.pk}
        ).status_code,
        client.post(reverse("membership_remove", args=[cast.spare.pk])).status_code,
        client.post(reverse("membership_make_lead", args=[cast.consultant_membership().pk])).status_code,
    ]


def _team_api(client: WebClient, cast: Cast) -> list[int]:
    return [
        _api(
            client,
            "post",
            reverse("v1:membership-list"),
            {"engagement": cast.engagement.pk, "user": cast.newcomer.pk},
        ),
        _api(client, "delete", reverse("v1:membership-detail", args=[cast.spare.pk])),
        _api(client, "post", reverse("v1:membership-make-lead", args=[cast.consultant_membership().pk])),
    ]


def _team_happened(cast: Cast) -> bool:
    team = dict(cast.engagement.memberships.values_list("user", "role"))
    changes = (
        cast.newcomer.pk in team,
        cast.spare.user_id not in team,
        team[cast.world.consultant.pk] == "lead",
    )
    assert len(set(changes)) == 1, f"half of the team changes happened: {changes}"
    return changes[0]


# --- correcting and deleting a check-in ---------------------------------------------------------------------


def _edit_check_in_page(client: WebClient, cast: Cast) -> list[int]:
    check_in = cast.world.mine.check_in
    body = {
        "occurred_at": timezone.localtime(check_in.occurred_at).strftime("%Y-%m-%dT%H:%M"),
        "attendees": [cast.world.mine.stakeholder.pk],
        "summary": "Corrected: the sponsor agreed the plan.",
        "decisions": "",
        "kind": check_in.kind,
        "sentiment": check_in.sentiment,
        "seen_updated_at": _seen(check_in),
    }
    return [client.post(reverse("check_in_edit", args=[check_in.pk]), body).status_code]


def _edit_check_in_happened(cast: Cast) -> bool:
    check_in = cast.world.mine.check_in
    check_in.refresh_from_db()
    return check_in.summary == "Corrected: the sponsor agreed the plan."


def _edit_check_in_api(client: WebClient, cast: Cast) -> list[int]:
    check_in = cast.world.mine.check_in
    body = {"summary": "Corrected: the sponsor agreed the plan.", "seen_updated_at": _seen(check_in)}
    return [_api(client, "patch", reverse("v1:check-in-detail", args=[check_in.pk]), body)]


def _delete_check_in_page(client: WebClient, cast: Cast) -> list[int]:
    url = reverse("check_in_delete", args=[cast.world.mine.check_in.pk])
    return [client.post(url, {"reason": "Logged twice"}).status_code]


def _delete_check_in_api(client: WebClient, cast: Cast) -> list[int]:
    url = reverse("v1:check-in-delete", args=[cast.world.mine.check_in.pk])
    return [_api(client, "post", url, {"reason": "Logged twice"})]


def _delete_check_in_happened(cast: Cast) -> bool:
    return not CheckIn.objects.filter(pk=cast.world.mine.check_in.pk).exists()


PROBES: dict[Action, Probe] = {
    Action.EDIT_CHECK_IN: Probe(
        page=_edit_check_in_page,
        api=_edit_check_in_api,
        happened=_edit_check_in_happened,
        control=lambda cast: (
            reverse("engagement_timeline", args=[cast.engagement.pk]),
            reverse("check_in_edit", args=[cast.world.mine.check_in.pk]),
        ),
    ),
    Action.DELETE_CHECK_IN: Probe(
        page=_delete_check_in_page,
        api=_delete_check_in_api,
        happened=_delete_check_in_happened,
        control=lambda cast: (
            reverse("engagement_timeline", args=[cast.engagement.pk]),
            reverse("check_in_delete", args=[cast.world.mine.check_in.pk]),
        ),
    ),
    Action.APPROVE_SPONSOR_UPDATE: Probe(
        page=_approve_page,
        api=_approve_api,
        happened=_approve_happened,
        control=lambda cast: (
            reverse("delivery_review", args=[cast.engagement.pk, _held_delivery(cast).pk]),
            reverse("delivery_approve", args=[cast.engagement.pk, cast.world.mine.delivery.pk]),
        ),
        client_sees_pages=False,
    ),
    Action.EDIT_RECORDS: Probe(
        page=_records_page,
        api=_records_api,
        happened=_records_happened,
        control=lambda cast: (
            reverse("engagement_changes", args=[cast.engagement.pk]),
            reverse("milestone_create", args=[cast.engagement.pk]),
        ),
    ),
    Action.OVERRIDE_HEALTH: Probe(
        page=_health_page,
        api=_health_api,
        happened=_health_happened,
        control=lambda cast: (
            reverse("engagement_detail", args=[cast.engagement.pk]),
            reverse("engagement_health", args=[cast.engagement.pk]),
        ),
    ),
    Action.DECIDE_CHANGE_REQUEST: Probe(
        page=_decide_page,
        api=_decide_api,
        happened=_decide_happened,
        control=lambda cast: (
            reverse("engagement_changes", args=[cast.engagement.pk]),
            reverse("change_request_decide", args=[cast.change_request.pk]),
        ),
    ),
    Action.MANAGE_TEAM: Probe(
        page=_team_page,
        api=_team_api,
        happened=_team_happened,
        control=lambda cast: (
            reverse("engagement_team", args=[cast.engagement.pk]),
            reverse("membership_remove", args=[cast.spare.pk]),
        ),
    ),
}


@pytest.fixture
def cast(world: World) -> Cast:
    spare = factories.consultant(username="spare")
    membership = membership_add(actor=world.administrator, engagement=world.mine.engagement, user=spare)
    engagement = world.mine.engagement
    return Cast(
        world=world,
        spare=membership,
        newcomer=factories.consultant(username="newcomer"),
        assumption=factories.make_raid_item(
            engagement=engagement, kind="assumption", title="Wards release nurses", shared_with_client=True
        ),
        issue=factories.make_raid_item(
            engagement=engagement, kind="issue", title="Pharmacy feed missing", shared_with_client=True
        ),
    )


def _allowed(action: Action, role: str) -> bool:
    # The world's check-in is nobody's in the cast, so the author rule allows no one more here.
    return STANDING_OF_ROLE[role] in POLICY[action].allowed


def test_every_action_has_probes():
    # Given every action the policy declares
    # Then each is probed here, and nothing is probed that the policy no longer declares
    assert set(PROBES) == set(Action) == set(POLICY)


def test_the_policy_keeps_what_the_design_promises():
    # Given the policy as declared
    # Then each action is allowed to exactly the roles the design gives it
    for action in Action:
        assert {role for role in ROLES if _allowed(action, role)} == PROMISED[action], action


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(Action))
def test_pages_allow_exactly_what_the_policy_allows_and_show_the_control_only_then(
    client: WebClient, cast: Cast, action: Action, role: str
):
    # Given a role that sees engagement "mine"
    client.force_login(cast.world.users()[role])
    probe = PROBES[action]
    allowed = _allowed(action, role)

    # When it opens the page that offers the action, then attempts it
    page_url, control_url = probe.control(cast)
    page = client.get(page_url)
    statuses = probe.page(client, cast)

    # Then the control shows only to those allowed; they get it done, everyone else 403 and nothing changes
    if role == "client_pmo_lead" and not probe.client_sees_pages:
        assert not allowed
        assert (page.status_code, set(statuses)) == (404, {404}), statuses
        assert probe.happened(cast) is False
        return
    assert page.status_code == 200
    assert (control_url in page.content.decode()) is allowed
    if allowed:
        assert set(statuses) <= PAGE_DONE, statuses
    else:
        assert set(statuses) == {403}, statuses
    assert probe.happened(cast) is allowed


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(Action))
def test_the_api_allows_exactly_what_the_policy_allows(
    client: WebClient, cast: Cast, action: Action, role: str
):
    # Given a role that sees engagement "mine"
    client.force_login(cast.world.users()[role])
    probe = PROBES[action]
    allowed = _allowed(action, role)

    # When it attempts the action through the API
    statuses = probe.api(client, cast)

    # Then those allowed get it done, everyone else 403 (404 where the row is not theirs to see)
    # and nothing changes
    if role == "client_pmo_lead" and not probe.client_sees_pages:
        assert not allowed
        assert set(statuses) == {404}, statuses
        assert probe.happened(cast) is False
        return
    if allowed:
        assert set(statuses) <= API_DONE, statuses
    else:
        assert set(statuses) == {403}, statuses
    assert probe.happened(cast) is allowed


def test_a_standing_exists_exactly_where_the_engagement_is_visible(world: World):
    # Given every role and each of the world's engagements
    for role, user in world.users().items():
        for scope in (world.mine, world.sibling, world.other):
            # When the policy places the user towards the engagement
            standing = engagement_standing(user=user, engagement=scope.engagement)

            # Then it has a standing exactly where visible_to shows the engagement, its role's on "mine"
            visible = Engagement.objects.visible_to(user).filter(pk=scope.engagement.pk).exists()
            assert (standing is not None) is visible, (role, scope.engagement.code)
        assert engagement_standing(user=user, engagement=world.mine.engagement) == STANDING_OF_ROLE[role]
