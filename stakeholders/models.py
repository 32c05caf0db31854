from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.db import models
from django.db.models import Case, Exists, OuterRef, Q, Value, When
from django.db.models.functions import Lower

from engagements.models import Client, Engagement, EngagementScopedQuerySet, Health
from pmaas.timezones import validate_time_zone
from pmaas.validation import LONG_TEXT

if TYPE_CHECKING:
    from accounts.models import User


class StakeholderQuerySet(models.QuerySet["Stakeholder"]):
    def visible_to(self, user: User | Any) -> Self:
        """People at the clients the user works with.

        A consultant sees everyone at a client they have an engagement with, not
        only those already on their engagement: that is how an existing person
        is found and added to a second engagement of the same client.
        """
        if not (user is not None and user.is_authenticated and user.is_active):
            return self.none()
        if getattr(user, "sees_all_engagements", False):
            return self.all()
        return self.filter(client__in=Client.objects.visible_to(user).values("pk"))

    def on_engagement(self, engagement: Engagement | int) -> Self:
        return self.filter(
            Exists(StakeholderRole.objects.filter(stakeholder=OuterRef("pk"), engagement=engagement))
        )


class Stakeholder(models.Model):
    """A person at a client whose support the engagements depend on."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="stakeholders")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    title = models.CharField(max_length=200, blank=True, help_text="Job title, e.g. Chief Medical Officer.")
    department = models.CharField(max_length=200, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # Set when the person also logs in (a client PMO lead updating their own follow-ups).
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stakeholder",
    )
    notes = models.TextField(**LONG_TEXT, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StakeholderQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # One person per address at a client; the address is optional at first.
            models.UniqueConstraint(
                Lower("email"),
                "client",
                condition=~Q(email=""),
                name="stakeholder_email_unique_per_client",
                violation_error_message="A stakeholder of this client already has this email address.",
            ),
        ]
        indexes = [
            models.Index(fields=["client", "name"], name="stakeholder_client_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Level(models.TextChoices):
    """How engaged a stakeholder is, from the engagement assessment matrix."""

    UNAWARE = "unaware", "Unaware"
    RESISTANT = "resistant", "Resistant"
    NEUTRAL = "neutral", "Neutral"
    SUPPORTIVE = "supportive", "Supportive"
    LEADING = "leading", "Leading"


LEVEL_ORDER = {level.value: rank for rank, level in enumerate(Level)}


class Scale(models.IntegerChoices):
    VERY_LOW = 1, "Very low"
    LOW = 2, "Low"
    MEDIUM = 3, "Medium"
    HIGH = 4, "High"
    VERY_HIGH = 5, "Very high"


# The lowest step of influence or interest that counts as high: the upper two of
# the five. The one line that picks the key stakeholders (StakeholderRoleQuerySet.key)
# and splits the power-interest grid into its quadrants.
HIGH_FROM = Scale.HIGH

MANAGE_CLOSELY = "Manage closely"
KEEP_SATISFIED = "Keep satisfied"
KEEP_INFORMED = "Keep informed"
MONITOR = "Monitor"
QUADRANTS = (MANAGE_CLOSELY, KEEP_SATISFIED, KEEP_INFORMED, MONITOR)


def power_interest_quadrant(*, influence: int, interest: int) -> str:
    """How to manage a relationship, from the person's influence and interest (1-5).

    High influence and high interest: manage closely; high influence only: keep
    satisfied; high interest only: keep informed; neither: monitor. "High" is
    HIGH_FROM or above.
    """
    if influence >= HIGH_FROM:
        return MANAGE_CLOSELY if interest >= HIGH_FROM else KEEP_SATISFIED
    return KEEP_INFORMED if interest >= HIGH_FROM else MONITOR


class StakeholderRoleQuerySet(EngagementScopedQuerySet["StakeholderRole"]):
    def sponsors(self) -> Self:
        return self.filter(kind=StakeholderRole.Kind.SPONSOR)

    def key(self) -> Self:
        """Sponsors, PMO leads and everyone of high influence: who must hear of big changes."""
        return self.filter(
            Q(kind__in=[StakeholderRole.Kind.SPONSOR, StakeholderRole.Kind.PMO_LEAD])
            | Q(influence__gte=HIGH_FROM)
        )

    def with_level_gap(self) -> Self:
        """Each row with ``level_gap``: ``engagement_gap`` in the query, to filter and sort on."""

        def rank(field: str) -> Case:
            return Case(
                *(When(**{field: value}, then=Value(order)) for value, order in LEVEL_ORDER.items()),
                output_field=models.IntegerField(),
            )

        return self.annotate(level_gap=rank("desired_level") - rank("current_level"))

    def health_dropped(self, *, since: datetime) -> Self:
        """Roles whose stored relationship health fell (green to amber or red, amber to red) at or
        after ``since``, and has not changed again."""
        return self.filter(
            Q(relationship_health_previous=Health.GREEN, relationship_health__in=[Health.AMBER, Health.RED])
            | Q(relationship_health_previous=Health.AMBER, relationship_health=Health.RED),
            relationship_health_since__gte=since,
        )


class StakeholderRole(models.Model):
    """A stakeholder's part in one engagement, and where the relationship stands."""

    class Kind(models.TextChoices):
        PMO_LEAD = "pmo_lead", "PMO lead"
        SPONSOR = "sponsor", "Sponsor"
        BUSINESS_LEADER = "business_leader", "Business leader"
        TEAM_MEMBER = "team_member", "Team member"
        OTHER = "other", "Other"

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="stakeholder_roles")
    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BUSINESS_LEADER)
    influence = models.PositiveSmallIntegerField(choices=Scale.choices, default=Scale.MEDIUM)
    interest = models.PositiveSmallIntegerField(choices=Scale.choices, default=Scale.MEDIUM)
    current_level = models.CharField(max_length=12, choices=Level.choices, default=Level.NEUTRAL)
    desired_level = models.CharField(max_length=12, choices=Level.choices, default=Level.SUPPORTIVE)
    relationship_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_relationships",
    )
    notes = models.TextField(**LONG_TEXT, blank=True)
    # Written by communications.health only, like the engagement's health: the colour of the
    # relationship when last computed, why, since when it is this colour and what it was before,
    # so "whose relationship dropped lately" is a read of stored rows.
    relationship_health = models.CharField(
        max_length=5, choices=Health.choices, default=Health.GREEN, help_text="Computed relationship health."
    )
    relationship_health_factors = models.JSONField(
        default=list,
        db_default=Value([], output_field=models.JSONField()),
        blank=True,
        help_text="The signals behind the relationship health: code, label, detail, severity, evidence.",
    )
    relationship_health_computed_at = models.DateTimeField(null=True, blank=True)
    relationship_health_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the relationship health last changed colour (or was first computed).",
    )
    relationship_health_previous = models.CharField(
        max_length=5,
        choices=Health.choices,
        blank=True,
        help_text="The colour before the last change; blank when it has not changed since first computed.",
    )
    # Kept with the health, by the same recomputation the services run when a check-in is logged,
    # corrected or deleted: read from the person's attendances on every row of a list, it cost a
    # portfolio page a thousand rows per sponsor at firm scale.
    last_met_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the team last met them on this engagement (the latest check-in they attended).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StakeholderRoleQuerySet.as_manager()

    class Meta:
        ordering = ["engagement", "kind", "stakeholder__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "stakeholder"],
                name="stakeholder_role_once_per_engagement",
                violation_error_message="This stakeholder already has a role on this engagement.",
            ),
            models.CheckConstraint(
                condition=Q(influence__gte=1, influence__lte=5), name="role_influence_1_to_5"
            ),
            models.CheckConstraint(
                condition=Q(interest__gte=1, interest__lte=5), name="role_interest_1_to_5"
            ),
        ]
        indexes = [
            # "Relationships I own" on the consultant's week view.
            models.Index(fields=["relationship_owner"], name="role_relationship_owner"),
            # Stakeholder page: every role of one person.
            models.Index(fields=["stakeholder", "engagement"], name="role_stakeholder_engagement"),
            # Who needs attention: relationships whose health changed lately, the few that changed at all.
            models.Index(
                fields=["relationship_health_since"],
                name="role_health_changed",
                condition=~Q(relationship_health_previous=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stakeholder} — {self.get_kind_display()} on {self.engagement.code}"

    @property
    def quadrant(self) -> str:
        """Where the role sits on the power-interest grid (power_interest_quadrant)."""
        return power_interest_quadrant(influence=self.influence, interest=self.interest)

    @property
    def engagement_gap(self) -> int:
        """Steps between where the relationship is and where it should be (positive: behind)."""
        return LEVEL_ORDER[self.desired_level] - LEVEL_ORDER[self.current_level]
