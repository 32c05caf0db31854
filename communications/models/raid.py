"""The RAID log: an engagement's risks, assumptions, issues and decisions, one row per item."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce

from communications.models.check_ins import CheckIn
from engagements.models import ChangeRequest, Engagement, EngagementScopedQuerySet
from pmaas.transitions import Transitions
from pmaas.validation import LONG_TEXT
from stakeholders.models import Stakeholder

ONE_TO_FIVE = [MinValueValidator(1), MaxValueValidator(5)]


class RaidKind(models.TextChoices):
    RISK = "risk", "Risk"
    ASSUMPTION = "assumption", "Assumption"
    ISSUE = "issue", "Issue"
    DECISION = "decision", "Decision"


class RaidTrend(models.TextChoices):
    RISING = "rising", "Rising"
    STEADY = "steady", "Steady"
    FALLING = "falling", "Falling"


class RaidSeverity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class RaidValidation(models.TextChoices):
    HELD = "held", "Held true"
    FAILED = "failed", "Proved wrong"


# What "open" and "closed" mean to a person reading each kind of item.
STATUS_WORDS: dict[str, dict[str, str]] = {
    RaidKind.RISK: {"open": "Open", "closed": "Closed"},
    RaidKind.ASSUMPTION: {"open": "To validate", "closed": "Validated"},
    RaidKind.ISSUE: {"open": "Open", "closed": "Resolved"},
    RaidKind.DECISION: {"open": "In force", "closed": "Superseded"},
}


# Who answers for an item nobody owns (the lead, see RaidItem.owner), where an item is shown; the
# forms offer the same choice as "The engagement lead".
NO_OWNER_WORDS = "Engagement lead (none named)"

# What each kind's date means, said before it: "Review by 4 Dec".
DATE_WORDS: dict[str, str] = {
    RaidKind.RISK: "Review by",
    RaidKind.ASSUMPTION: "Validate by",
    RaidKind.ISSUE: "Due",
    RaidKind.DECISION: "Decided",
}

# What an open item past its date has missed, said before that date; a decision is never late.
OVERDUE_WORDS: dict[str, str] = {
    RaidKind.RISK: "Review overdue since",
    RaidKind.ASSUMPTION: "Validation overdue since",
    RaidKind.ISSUE: "Overdue since",
}


class RaidItemQuerySet(EngagementScopedQuerySet["RaidItem"]):
    def open(self) -> Self:
        return self.filter(status=RaidItem.Status.OPEN)

    def risks(self) -> Self:
        return self.filter(kind=RaidKind.RISK)

    def review_due(self, *, on: date) -> Self:
        """Open risks whose review date lies before ``on`` and open assumptions not validated by then."""
        return self.open().filter(
            Q(kind=RaidKind.RISK, review_on__lt=on) | Q(kind=RaidKind.ASSUMPTION, validate_by__lt=on)
        )


class RaidItem(models.Model):
    """One entry of an engagement's RAID log: a risk, an assumption, an issue or a decision.

    One table for the four kinds, because the log is read as one list (filtered,
    paged, exported) and the kinds share owner, stakeholders, status and
    sharing; the columns of one kind are empty on the others.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    # A closed item can be opened again (a risk that comes back, a decision
    # reinstated). Closing a closed item or reopening an open one is refused,
    # so nobody's close is silently overwritten.
    TRANSITIONS: ClassVar[Transitions] = Transitions(
        Status,
        {Status.OPEN: {Status.CLOSED}, Status.CLOSED: {Status.OPEN}},
        noun="RAID item",
    )

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="raid_items")
    kind = models.CharField(max_length=12, choices=RaidKind.choices)
    title = models.CharField(max_length=300)
    description = models.TextField(**LONG_TEXT, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raid_items",
        help_text="Who on the team answers for it; the engagement lead when nobody is named.",
    )
    stakeholders = models.ManyToManyField(Stakeholder, related_name="raid_items", blank=True)
    raised_by = models.ForeignKey(
        Stakeholder,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raised_raid_items",
        help_text="The client's person who raised it, if one did.",
    )
    # Risks.
    likelihood = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    impact = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    # Stored, so the top risks are ordered by the database and the API and CSV read one column.
    score = models.GeneratedField(
        expression=F("likelihood") * F("impact"),
        output_field=models.PositiveSmallIntegerField(null=True),
        db_persist=True,
    )
    trend = models.CharField(max_length=10, choices=RaidTrend.choices, blank=True)
    mitigation = models.TextField(**LONG_TEXT, blank=True)
    review_on = models.DateField(null=True, blank=True, help_text="When the risk is next looked at.")
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    # Assumptions.
    validate_by = models.DateField(null=True, blank=True, help_text="When the assumption must be checked.")
    validated_at = models.DateTimeField(null=True, blank=True)
    validation = models.CharField(max_length=10, choices=RaidValidation.choices, blank=True)
    # Issues.
    severity = models.CharField(max_length=10, choices=RaidSeverity.choices, blank=True)
    due_on = models.DateField(null=True, blank=True)
    became_change_request = models.OneToOneField(
        ChangeRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raised_from_issue",
        help_text="The change request this issue was turned into.",
    )
    # Decisions.
    decided_by = models.CharField(max_length=200, blank=True, help_text="Who decided: a person or a board.")
    decided_on = models.DateField(null=True, blank=True)
    change_request = models.ForeignKey(
        ChangeRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raid_decisions",
        help_text="The change request the decision came from.",
    )
    check_in = models.ForeignKey(
        CheckIn,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="raid_decisions",
        help_text="The check-in where it was decided.",
    )
    # Internal unless the team chooses otherwise (pmaas/sharing.py): a risk can name a person.
    shared_with_client = models.BooleanField(
        default=False, db_default=False, help_text="Show this item to the client's users."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RaidItemQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "RAID item"
        constraints = [
            # A risk is rated, and only a risk: its score is the product of both.
            models.CheckConstraint(
                condition=(Q(kind="risk") & Q(likelihood__isnull=False) & Q(impact__isnull=False))
                | (~Q(kind="risk") & Q(likelihood__isnull=True) & Q(impact__isnull=True)),
                name="raid_item_risk_rated",
                violation_error_message="A risk has a likelihood and an impact; other items have neither.",
            ),
            models.CheckConstraint(
                condition=Q(likelihood__isnull=True) | Q(likelihood__gte=1, likelihood__lte=5),
                name="raid_item_likelihood_1_to_5",
            ),
            models.CheckConstraint(
                condition=Q(impact__isnull=True) | Q(impact__gte=1, impact__lte=5),
                name="raid_item_impact_1_to_5",
            ),
            models.CheckConstraint(
                condition=(Q(status="closed") & Q(closed_at__isnull=False))
                | (~Q(status="closed") & Q(closed_at__isnull=True)),
                name="raid_item_closed_at_iff_closed",
            ),
            # A decision without its day cannot be placed on the record.
            models.CheckConstraint(
                condition=~Q(kind="decision") | Q(decided_on__isnull=False),
                name="raid_item_decision_dated",
                violation_error_message="Say when the decision was taken.",
            ),
        ]
        indexes = [
            # An engagement's items by kind and status (the tab's and the API's filters), newest first.
            models.Index(fields=["engagement", "kind", "status", "-id"], name="raid_item_engagement_kind"),
            # The review sweep: open risks by review date and open assumptions by validation date.
            models.Index(fields=["review_on"], name="raid_item_open_review", condition=Q(status="open")),
            models.Index(fields=["validate_by"], name="raid_item_open_validate", condition=Q(status="open")),
            # The tab's order and paging key (selectors.raid_log): open before closed ("open" > "closed"),
            # risks by score, highest first (other kinds count 0), newest first, ending in the id.
            models.Index(
                F("engagement"),
                F("status").desc(),
                Coalesce(F("score"), Value(0)).desc(),
                F("id").desc(),
                name="raid_item_log_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title}"

    @property
    def status_words(self) -> str:
        """The status as a reader of this kind says it: an assumption "to validate", a decision "in force"."""
        if self.kind == RaidKind.ASSUMPTION and self.validation == RaidValidation.FAILED:
            return "Proved wrong"
        return STATUS_WORDS.get(self.kind, {}).get(self.status, self.get_status_display())

    @property
    def owner_name(self) -> str:
        return str(self.owner) if self.owner_id else ""

    @property
    def owner_words(self) -> str:
        """Who answers for it, as a page says it: the owner, or the engagement lead when nobody is named."""
        return self.owner_name or NO_OWNER_WORDS

    @property
    def date_words(self) -> str:
        """What the item's date means for its kind, said before the date."""
        return DATE_WORDS.get(self.kind, "")

    @property
    def settled_at(self) -> datetime | None:
        """When a closed assumption was settled (checked, or closed unchecked); None for anything
        else, whose own date still matters once closed, and for an open assumption, still to check."""
        if self.kind != RaidKind.ASSUMPTION or self.status != self.Status.CLOSED:
            return None
        return self.validated_at or self.closed_at

    @property
    def settled_words(self) -> str:
        """What settled a closed assumption, said before ``settled_at``: "Proved wrong on 3 Dec"."""
        if self.settled_at is None:
            return ""
        return f"{self.get_validation_display() if self.validation else 'Closed'} on"

    @property
    def overdue_words(self) -> str:
        """What an overdue item has missed, said before its date; empty for a decision."""
        return OVERDUE_WORDS.get(self.kind, "")

    def is_overdue(self, *, today: date) -> bool:
        """Open and past its date on ``today`` (the reader's day): a risk's review, an assumption's
        validation, an issue's due day. A decision is never overdue."""
        due = self.due_date
        if self.status != self.Status.OPEN or self.kind not in OVERDUE_WORDS:
            return False
        return due is not None and due < today

    @property
    def due_date(self) -> date | None:
        """The date that matters for this kind: review, validation, due or decision day."""
        dates: dict[str, date | None] = {
            RaidKind.RISK: self.review_on,
            RaidKind.ASSUMPTION: self.validate_by,
            RaidKind.ISSUE: self.due_on,
            RaidKind.DECISION: self.decided_on,
        }
        return dates.get(self.kind)


class RaidRiskReviewQuerySet(EngagementScopedQuerySet["RaidRiskReview"]):
    engagement_path = "item__engagement"


class RaidRiskReview(models.Model):
    """One review of a risk, written by raid_risk_review: the rating it found, beside the one before.

    The risk itself holds only its rating now; its page shows how it got there.
    The team's record: a client user reads the risk, never who rated it when
    (pmaas/sharing.py declares nothing of it).
    """

    item = models.ForeignKey(RaidItem, on_delete=models.CASCADE, related_name="reviews")
    previous_likelihood = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    previous_impact = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    likelihood = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    impact = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    trend = models.CharField(max_length=10, choices=RaidTrend.choices)
    next_review_on = models.DateField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField()

    objects = RaidRiskReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        indexes = [
            # A risk's reviews, newest first, with the id as tie-breaker.
            models.Index(fields=["item", "-reviewed_at", "-id"], name="raid_risk_review_history"),
        ]

    def __str__(self) -> str:
        return f"{self.item} reviewed {self.reviewed_at:%Y-%m-%d}: {self.score}"

    @property
    def score(self) -> int:
        return self.likelihood * self.impact

    @property
    def previous_score(self) -> int:
        return self.previous_likelihood * self.previous_impact
