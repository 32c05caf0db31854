"""Writes to stakeholders and their roles on engagements."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from engagements.models import Client, Engagement, Membership
from engagements.selectors import engagement_check_editable
from pmaas.concurrency import check_unchanged
from pmaas.errors import NotAllowed, NotFound
from pmaas.validation import clean_instance
from search.services import search_documents_refresh
from stakeholders.models import Level, Scale, Stakeholder, StakeholderRole
from stakeholders.selectors import stakeholder_can_edit


@transaction.atomic
def stakeholder_create(
    *,
    actor: Any,
    client: Client,
    name: str,
    email: str = "",
    title: str = "",
    department: str = "",
    phone: str = "",
    time_zone: str = "",
    notes: str = "",
) -> Stakeholder:
    """Record a person at a client. Their time zone defaults to the client's.

    Members of the firm only, at a client they may see (404 otherwise). An
    email address is unique per client whatever its case. Not idempotent.
    """
    if not Client.objects.visible_to(actor).filter(pk=client.pk).exists():
        raise NotFound("No such client.")
    if not getattr(actor, "is_firm_member", False):
        raise NotAllowed("Only members of the firm record stakeholders.")
    errors: dict[str, str] = {}
    if email.strip() and Stakeholder.objects.filter(client=client, email__iexact=email.strip()).exists():
        errors["email"] = "A stakeholder of this client already has this email address."
    stakeholder = Stakeholder(
        client=client,
        name=name.strip(),
        email=email.strip(),
        title=title.strip(),
        department=department.strip(),
        phone=phone.strip(),
        time_zone=time_zone or client.time_zone,
        notes=notes,
    )
    clean_instance(stakeholder, errors)
    stakeholder.save()
    search_documents_refresh(kind="stakeholder", ids=[stakeholder.pk])
    return stakeholder


@transaction.atomic
def stakeholder_add_to_engagement(
    *,
    actor: Any,
    engagement: Engagement,
    stakeholder: Stakeholder,
    kind: str = StakeholderRole.Kind.BUSINESS_LEADER,
    influence: int = Scale.MEDIUM,
    interest: int = Scale.MEDIUM,
    current_level: str = Level.NEUTRAL,
    desired_level: str = Level.SUPPORTIVE,
    relationship_owner: User | None = None,
    notes: str = "",
) -> StakeholderRole:
    """Give a stakeholder a role on an engagement.

    The stakeholder must work for the engagement's client, may hold one role
    per engagement, and the relationship owner must be on the engagement's
    team. Not idempotent: a second role for the same person is refused.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    errors: dict[str, str] = {}
    if stakeholder.client_id != engagement.client_id:
        errors["stakeholder"] = "This person works for another client than the engagement's."
    elif StakeholderRole.objects.filter(engagement=engagement, stakeholder=stakeholder).exists():
        errors["stakeholder"] = "This stakeholder already has a role on this engagement."
    if (
        relationship_owner is not None
        and not Membership.objects.filter(engagement=engagement, user=relationship_owner).exists()
    ):
        errors["relationship_owner"] = "The relationship owner must be on the engagement's team."
    role = StakeholderRole(
        engagement=engagement,
        stakeholder=stakeholder,
        kind=kind,
        influence=influence,
        interest=interest,
        current_level=current_level,
        desired_level=desired_level,
        relationship_owner=relationship_owner,
        notes=notes,
    )
    clean_instance(role, errors)
    role.save()
    return role


def _check_owner_on_team(
    *, engagement: Engagement, relationship_owner: User | None, errors: dict[str, str]
) -> None:
    if (
        relationship_owner is not None
        and not Membership.objects.filter(engagement=engagement, user=relationship_owner).exists()
    ):
        errors["relationship_owner"] = "The relationship owner must be on the engagement's team."


@transaction.atomic
def stakeholder_create_with_role(
    *,
    actor: Any,
    engagement: Engagement,
    name: str,
    email: str = "",
    title: str = "",
    department: str = "",
    phone: str = "",
    time_zone: str = "",
    kind: str = StakeholderRole.Kind.BUSINESS_LEADER,
    influence: int = Scale.MEDIUM,
    interest: int = Scale.MEDIUM,
    current_level: str = Level.NEUTRAL,
    desired_level: str = Level.SUPPORTIVE,
    relationship_owner: User | None = None,
    notes: str = "",
) -> StakeholderRole:
    """Record a new person at the engagement's client and give them a role on it, all or nothing.

    Same rules as stakeholder_create and stakeholder_add_to_engagement; the
    person is not kept when the role is refused. Not idempotent: a second call
    with the same email address is refused.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    errors: dict[str, str] = {}
    _check_owner_on_team(engagement=engagement, relationship_owner=relationship_owner, errors=errors)
    try:
        stakeholder = stakeholder_create(
            actor=actor,
            client=engagement.client,
            name=name,
            email=email,
            title=title,
            department=department,
            phone=phone,
            time_zone=time_zone,
        )
    except ValidationError as exc:
        # Report the person's problems and the role's together, so one submit shows them all.
        combined: dict[str, Any] = dict(errors)
        raise ValidationError(exc.update_error_dict(combined)) from None
    if errors:
        raise ValidationError(errors)
    return stakeholder_add_to_engagement(
        actor=actor,
        engagement=engagement,
        stakeholder=stakeholder,
        kind=kind,
        influence=influence,
        interest=interest,
        current_level=current_level,
        desired_level=desired_level,
        relationship_owner=relationship_owner,
        notes=notes,
    )


@transaction.atomic
def stakeholder_role_update(
    *,
    actor: Any,
    role: StakeholderRole,
    seen_updated_at: datetime | None,
    kind: str,
    influence: int,
    interest: int,
    current_level: str,
    desired_level: str,
    relationship_owner: User | None,
    notes: str = "",
) -> StakeholderRole:
    """Change where a relationship stands: kind, influence, interest, levels, owner, notes.

    Team members of the engagement only (403 for those who may only view). The
    owner must be on the engagement's team. A save based on a copy older than
    the row (``seen_updated_at``) is refused with a ``stale`` error instead of
    overwriting someone else's change. Idempotent for the same values.
    """
    engagement_check_editable(user=actor, engagement=role.engagement)
    locked = StakeholderRole.objects.select_for_update().get(pk=role.pk)
    check_unchanged(locked, seen_updated_at=seen_updated_at)
    errors: dict[str, str] = {}
    _check_owner_on_team(engagement=role.engagement, relationship_owner=relationship_owner, errors=errors)
    locked.kind = kind
    locked.influence = influence
    locked.interest = interest
    locked.current_level = current_level
    locked.desired_level = desired_level
    locked.relationship_owner = relationship_owner
    locked.notes = notes
    clean_instance(locked, errors)
    locked.save()
    return locked


@transaction.atomic
def stakeholder_update(
    *,
    actor: Any,
    stakeholder: Stakeholder,
    seen_updated_at: datetime | None,
    name: str,
    email: str = "",
    title: str = "",
    department: str = "",
    phone: str = "",
    time_zone: str,
    notes: str = "",
) -> Stakeholder:
    """Change a person's contact details, time zone and notes.

    Allowed to administrators, practice leads and team members of an
    engagement the person has a role on (404 when the person is not visible,
    403 when visible but not theirs to change). The email address stays
    unique per client whatever its case. A stale copy (``seen_updated_at``) is
    refused with a ``stale`` error. Idempotent for the same values.
    """
    if not Stakeholder.objects.visible_to(actor).filter(pk=stakeholder.pk).exists():
        raise NotFound("No such stakeholder.")
    if not stakeholder_can_edit(user=actor, stakeholder=stakeholder):
        raise NotAllowed("You may view this person but not change their details.")
    locked = Stakeholder.objects.select_for_update().get(pk=stakeholder.pk)
    check_unchanged(locked, seen_updated_at=seen_updated_at)
    errors: dict[str, str] = {}
    email = email.strip()
    if (
        email
        and Stakeholder.objects.filter(client_id=locked.client_id, email__iexact=email)
        .exclude(pk=locked.pk)
        .exists()
    ):
        errors["email"] = "A stakeholder of this client already has this email address."
    locked.name = name.strip()
    locked.email = email
    locked.title = title.strip()
    locked.department = department.strip()
    locked.phone = phone.strip()
    locked.time_zone = time_zone
    locked.notes = notes
    clean_instance(locked, errors)
    locked.save()
    search_documents_refresh(kind="stakeholder", ids=[locked.pk])
    return locked
