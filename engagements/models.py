from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from engagements.working_days import validate_holiday_subdivision
from pmaas.sharing import client_share, is_client_user
from pmaas.timezones import validate_time_zone
from pmaas.transitions import Transitions
from pmaas.validation import LONG_TEXT

if TYPE_CHECKING:
    from accounts.models import User

currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as EUR.")
country_validator = RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO 3166 code such as DE.")

_M = TypeVar("_M", bound=models.Model)


def _user_sees_all(user: Any) -> bool:
    return bool(getattr(user, "sees_all_engagements", False))


def _user_is_active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


class Health(models.TextChoices):
    GREEN = "green", "Green"
    AMBER = "amber", "Amber"
    RED = "red", "Red"


class ClientQuerySet(models.QuerySet["Client"]):
    def visible_to(self, user: User | Any) -> Self:
        """Clients whose engagements the user may see (or their own client)."""
        if not _user_is_active(user):
            return self.none()
        if _user_sees_all(user):
            return self.all()
        if user.role == "client":
            return self.filter(pk=user.client_id)
        return self.filter(Exists(Membership.objects.filter(engagement__client=OuterRef("pk"), user=user)))


class Client(models.Model):
    """A client organisation the firm runs engagements for."""

    name = models.CharField(max_length=200, unique=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Default time zone for this client's stakeholders.",
    )
    country = models.CharField(
        max_length=2,
        blank=True,
        validators=[country_validator],
        help_text="Default country of this client's engagements, for public holidays.",
    )
    holiday_subdivision = models.CharField(
        max_length=32,
        blank=True,
        # Rows written by code that predates the column (earlier migrations' data steps) get none.
        db_default="",
        verbose_name="holiday region",
        help_text=(
            "Region whose public holidays count as well, as a code of the holidays package "
            "(GB: ENG, NIR, SCT, WLS; a German Land such as BY; a US state such as CA). "
            "Default for this client's engagements. A new GB client gets ENG; "
            "elsewhere blank means national holidays only."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        validate_holiday_subdivision(country=self.country, subdivision=self.holiday_subdivision)


class EngagementQuerySet(models.QuerySet["Engagement"]):
    def visible_to(self, user: User | Any) -> Self:
        """The one rule for who sees an engagement; everything else hangs off it."""
        if not _user_is_active(user):
            return self.none()
        if _user_sees_all(user):
            return self.all()
        if user.role == "client":
            return self.filter(client_id=user.client_id)
        return self.filter(Exists(Membership.objects.filter(engagement=OuterRef("pk"), user=user)))

    def editable_by(self, user: User | Any) -> Self:
        """Engagements whose stakeholders, plans, check-ins and follow-ups the user may change."""
        if not _user_is_active(user):
            return self.none()
        if _user_sees_all(user):
            return self.all()
        if user.role == "client":
            return self.none()
        return self.filter(Exists(Membership.objects.filter(engagement=OuterRef("pk"), user=user)))

    def active(self) -> Self:
        return self.filter(status=Engagement.Status.ACTIVE)

    def with_effective_health(self, *, as_of: datetime) -> Self:
        """Each row with ``health_now``: the override while in force at ``as_of``, else the computed
        health (``Engagement.effective_health`` in the query, so dashboards filter and sort on it)."""
        in_force = ~Q(health_override="") & (
            Q(health_override_until__isnull=True) | Q(health_override_until__gt=as_of)
        )
        return self.annotate(health_now=Case(When(in_force, then=F("health_override")), default=F("health")))


class EngagementScopedQuerySet(models.QuerySet[_M]):
    """A QuerySet of rows that hang off an engagement and share its visibility."""

    engagement_path: ClassVar[str] = "engagement"

    def visible_to(self, user: User | Any) -> Self:
        if not _user_is_active(user):
            return self.none()
        if _user_sees_all(user):
            return self.all()
        visible = Engagement.objects.visible_to(user).values("pk")
        rows = self.filter(**{f"{self.engagement_path}__in": visible})
        if is_client_user(user):
            # Of their own client's engagements, a client user sees only what is shared with clients.
            rows = rows.filter(client_share(self.model._meta.label).rows)
        return rows

    def editable_by(self, user: User | Any) -> Self:
        if not _user_is_active(user):
            return self.none()
        if _user_sees_all(user):
            return self.all()
        editable = Engagement.objects.editable_by(user).values("pk")
        return self.filter(**{f"{self.engagement_path}__in": editable})


class Engagement(models.Model):
    """A project the firm runs for a client."""

    class Kind(models.TextChoices):
        IMPLEMENTATION = "implementation", "System implementation"
        UPGRADE = "upgrade", "Upgrade or migration"
        LAUNCH = "launch", "Product launch"
        TRANSFORMATION = "transformation", "Business transformation"
        INTEGRATION = "integration", "Merger or integration"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        ACTIVE = "active", "Active"
        ON_HOLD = "on_hold", "On hold"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="engagements")
    name = models.CharField(max_length=200)
    code = models.CharField(
        max_length=32,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Z0-9][A-Z0-9-]*$", "Use capitals, digits and dashes, e.g. EHR-2026.")
        ],
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.IMPLEMENTATION)
    description = models.TextField(**LONG_TEXT, blank=True)
    budget = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    country = models.CharField(
        max_length=2,
        blank=True,
        validators=[country_validator],
        help_text="Whose public holidays count as non-working days.",
    )
    holiday_subdivision = models.CharField(
        max_length=32,
        blank=True,
        # Rows written by code that predates the column (earlier migrations' data steps) get none.
        db_default="",
        verbose_name="holiday region",
        help_text=(
            "Region of the country whose public holidays count as well (GB: ENG, NIR, SCT, WLS; "
            "a German Land such as BY). Blank: the client's region when in the same country, "
            "else national holidays only."
        ),
    )
    skip_non_working_days = models.BooleanField(
        default=False, help_text="Move planned check-ins off weekends and public holidays."
    )
    health = models.CharField(
        max_length=5, choices=Health.choices, default=Health.GREEN, help_text="Computed health."
    )
    health_override = models.CharField(max_length=5, choices=Health.choices, blank=True)
    health_override_reason = models.TextField(**LONG_TEXT, blank=True)
    health_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    health_override_at = models.DateTimeField(null=True, blank=True)
    # An override lapses by itself, so a judgement made in a bad week does not outlive it.
    health_override_until = models.DateTimeField(
        null=True, blank=True, help_text="When the override lapses and the computed health returns."
    )
    # Written by communications.health only: why the computed health is what it is.
    health_factors = models.JSONField(
        default=list,
        # Rows written by code that predates the column (earlier migrations' data steps) get none.
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        help_text="The signals behind the computed health: code, label, detail, severity, evidence.",
    )
    health_computed_at = models.DateTimeField(null=True, blank=True)
    # The client's users see the colour (never the override's reason) only when the lead shares it.
    health_shared_with_client = models.BooleanField(
        default=False, db_default=False, help_text="Show the engagement's health to the client's users."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EngagementQuerySet.as_manager()

    class Meta:
        ordering = ["client__name", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(budget__gte=0), name="engagement_budget_not_negative"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="engagement_ends_after_start",
            ),
            # An override without a reason would leave the dashboard unable to say why.
            models.CheckConstraint(
                condition=Q(health_override="") | ~Q(health_override_reason=""),
                name="engagement_override_has_reason",
            ),
            # An override without an expiry would hide the computed health for ever.
            models.CheckConstraint(
                condition=Q(health_override="") | Q(health_override_until__isnull=False),
                name="engagement_override_has_expiry",
            ),
        ]
        indexes = [
            # Portfolio dashboards filter by status within a client.
            models.Index(fields=["client", "status"], name="engagement_client_status"),
            models.Index(fields=["status"], name="engagement_status"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        validate_holiday_subdivision(country=self.country, subdivision=self.holiday_subdivision)

    def health_override_in_force(self, as_of: datetime | None = None) -> bool:
        """Whether a manual health holds at ``as_of``: set and not yet past its expiry."""
        if not self.health_override:
            return False
        until = self.health_override_until
        return until is None or until > (as_of or timezone.now())

    @property
    def effective_health(self) -> str:
        """The override while it is in force, else the computed health."""
        return self.health_override if self.health_override_in_force() else self.health

    @property
    def health_is_overridden(self) -> bool:
        return self.health_override_in_force()

    @property
    def has_ended(self) -> bool:
        """Closed or cancelled: its health and cadence are history, no longer flags to act on."""
        return self.status in (self.Status.CLOSED, self.Status.CANCELLED)

    @property
    def top_health_factor(self) -> dict[str, Any] | None:
        """The most severe factor behind the computed health (factors are stored worst first)."""
        return self.health_factors[0] if self.health_factors else None


class MembershipQuerySet(EngagementScopedQuerySet["Membership"]):
    def leads(self) -> Self:
        return self.filter(role=Membership.Role.LEAD)


class Membership(models.Model):
    """A user of the firm on an engagement's team."""

    class Role(models.TextChoices):
        LEAD = "lead", "Engagement lead"
        CONSULTANT = "consultant", "Consultant"

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CONSULTANT)
    joined_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["engagement", "role", "user__last_name"]
        constraints = [
            models.UniqueConstraint(fields=["engagement", "user"], name="membership_once_per_engagement"),
            # One person owns the engagement: handing over demotes the old lead in the same transaction.
            models.UniqueConstraint(
                fields=["engagement"],
                condition=Q(role="lead"),
                name="membership_one_lead_per_engagement",
                violation_error_message="An engagement has one lead; hand the role over instead.",
            ),
        ]
        indexes = [
            # visible_to() looks memberships up by user on every request.
            models.Index(fields=["user", "engagement"], name="membership_user_engagement"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) on {self.engagement.code}"


class MilestoneQuerySet(EngagementScopedQuerySet["Milestone"]):
    def open(self) -> Self:
        return self.filter(completed_on__isnull=True)


class Milestone(models.Model):
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=200)
    description = models.TextField(**LONG_TEXT, blank=True)
    due_on = models.DateField()
    completed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        ordering = ["engagement", "due_on"]
        indexes = [
            # Upcoming milestones of an engagement, in date order.
            models.Index(fields=["engagement", "due_on"], name="milestone_engagement_due"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.due_on:%Y-%m-%d})"

    @property
    def is_complete(self) -> bool:
        return self.completed_on is not None


class ChangeRequestQuerySet(EngagementScopedQuerySet["ChangeRequest"]):
    def undecided(self) -> Self:
        return self.filter(status__in=[ChangeRequest.Status.PROPOSED, ChangeRequest.Status.UNDER_REVIEW])


class ChangeRequest(models.Model):
    """A proposed change to scope, resources, schedule or budget, and its decision."""

    class Kind(models.TextChoices):
        SCOPE = "scope", "Scope change"
        RESOURCE = "resource", "Resource reallocation"
        REGULATORY = "regulatory", "Regulatory change"
        SCHEDULE = "schedule", "Schedule change"
        BUDGET = "budget", "Budget change"

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        UNDER_REVIEW = "under_review", "Under review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    DECIDED = (Status.APPROVED, Status.REJECTED)
    # Decided and withdrawn requests are final: a new proposal is a new
    # request. Repeating a move is refused, so a decision is never made twice.
    TRANSITIONS: ClassVar[Transitions] = Transitions(
        Status,
        {
            Status.PROPOSED: {Status.UNDER_REVIEW, Status.APPROVED, Status.REJECTED, Status.WITHDRAWN},
            Status.UNDER_REVIEW: {Status.APPROVED, Status.REJECTED, Status.WITHDRAWN},
        },
    )

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="change_requests")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SCOPE)
    description = models.TextField(**LONG_TEXT, blank=True)
    budget_impact = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text="Positive adds cost, negative saves."
    )
    schedule_impact_days = models.IntegerField(
        default=0, help_text="Positive delays, negative brings forward."
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    raised_on = models.DateField()
    decision = models.TextField(**LONG_TEXT, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChangeRequestQuerySet.as_manager()

    class Meta:
        ordering = ["engagement", "-raised_on"]
        constraints = [
            # A decided request always says when it was decided; an open one never does.
            models.CheckConstraint(
                condition=(Q(status__in=["approved", "rejected"]) & Q(decided_at__isnull=False))
                | (~Q(status__in=["approved", "rejected"]) & Q(decided_at__isnull=True)),
                name="change_request_decided_at_iff_decided",
            ),
        ]
        indexes = [
            # Open change requests per engagement for its page and the dashboards.
            models.Index(fields=["engagement", "status"], name="change_request_eng_status"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.get_status_display()})"
