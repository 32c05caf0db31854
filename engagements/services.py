"""Writes to engagements, their teams, milestones and change requests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from engagements.models import Client, Engagement, Health, Membership, Milestone
from engagements.selectors import engagement_check_editable
from pmaas.validation import clean_instance


def _require_portfolio_manager(actor: Any) -> None:
    if not getattr(actor, "sees_all_engagements", False):
        raise PermissionDenied("Only practice leads and administrators may do this.")


def client_create(*, actor: Any, name: str, time_zone: str = "UTC", country: str = "") -> Client:
    """Create a client organisation. Practice leads and administrators only."""
    _require_portfolio_manager(actor)
    client = Client(name=name.strip(), time_zone=time_zone, country=country)
    clean_instance(client)
    client.save()
    return client


@transaction.atomic
def engagement_create(
    *,
    actor: Any,
    client: Client,
    name: str,
    code: str,
    start_date: date,
    end_date: date | None = None,
    kind: str = Engagement.Kind.IMPLEMENTATION,
    description: str = "",
    budget: Decimal | int = 0,
    currency: str = "EUR",
    status: str = Engagement.Status.PLANNED,
    country: str = "",
    skip_non_working_days: bool = False,
    lead: User | None = None,
) -> Engagement:
    """Create an engagement and, when a lead is named, its first team membership.

    Practice leads and administrators only. Not idempotent: the code is unique,
    so a second call with the same code is refused with a field error.
    """
    _require_portfolio_manager(actor)
    engagement = Engagement(
        client=client,
        name=name.strip(),
        code=code.strip().upper(),
        kind=kind,
        description=description,
        budget=budget,
        currency=currency.upper(),
        start_date=start_date,
        end_date=end_date,
        status=status,
        country=country or client.country,
        skip_non_working_days=skip_non_working_days,
    )
    errors = {}
    if end_date is not None and start_date is not None and end_date < start_date:
        errors["end_date"] = "The engagement cannot end before it starts."
    clean_instance(engagement, errors)
    engagement.save()
    if lead is not None:
        membership_add(actor=actor, engagement=engagement, user=lead, role=Membership.Role.LEAD)
    return engagement


def membership_add(*, actor: Any, engagement: Engagement, user: User, role: str) -> Membership:
    """Put a firm user on the engagement's team. Idempotent: an existing member gets the new role."""
    engagement_check_editable(user=actor, engagement=engagement)
    if not user.is_firm_member:
        raise ValidationError({"user": "Client users cannot join an engagement team."})
    # get_or_create() saves a new row without full_clean().
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Membership.Role.values)}."})
    with transaction.atomic():
        membership, _ = Membership.objects.select_for_update().get_or_create(
            engagement=engagement, user=user, defaults={"role": role}
        )
        if membership.role != role:
            membership.role = role
            clean_instance(membership)
            membership.save(update_fields=["role"])
    return membership


def engagement_override_health(*, actor: Any, engagement: Engagement, health: str, reason: str) -> Engagement:
    """Set (or, with an empty health, clear) a manual health with its reason."""
    engagement_check_editable(user=actor, engagement=engagement)
    if health and health not in Health.values:
        raise ValidationError({"health_override": f"Choose one of {', '.join(Health.values)}."})
    if health and not reason.strip():
        raise ValidationError({"health_override_reason": "Say why the computed health is overridden."})
    engagement.health_override = health
    engagement.health_override_reason = reason.strip() if health else ""
    engagement.health_override_by = actor if health else None
    engagement.health_override_at = timezone.now() if health else None
    clean_instance(engagement)
    engagement.save(
        update_fields=[
            "health_override",
            "health_override_reason",
            "health_override_by",
            "health_override_at",
            "updated_at",
        ]
    )
    return engagement


def milestone_create(
    *, actor: Any, engagement: Engagement, name: str, due_on: date, description: str = ""
) -> Milestone:
    engagement_check_editable(user=actor, engagement=engagement)
    milestone = Milestone(engagement=engagement, name=name.strip(), due_on=due_on, description=description)
    clean_instance(milestone)
    milestone.save()
    return milestone
