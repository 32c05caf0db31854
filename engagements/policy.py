"""Who may do what on an engagement: the policy, declared once as data.

A user's standing towards one engagement (administrator, practice lead, its
lead, a consultant on its team, a user of its client, or none: outside their
scope) decides which actions they may take there. ``POLICY`` names, for every
action, the standings allowed it. Everything else reads it: services call
``engagement_check_can`` (NotFound outside the caller's scope, NotAllowed
inside it), views hand templates ``engagement_permissions`` so a control shows
only to those who may use it, and tests/test_role_matrix.py enumerates every
action against every standing through pages and API.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from accounts.models import User
from engagements.models import Engagement, Membership
from pmaas.errors import NotAllowed, NotFound


class Standing(StrEnum):
    """How a user stands towards one engagement."""

    ADMINISTRATOR = "administrator"
    PRACTICE_LEAD = "practice_lead"
    LEAD = "lead"
    CONSULTANT = "consultant"
    CLIENT = "client"


class Action(StrEnum):
    """What a user may do to an engagement beyond seeing it."""

    # The team's everyday work: stakeholders, the communication plan,
    # check-ins, follow-ups, milestones, recording and editing change requests.
    EDIT_RECORDS = "edit_records"
    OVERRIDE_HEALTH = "override_health"
    # Every status move of a change request: review, approve, reject, withdraw.
    DECIDE_CHANGE_REQUEST = "decide_change_request"
    MANAGE_TEAM = "manage_team"
    # Sign off a sponsor update's summary, and send one that waited for approval.
    APPROVE_SPONSOR_UPDATE = "approve_sponsor_update"
    # Correct a logged check-in: summary, decisions, attendees, time.
    EDIT_CHECK_IN = "edit_check_in"
    # Remove a check-in that should never have been logged, with a reason.
    DELETE_CHECK_IN = "delete_check_in"


@dataclasses.dataclass(frozen=True)
class Rule:
    """The standings allowed an action; ``author`` also allows a team member who wrote the record."""

    allowed: frozenset[Standing]
    refusal: str
    author: bool = False


_S = Standing
_OWNERS = frozenset({_S.ADMINISTRATOR, _S.PRACTICE_LEAD, _S.LEAD})
_TEAM = _OWNERS | {_S.CONSULTANT}

POLICY: Mapping[Action, Rule] = MappingProxyType(
    {
        Action.EDIT_RECORDS: Rule(_TEAM, "You may view this engagement but not change it."),
        Action.OVERRIDE_HEALTH: Rule(
            _OWNERS, "Only the engagement lead, practice leads and administrators may override its health."
        ),
        Action.DECIDE_CHANGE_REQUEST: Rule(
            _OWNERS,
            "Only the engagement lead, practice leads and administrators may decide on change requests.",
        ),
        Action.MANAGE_TEAM: Rule(
            _OWNERS, "Only the engagement lead, practice leads and administrators may change its team."
        ),
        Action.APPROVE_SPONSOR_UPDATE: Rule(
            _OWNERS,
            "Only the engagement lead, practice leads and administrators may write and approve "
            "a status update's summary.",
        ),
        # Whoever logged a check-in may correct it, as may those who own the engagement.
        Action.EDIT_CHECK_IN: Rule(
            _OWNERS,
            "Only whoever logged this check-in and the engagement lead may edit it.",
            author=True,
        ),
        Action.DELETE_CHECK_IN: Rule(
            _OWNERS, "Only the engagement lead, practice leads and administrators may delete a check-in."
        ),
    }
)


def engagement_standing(*, user: Any, engagement: Engagement) -> Standing | None:
    """The user's standing towards the engagement; None when it lies outside their scope.

    The same rule as ``Engagement.objects.visible_to``, answered for one
    engagement in at most one query.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_administrator:
        return Standing.ADMINISTRATOR
    if user.role == User.Role.PRACTICE_LEAD:
        return Standing.PRACTICE_LEAD
    if user.role == User.Role.CLIENT:
        return Standing.CLIENT if engagement.client_id == user.client_id else None
    role = (
        Membership.objects.filter(engagement_id=engagement.pk, user=user)
        .values_list("role", flat=True)
        .first()
    )
    if role is None:
        return None
    return Standing.LEAD if role == Membership.Role.LEAD else Standing.CONSULTANT


def _allowed(rule: Rule, standing: Standing | None, *, user: Any, author_id: int | None) -> bool:
    if standing in rule.allowed:
        return True
    # The author counts only while still on the team: a client user never writes the firm's records.
    return (
        rule.author
        and standing == Standing.CONSULTANT
        and author_id is not None
        and author_id == getattr(user, "pk", None)
    )


def standing_allows(
    standing: Standing | None, action: Action, *, user: Any, author_id: int | None = None
) -> bool:
    """Whether a user of this standing may take the action on a record ``author_id`` wrote.

    For pages listing many records (a timeline): the standing is read once, each row decided here.
    """
    return _allowed(POLICY[action], standing, user=user, author_id=author_id)


def engagement_permissions(
    *, user: Any, engagement: Engagement, author_id: int | None = None
) -> dict[str, bool]:
    """Every action keyed by name, and whether the user may take it here: what a template reads as ``can``.

    ``author_id``: who wrote the record the page is about (a check-in), for the actions its author may take.
    """
    standing = engagement_standing(user=user, engagement=engagement)
    return {
        action.value: _allowed(rule, standing, user=user, author_id=author_id)
        for action, rule in POLICY.items()
    }


def engagement_can(
    *, user: Any, engagement: Engagement, action: Action, author_id: int | None = None
) -> bool:
    standing = engagement_standing(user=user, engagement=engagement)
    return _allowed(POLICY[action], standing, user=user, author_id=author_id)


def engagement_check_can(
    *, user: Any, engagement: Engagement, action: Action, author_id: int | None = None
) -> None:
    """NotFound outside the user's scope; NotAllowed when the policy refuses them the action."""
    standing = engagement_standing(user=user, engagement=engagement)
    if standing is None:
        raise NotFound("No such engagement.")
    rule = POLICY[action]
    if not _allowed(rule, standing, user=user, author_id=author_id):
        raise NotAllowed(rule.refusal)
