"""Sponsor subscriptions and the update of each period, sent through the outbox."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from engagements.models import Engagement, EngagementScopedQuerySet, Health
from notifications.models import OutboxMessage
from pmaas.timezones import validate_time_zone
from pmaas.validation import LONG_TEXT
from stakeholders.models import Stakeholder


class SponsorSubscriptionQuerySet(EngagementScopedQuerySet["SponsorSubscription"]):
    def active(self) -> Self:
        return self.filter(is_active=True)

    def due(self, *, as_of: datetime) -> Self:
        return self.active().filter(next_send_at__lte=as_of)

    def for_stakeholder_email(self, email: str) -> Self:
        return self.filter(stakeholder__email__iexact=email)


class SponsorSubscription(models.Model):
    """A sponsor's standing request for a status update, at a local day and time they choose."""

    class Cadence(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        FORTNIGHTLY = "fortnightly", "Every two weeks"
        MONTHLY = "monthly", "Monthly (first chosen weekday)"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    class StoppedBy(models.TextChoices):
        TEAM = "team", "The team"
        RECIPIENT = "recipient", "The recipient"

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="sponsor_subscriptions")
    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.CASCADE, related_name="sponsor_subscriptions"
    )
    cadence = models.CharField(max_length=12, choices=Cadence.choices, default=Cadence.WEEKLY)
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices,
        default=Weekday.MONDAY,
        validators=[MinValueValidator(0), MaxValueValidator(6)],
    )
    local_time = models.TimeField()
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    is_active = models.BooleanField(default=True)
    # Who turned it off: a subscription the team or the recipient stopped stays a row, so the
    # default subscription of a sponsor is never written again behind their back.
    stopped_by = models.CharField(max_length=10, choices=StoppedBy.choices, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateField(
        null=True, blank=True, help_text="No update goes out on a local date up to and including this one."
    )
    needs_approval = models.BooleanField(
        default=False, db_default=False, help_text="The engagement lead approves each update before it goes."
    )
    next_send_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SponsorSubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["engagement", "stakeholder__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "stakeholder"],
                name="subscription_once_per_sponsor",
                violation_error_message="This stakeholder already receives updates for this engagement.",
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="subscription_weekday_0_6"
            ),
        ]
        indexes = [
            # The sponsor-update dispatcher: active subscriptions by next send time.
            models.Index(
                fields=["next_send_at"], name="subscription_active_next", condition=Q(is_active=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_cadence_display()} update to {self.stakeholder} on {self.engagement.code}"


class DeliveryQuerySet(EngagementScopedQuerySet["Delivery"]):
    engagement_path = "subscription__engagement"

    def unacknowledged(self) -> Self:
        """Sent and not yet acknowledged by the recipient."""
        return self.filter(outbox_message__status=OutboxMessage.Status.SENT, acknowledged_at__isnull=True)

    def failed_unreported(self) -> Self:
        """Given up by the outbox and not yet reported to the engagement's leads."""
        return self.filter(
            outbox_message__status=OutboxMessage.Status.FAILED, failure_reported_at__isnull=True
        )

    def pending(self) -> Self:
        """Not sent yet: no message written, or its message still waiting in the outbox."""
        return self.filter(
            Q(outbox_message__isnull=True) | Q(outbox_message__status=OutboxMessage.Status.PENDING)
        )

    def come_due(self) -> Self:
        """Past its send time: its message written, or held for approval (not a draft of one still ahead)."""
        return self.filter(Q(outbox_message__isnull=False) | Q(held_at__isnull=False))

    def waiting_for_approval(self) -> Self:
        """Came due, needs the lead's approval and has none yet: nothing was sent."""
        return self.filter(held_at__isnull=False, outbox_message__isnull=True)


class Delivery(models.Model):
    """One status update of a subscription for one period: written once, sent through the outbox.

    The row is the decision (this period's update exists); its message,
    attempts and outcome are the outbox's.
    """

    class State(models.TextChoices):
        """Where an update stands: before it has a message, its own; after, its message's (the outbox's)."""

        DRAFT = "draft", "Draft, written ahead of its time"
        WAITING_FOR_APPROVAL = "waiting_for_approval", "Waiting for approval"
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    subscription = models.ForeignKey(SponsorSubscription, on_delete=models.CASCADE, related_name="deliveries")
    period_start = models.DateField(help_text="First local date the update covers.")
    period_end = models.DateField(
        null=True, blank=True, help_text="Local date the update was due; it covers the days before it."
    )
    # Empty for the scheduled update of a period; a "send now" names its own request.
    ad_hoc_key = models.CharField(max_length=64, blank=True)
    # The engagement's health as shared with the client when the update was written ("" when not
    # shared), so the next update can say which way it moved.
    health = models.CharField(max_length=5, choices=Health.choices, blank=True)
    scheduled_for = models.DateTimeField()
    outbox_message = models.OneToOneField(
        OutboxMessage, on_delete=models.PROTECT, null=True, blank=True, related_name="delivery"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The recipient's answer through the update's "Acknowledge" link: the time is set once, never
    # moved; the comment and the wish for a call may be changed later through the same link.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(
        **LONG_TEXT, blank=True, help_text="The recipient's comment when acknowledging."
    )
    wants_call = models.BooleanField(default=False, help_text="The recipient would like a call.")
    # When the engagement's leads were told that this update could not be delivered; set once, so
    # the sweep that reports failed updates tells them once.
    failure_reported_at = models.DateTimeField(null=True, blank=True)
    # The few sentences at the top of the update. Drafted automatically from the period's shared
    # content unless the lead wrote it; a draft row may exist before the send time for that.
    summary = models.TextField(**LONG_TEXT, blank=True, help_text="The summary at the top of the update.")
    summary_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who wrote the summary; empty when it was drafted automatically.",
    )
    # Set once, by the sweep, when an update that needs approval came due without it: from then on
    # it waits, and approving it sends it at once, late.
    held_at = models.DateTimeField(
        null=True, blank=True, help_text="When the update came due and waited for approval."
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-scheduled_for"]
        verbose_name_plural = "deliveries"
        constraints = [
            # Exactly once per period (named by the local date it was due), however many sweeps run.
            models.UniqueConstraint(
                fields=["subscription", "period_end"],
                condition=Q(ad_hoc_key=""),
                name="delivery_once_per_period",
            ),
            # A "send now" request writes one update, however often it is submitted.
            models.UniqueConstraint(
                fields=["subscription", "ad_hoc_key"],
                condition=~Q(ad_hoc_key=""),
                name="delivery_once_per_ad_hoc_request",
            ),
        ]

    def __str__(self) -> str:
        state = OutboxMessage.Status(self.status).label
        due = self.period_end or self.period_start
        return f"{self.subscription} for {due:%Y-%m-%d} ({state})"

    @property
    def last_day(self) -> date:
        """The last local date the update covers (``period_end`` is the day it was due, not covered)."""
        if self.period_end is None or self.period_end <= self.period_start:
            return self.period_start
        return self.period_end - timedelta(days=1)

    @property
    def is_waiting(self) -> bool:
        """Held for approval at its send time, and not sent since."""
        return self.held_at is not None and self.outbox_message_id is None

    @property
    def is_late(self) -> bool:
        """Sent after its send time because it waited for approval."""
        return self.held_at is not None and self.outbox_message_id is not None

    @property
    def status(self) -> str:
        """The outcome as the outbox records it; pending until its message is written."""
        return self.outbox_message.status if self.outbox_message is not None else OutboxMessage.Status.PENDING

    @property
    def state(self) -> str:
        """A ``State``: a draft written ahead, an update waiting for approval, or its message's status."""
        if self.outbox_message is not None:
            return self.outbox_message.status
        return self.State.WAITING_FOR_APPROVAL if self.held_at is not None else self.State.DRAFT
