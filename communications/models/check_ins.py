"""Check-ins: what was logged of each interaction with stakeholders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

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
    # Set by check_in_edit: the timeline marks the entry "edited" and offers its earlier versions.
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = CheckInQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sentiment__gte=-2, sentiment__lte=2), name="check_in_sentiment_in_range"
            ),
        ]
        indexes = [
            # The engagement timeline and the API's check-ins of one engagement: newest first, then by id.
            models.Index(fields=["engagement", "-occurred_at", "-id"], name="check_in_engagement_recent"),
            # The API's check-ins for whoever sees the whole firm: newest first without sorting them all.
            models.Index(fields=["-occurred_at", "-id"], name="check_in_recent"),
            # Last contact per channel, for cadence and silence.
            models.Index(fields=["channel", "-occurred_at"], name="check_in_channel_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.occurred_at:%Y-%m-%d %H:%M} ({self.engagement.code})"


def names_as_recorded(people: Iterable[Any]) -> str:
    """People as a revision or a deletion records them, and as a page shows them beside: names, sorted."""
    return ", ".join(sorted(str(person) for person in people))


class CheckInRevisionQuerySet(EngagementScopedQuerySet["CheckInRevision"]):
    engagement_path = "check_in__engagement"


class CheckInRevision(models.Model):
    """A check-in as it stood before one edit: written by check_in_edit, never changed afterwards.

    Attendees are kept as names, not links: the version records what the
    check-in said then, even if a person later leaves the register.
    """

    check_in = models.ForeignKey(CheckIn, on_delete=models.CASCADE, related_name="revisions")
    occurred_at = models.DateTimeField()
    summary = models.TextField(**LONG_TEXT)
    decisions = models.TextField(**LONG_TEXT, blank=True)
    attendee_names = models.TextField(**LONG_TEXT, blank=True)
    team_attendee_names = models.TextField(**LONG_TEXT, blank=True)
    kind = models.CharField(max_length=20, choices=ChannelKind.choices, default=ChannelKind.MEETING)
    sentiment = models.SmallIntegerField(choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    # Whether the client saw that version: a correction may share a check-in or take it back.
    shared_with_client = models.BooleanField(default=False)
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    edited_at = models.DateTimeField()

    objects = CheckInRevisionQuerySet.as_manager()

    class Meta:
        ordering = ["-edited_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sentiment__gte=-2, sentiment__lte=2), name="check_in_revision_sentiment_in_range"
            ),
        ]
        indexes = [
            # A check-in's history, newest first, with the id as tie-breaker.
            models.Index(fields=["check_in", "-edited_at", "-id"], name="check_in_revision_history"),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.check_in_id} before the edit of {self.edited_at:%Y-%m-%d %H:%M}"


class CheckInDeletionQuerySet(EngagementScopedQuerySet["CheckInDeletion"]):
    pass


class CheckInDeletion(models.Model):
    """A check-in the engagement lead deleted: who, when, why, and what it said.

    The check-in itself is gone, so it leaves every timeline, count and
    compliance figure without each read having to skip it; this record keeps
    the reason and the last version for whoever asks later.
    """

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="check_in_deletions")
    check_in_number = models.PositiveBigIntegerField(help_text="The deleted check-in's id.")
    occurred_at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    summary = models.TextField(**LONG_TEXT)
    decisions = models.TextField(**LONG_TEXT, blank=True)
    attendee_names = models.TextField(**LONG_TEXT, blank=True)
    logged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    deleted_at = models.DateTimeField()
    reason = models.TextField(**LONG_TEXT)

    objects = CheckInDeletionQuerySet.as_manager()

    class Meta:
        ordering = ["-deleted_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="check_in_deletion_has_reason"),
        ]
        indexes = [
            models.Index(fields=["engagement", "-deleted_at", "-id"], name="check_in_deletion_engagement"),
        ]

    def __str__(self) -> str:
        return f"Check-in {self.check_in_number} of {self.occurred_at:%Y-%m-%d} deleted"
