"""The communication plan: channels, each a planned line of communication with one stakeholder."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from engagements.models import Engagement, EngagementScopedQuerySet
from pmaas.transitions import Transitions
from pmaas.validation import LONG_TEXT
from stakeholders.models import Stakeholder


class ChannelKind(models.TextChoices):
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    CALL = "call", "Call"
    VIDEO = "video", "Video call"
    WORKSHOP = "workshop", "Workshop"
    STEERING_COMMITTEE = "steering_committee", "Steering committee"
    PM_TOOL = "pm_tool", "PM tool"
    CHAT = "chat", "Chat"


class ChannelQuerySet(EngagementScopedQuerySet["Channel"]):
    def active(self) -> Self:
        return self.filter(status=Channel.Status.ACTIVE)

    def due(self, *, as_of: datetime) -> Self:
        return self.active().filter(next_due_at__lte=as_of)


# How long after its due time a check-in still counts as on time, unless the plan says otherwise.
DEFAULT_GRACE_PERIOD = timedelta(days=2)
# How long a check-in takes in the calendar feeds, where it shows as busy time.
DEFAULT_DURATION = timedelta(minutes=30)
# Shorter than a few minutes is no meeting; longer than a working day is no single check-in.
SHORTEST_DURATION = timedelta(minutes=5)
LONGEST_DURATION = timedelta(hours=8)
DURATION_RANGE_MESSAGE = "A check-in lasts from 5 minutes to 8 hours."


class Channel(models.Model):
    """One planned line of communication with a stakeholder, on a cadence in their local time."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    # Pausing a paused channel, or resuming an active one, changes nothing.
    TRANSITIONS: ClassVar[Transitions] = Transitions(
        Status, {Status.ACTIVE: {Status.PAUSED}, Status.PAUSED: {Status.ACTIVE}}, repeatable=True
    )

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="channels")
    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.CASCADE, related_name="channels")
    kind = models.CharField(max_length=20, choices=ChannelKind.choices, default=ChannelKind.MEETING)
    title = models.CharField(max_length=200, help_text="e.g. Weekly sponsor one-to-one.")
    details = models.TextField(**LONG_TEXT, blank=True, help_text="Where, how to dial in, agenda.")
    recurrence = models.CharField(
        max_length=500, help_text="RFC 5545 rule, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU."
    )
    starts_on = models.DateField(help_text="First day the cadence may fall on.")
    local_time = models.TimeField(help_text="Local time of day in the stakeholder's time zone.")
    grace_period = models.DurationField(
        default=DEFAULT_GRACE_PERIOD,
        help_text="How long after the due time a check-in still counts as on time.",
    )
    duration = models.DurationField(
        default=DEFAULT_DURATION,
        validators=[
            MinValueValidator(SHORTEST_DURATION, message=DURATION_RANGE_MESSAGE),
            MaxValueValidator(LONGEST_DURATION, message=DURATION_RANGE_MESSAGE),
        ],
        help_text="How long each check-in takes; calendar feeds show it as busy for this long.",
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="channels")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    next_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["engagement", "next_due_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(grace_period__gte=timedelta(0)), name="channel_grace_not_negative"
            ),
            # A calendar event needs a positive length, and a day-long one would block the whole day.
            models.CheckConstraint(
                condition=Q(duration__gte=SHORTEST_DURATION, duration__lte=LONGEST_DURATION),
                name="channel_duration_in_range",
            ),
        ]
        indexes = [
            # The dispatcher's scan: active channels by next due time, nothing else.
            models.Index(
                fields=["next_due_at"], name="channel_active_next_due", condition=Q(status="active")
            ),
            models.Index(fields=["owner", "next_due_at"], name="channel_owner_next_due"),
            models.Index(fields=["stakeholder", "engagement"], name="channel_stakeholder_engagement"),
        ]

    def __str__(self) -> str:
        return f"{self.title} with {self.stakeholder}"

    @property
    def title_names_kind(self) -> bool:
        """Whether the title already says the kind ("Monthly steering committee"): say it once, then."""
        kind = re.escape(str(self.get_kind_display()))
        return re.search(rf"\b{kind}\b", self.title, flags=re.IGNORECASE) is not None
