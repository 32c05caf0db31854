"""Writes to engagements, their teams, milestones and change requests."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from engagements.models import ChangeRequest, Client, Engagement, Health, Membership, Milestone
from engagements.policy import Action, engagement_check_can
from engagements.selectors import engagement_check_editable
from engagements.working_days import default_holiday_subdivision
from pmaas.concurrency import check_unchanged
from pmaas.errors import NotAllowed, NotFound, RuleViolation
from pmaas.validation import clean_instance
from search.services import search_documents_refresh

logger = logging.getLogger(__name__)


def _require_portfolio_manager(actor: Any) -> None:
    if not getattr(actor, "sees_all_engagements", False):
        raise NotAllowed("Only practice leads and administrators may do this.")


def client_create(
    *, actor: Any, name: str, time_zone: str = "UTC", country: str = "", holiday_subdivision: str = ""
) -> Client:
    """Create a client organisation. Practice leads and administrators only.

    Without a holiday region the client gets its country's default
    (``DEFAULT_HOLIDAY_SUBDIVISIONS``: ENG for GB), else none.
    """
    _require_portfolio_manager(actor)
    client = Client(
        name=name.strip(),
        time_zone=time_zone,
        country=country,
        holiday_subdivision=holiday_subdivision.strip() or default_holiday_subdivision(country),
    )
    clean_instance(client)
    client.save()
    return client


@transaction.atomic
def client_update(
    *,
    actor: Any,
    client: Client,
    time_zone: str,
    country: str,
    holiday_subdivision: str,
    seen_updated_at: datetime | None,
) -> Client:
    """Change a client's time zone, country and holiday region. Practice leads and administrators only.

    A new country given without a region gets that country's default
    (``DEFAULT_HOLIDAY_SUBDIVISIONS``); a region cleared on an unchanged
    country stays cleared (national holidays only). Refused when the client
    changed since the editor read it. Its engagements without a region of
    their own count working days on the new calendar from the next sweep on.
    """
    _require_portfolio_manager(actor)
    locked = Client.objects.select_for_update().get(pk=client.pk)
    check_unchanged(locked, seen_updated_at=seen_updated_at)
    country = country.strip().upper()
    region = holiday_subdivision.strip()
    if not region and country != locked.country:
        region = default_holiday_subdivision(country)
    locked.time_zone = time_zone
    locked.country = country
    locked.holiday_subdivision = region
    clean_instance(locked)
    locked.save()
    logger.info("client %s settings changed by user %s", locked.pk, actor.pk)
    return locked


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
    holiday_subdivision: str = "",
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
        holiday_subdivision=holiday_subdivision.strip(),
        skip_non_working_days=skip_non_working_days,
    )
    errors = {}
    if end_date is not None and start_date is not None and end_date < start_date:
        errors["end_date"] = "The engagement cannot end before it starts."
    clean_instance(engagement, errors)
    engagement.save()
    search_documents_refresh(kind="engagement", ids=[engagement.pk])
    if lead is not None:
        membership_add(actor=actor, engagement=engagement, user=lead, role=Membership.Role.LEAD)
    return engagement


def membership_add(
    *, actor: Any, engagement: Engagement, user: User, role: str = Membership.Role.CONSULTANT
) -> Membership:
    """Put a firm user on the engagement's team, as a consultant or, when it has none yet, as its lead.

    An engagement has at most one lead: a second is refused (RuleViolation
    under "role"; membership_make_lead hands the role over), and so is a new
    role for someone already on the team. The engagement's lead, practice
    leads and administrators only (NotAllowed). Idempotent: adding a member
    again with their role returns their membership.
    """
    engagement_check_can(user=actor, engagement=engagement, action=Action.MANAGE_TEAM)
    if not user.is_firm_member:
        raise ValidationError({"user": "Client users cannot join an engagement team."})
    # get_or_create() saves a new row without full_clean().
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Membership.Role.values)}."})
    with transaction.atomic():
        # Locking the engagement serialises team changes, so two requests cannot both add a lead.
        Engagement.objects.select_for_update().filter(pk=engagement.pk).first()
        existing = Membership.objects.filter(engagement=engagement, user=user).first()
        if existing is not None:
            if existing.role != role:
                raise RuleViolation(
                    f"{user} is already on the team as {existing.get_role_display().lower()}.", field="user"
                )
            return existing
        if role == Membership.Role.LEAD and Membership.objects.filter(engagement=engagement).leads().exists():
            raise RuleViolation(
                "The engagement already has a lead: add them as a consultant, then hand the lead role over.",
                field="role",
            )
        membership = Membership(engagement=engagement, user=user, role=role)
        clean_instance(membership)
        membership.save()
    logger.info(
        "user %s joined engagement %s as %s, added by user %s", user.pk, engagement.pk, role, actor.pk
    )
    return membership


def membership_lock_for_change(*, actor: Any, membership: Membership) -> Membership:
    """The first step of every change to one member: the right, the team lock, the row as it is now.

    Checks that the actor may manage the team (NotFound outside their scope,
    NotAllowed inside it), locks the engagement row that serialises team
    changes, and re-reads the membership under that lock (NotFound when it
    is gone). Call inside a transaction.
    """
    engagement_check_can(user=actor, engagement=membership.engagement, action=Action.MANAGE_TEAM)
    Engagement.objects.select_for_update().filter(pk=membership.engagement_id).first()
    locked = Membership.objects.filter(pk=membership.pk).select_related("user").first()
    if locked is None:
        raise NotFound("No such team member.")
    return locked


@transaction.atomic
def membership_make_lead(*, actor: Any, membership: Membership) -> Membership:
    """Hand the engagement's lead role to this member; the lead so far stays on the team as a consultant.

    The engagement's lead, practice leads and administrators only
    (NotAllowed). Idempotent: the lead made lead again changes nothing.
    """
    engagement = membership.engagement
    locked = membership_lock_for_change(actor=actor, membership=membership)
    if locked.role == Membership.Role.LEAD:
        return locked
    # Demote first: the database allows one lead per engagement at any moment.
    Membership.objects.filter(engagement=engagement).leads().update(role=Membership.Role.CONSULTANT)
    locked.role = Membership.Role.LEAD
    clean_instance(locked)
    locked.save(update_fields=["role"])
    logger.info(
        "user %s leads engagement %s, handed over by user %s", locked.user_id, engagement.pk, actor.pk
    )
    return locked


# The longest an override may hold before the computed health returns; a lead may set it again.
HEALTH_OVERRIDE_MAX_DAYS = 90


def health_override_lapses_at(*, engagement: Engagement, until: date) -> datetime:
    """The end of ``until`` in the client's time zone: the override holds through that whole day."""
    zone = ZoneInfo(engagement.client.time_zone)
    return datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone)


@transaction.atomic
def engagement_override_health(
    *,
    actor: Any,
    engagement: Engagement,
    health: str,
    reason: str,
    until: date | None = None,
    shared_with_client: bool | None = None,
    seen_updated_at: datetime | None = None,
    as_of: datetime | None = None,
) -> Engagement:
    """Set (or, with an empty health, clear) a manual health with its reason and expiry.

    An override needs a reason and ``until``, the last day it holds (in the
    client's time zone), from today up to HEALTH_OVERRIDE_MAX_DAYS ahead;
    after that day ``effective_health`` is the computed health again.
    With ``shared_with_client`` the client's users are shown the colour, or no
    longer are (never the reason, nor the computed health behind an override;
    None leaves it as it was). With ``seen_updated_at`` the write is refused
    when the engagement changed since the editor read it. Idempotent: the same
    call twice leaves the same override (with a later timestamp). The
    engagement's lead, practice leads and administrators only (NotAllowed).
    """
    engagement_check_can(user=actor, engagement=engagement, action=Action.OVERRIDE_HEALTH)
    Engagement.objects.select_for_update().filter(pk=engagement.pk).first()
    check_unchanged(engagement, seen_updated_at=seen_updated_at)
    as_of = as_of or timezone.now()
    errors: dict[str, str] = {}
    if health and health not in Health.values:
        errors["health_override"] = f"Choose one of {', '.join(Health.values)}."
    if health and not reason.strip():
        errors["health_override_reason"] = "Say why the computed health is overridden."
    if health and until is None:
        errors["health_override_until"] = "Say until when the override holds."
    elif health and until is not None:
        today = as_of.astimezone(ZoneInfo(engagement.client.time_zone)).date()
        if until < today:
            errors["health_override_until"] = "Choose today or a later day."
        elif until > today + timedelta(days=HEALTH_OVERRIDE_MAX_DAYS):
            errors["health_override_until"] = f"Choose a day at most {HEALTH_OVERRIDE_MAX_DAYS} days ahead."
    if errors:
        raise ValidationError(errors)
    engagement.health_override = health
    engagement.health_override_reason = reason.strip() if health else ""
    engagement.health_override_by = actor if health else None
    engagement.health_override_at = as_of if health else None
    engagement.health_override_until = (
        health_override_lapses_at(engagement=engagement, until=until) if health and until else None
    )
    if shared_with_client is not None:
        engagement.health_shared_with_client = shared_with_client
    clean_instance(engagement)
    engagement.save(
        update_fields=[
            "health_override",
            "health_override_reason",
            "health_override_by",
            "health_override_at",
            "health_override_until",
            "health_shared_with_client",
            "updated_at",
        ]
    )
    return engagement


def milestone_create(
    *, actor: Any, engagement: Engagement, name: str, due_on: date, description: str = ""
) -> Milestone:
    """Add a milestone to the engagement. Not idempotent: each call adds one."""
    engagement_check_editable(user=actor, engagement=engagement)
    milestone = Milestone(engagement=engagement, name=name.strip(), due_on=due_on, description=description)
    clean_instance(milestone)
    milestone.save()
    return milestone


def _lock(instance: Any, *, seen_updated_at: datetime | None) -> None:
    """Lock the row for the rest of the transaction, then refuse a save based on a stale copy."""
    type(instance)._default_manager.select_for_update().filter(pk=instance.pk).first()
    check_unchanged(instance, seen_updated_at=seen_updated_at)


@transaction.atomic
def milestone_update(
    *,
    actor: Any,
    milestone: Milestone,
    name: str,
    due_on: date,
    description: str = "",
    seen_updated_at: datetime | None = None,
) -> Milestone:
    """Rename, re-date or describe a milestone.

    Refused when the milestone changed since ``seen_updated_at``. Idempotent.
    """
    engagement_check_editable(user=actor, engagement=milestone.engagement)
    _lock(milestone, seen_updated_at=seen_updated_at)
    milestone.name = (name or "").strip()
    milestone.due_on = due_on
    milestone.description = description
    clean_instance(milestone)
    milestone.save(update_fields=["name", "due_on", "description", "updated_at"])
    return milestone


@transaction.atomic
def milestone_complete(*, actor: Any, milestone: Milestone, completed_on: date | None = None) -> Milestone:
    """Mark a milestone reached, on ``completed_on`` (today by default).

    Idempotent: a milestone already complete keeps its first completion date.
    """
    engagement_check_editable(user=actor, engagement=milestone.engagement)
    completed_on = completed_on or timezone.localdate()
    claimed = Milestone.objects.filter(pk=milestone.pk, completed_on__isnull=True).update(
        completed_on=completed_on, updated_at=timezone.now()
    )
    milestone.refresh_from_db(fields=["completed_on", "updated_at"])
    if claimed:
        logger.info("milestone %s completed on %s by user %s", milestone.pk, completed_on, actor.pk)
    return milestone


def _check_impact(errors: dict[str, str], *, budget_impact: Any, schedule_impact_days: Any) -> None:
    if budget_impact is None:
        errors["budget_impact"] = "Give the budget impact as a number; 0 when there is none."
    if schedule_impact_days is None:
        errors["schedule_impact_days"] = "Give the schedule impact in days; 0 when there is none."


@transaction.atomic
def change_request_create(
    *,
    actor: Any,
    engagement: Engagement,
    title: str,
    kind: str,
    raised_on: date,
    description: str = "",
    budget_impact: Decimal | int = 0,
    schedule_impact_days: int = 0,
) -> ChangeRequest:
    """Record a proposed change to scope, resources, schedule or budget, requested by the actor.

    The request starts as proposed. Its communication obligations are opened by
    communications.obligations.change_request_record, which calls this. Not
    idempotent: each call records a new request.
    """
    engagement_check_editable(user=actor, engagement=engagement)
    errors: dict[str, str] = {}
    _check_impact(errors, budget_impact=budget_impact, schedule_impact_days=schedule_impact_days)
    change_request = ChangeRequest(
        engagement=engagement,
        title=(title or "").strip(),
        kind=kind,
        description=description,
        budget_impact=budget_impact,
        schedule_impact_days=schedule_impact_days,
        raised_on=raised_on,
        requested_by=actor,
    )
    clean_instance(change_request, errors)
    change_request.save()
    search_documents_refresh(kind="change_request", ids=[change_request.pk])
    return change_request


@transaction.atomic
def change_request_update(
    *,
    actor: Any,
    change_request: ChangeRequest,
    title: str,
    kind: str,
    raised_on: date,
    description: str = "",
    budget_impact: Decimal | int = 0,
    schedule_impact_days: int = 0,
    seen_updated_at: datetime | None = None,
) -> ChangeRequest:
    """Edit an undecided change request; a decided one is a record and stays as decided.

    Refused when the request changed since ``seen_updated_at``. Idempotent.
    """
    engagement_check_editable(user=actor, engagement=change_request.engagement)
    _lock(change_request, seen_updated_at=seen_updated_at)
    if change_request.status not in CHANGE_REQUEST_EDITABLE:
        raise ValidationError(
            f"A {change_request.get_status_display().lower()} change request can no longer be edited."
        )
    errors: dict[str, str] = {}
    _check_impact(errors, budget_impact=budget_impact, schedule_impact_days=schedule_impact_days)
    change_request.title = (title or "").strip()
    change_request.kind = kind
    change_request.raised_on = raised_on
    change_request.description = description
    change_request.budget_impact = budget_impact
    change_request.schedule_impact_days = schedule_impact_days
    clean_instance(change_request, errors)
    change_request.save(
        update_fields=[
            "title",
            "kind",
            "raised_on",
            "description",
            "budget_impact",
            "schedule_impact_days",
            "updated_at",
        ]
    )
    search_documents_refresh(kind="change_request", ids=[change_request.pk])
    return change_request


_CR = ChangeRequest.Status
CHANGE_REQUEST_EDITABLE = frozenset({_CR.PROPOSED, _CR.UNDER_REVIEW})
# A decision must say what was decided and why.
CHANGE_REQUEST_NEEDS_DECISION_TEXT = frozenset({_CR.APPROVED, _CR.REJECTED})


@transaction.atomic
def change_request_transition(
    *,
    actor: Any,
    change_request: ChangeRequest,
    to_status: str,
    decision: str = "",
    seen_updated_at: datetime | None = None,
    as_of: datetime | None = None,
) -> ChangeRequest:
    """Move a change request along ChangeRequest.TRANSITIONS.

    Approving or rejecting needs a decision text and records who decided and
    when; other moves keep any text given as the decision so far. Refused when
    the move is not declared (TransitionRefused under "to_status") or the
    request changed since ``seen_updated_at``. Not idempotent: repeating a
    move is refused, because no status may become itself. The engagement's
    lead, practice leads and administrators only (NotAllowed).
    """
    engagement_check_can(
        user=actor, engagement=change_request.engagement, action=Action.DECIDE_CHANGE_REQUEST
    )
    _lock(change_request, seen_updated_at=seen_updated_at)
    change_request.refresh_from_db(fields=["status", "updated_at"])
    ChangeRequest.TRANSITIONS.check(change_request.status, to_status, field="to_status")
    decision = (decision or "").strip()
    if to_status in CHANGE_REQUEST_NEEDS_DECISION_TEXT and not decision:
        raise ValidationError({"decision": "Write down what was decided and why."})
    change_request.status = to_status
    if decision:
        change_request.decision = decision
    if to_status in ChangeRequest.DECIDED:
        change_request.decided_at = as_of or timezone.now()
        change_request.decided_by = actor
    clean_instance(change_request)
    change_request.save(update_fields=["status", "decision", "decided_at", "decided_by", "updated_at"])
    search_documents_refresh(kind="change_request", ids=[change_request.pk])
    logger.info(
        "change request %s moved to %s by user %s", change_request.pk, to_status, getattr(actor, "pk", None)
    )
    return change_request
