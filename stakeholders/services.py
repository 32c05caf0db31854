"""Writes to stakeholders and their roles on engagements."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from accounts.models import User
from engagements.models import Client, Engagement, Membership
from engagements.selectors import engagement_check_editable
from pmaas.validation import clean_instance
from stakeholders.models import Level, Scale, Stakeholder, StakeholderRole


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
        raise Http404("No such client.")
    if not getattr(actor, "is_firm_member", False):
        raise PermissionDenied("Only members of the firm record stakeholders.")
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
