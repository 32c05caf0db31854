"""Check-ins: what was logged of each interaction with stakeholders."""

from __future__ import annotations

from typing import Self

from django.conf import settings
from django.db import models
from django.db.models import Q

from communications.models.plan import Channel, ChannelKind
from engagements.models import Engagement, EngagementScopedQuerySet
from pmaas.validation import LONG_TEXT
from stakeholders.models import Stakeholder


class Sentiment(models.IntegerChoices):
    VERY_NEGATIVE = -2, "Very negative"
    NEGATIVE = -1, "Negative"
    NEUTRAL = 0, "Neutral"
    POSITIVE = 1, "Positive"
    VERY_POSITIVE = 2, "Very positive"


class CheckInQuerySet(EngagementScopedQuerySet["CheckIn"]):
    def with_stakeholder(self, stakeholder: Stakeholder | int) -> Self:
        return self.filter(attendees=stakeholder)


class CheckIn(models.Model):
    """One logged interaction with stakeholders."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="check_ins")
    # Ad-hoc conversations have no planned channel; a deleted plan keeps its history.
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="check_ins"
    )
    kind = models.CharField(max_length=20, choices=ChannelKind.choices, default=ChannelKind.MEETING)
    occurred_at = models.DateTimeField()
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="logged_check_ins"
    )
    attendees = models.ManyToManyField(Stakeholder, related_name="check_ins")
    team_attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="attended_check_ins", blank=True
    )
    summary = models.TextField(**LONG_TEXT)
    sentiment = models.SmallIntegerField(choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    decisions = models.TextField(**LONG_TEXT, blank=True)
    # Internal unless the team chooses otherwise (pmaas/sharing.py): summaries can be candid.
    shared_with_client = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Client users see its date, kind, attendees, summary and decisions; never its sentiment.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sentiment__gte=-2, sentiment__lte=2), name="check_in_sentiment_in_range"
            ),
        ]
        indexes = [
            # The engagement timeline, newest first.
            models.Index(fields=["engagement", "-occurred_at"], name="check_in_engagement_time"),
            # Last contact per channel, for cadence and silence.
            models.Index(fields=["channel", "-occurred_at"], name="check_in_channel_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.occurred_at:%Y-%m-%d %H:%M} ({self.engagement.code})"
