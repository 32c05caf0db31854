"""Occurrences: each due time of a channel, upcoming, due, held, missed or cancelled."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from django.db import models
from django.db.models import Q

from communications.models.check_ins import CheckIn
from communications.models.plan import Channel
from engagements.models import Engagement, EngagementScopedQuerySet
from pmaas.transitions import Transitions


class OccurrenceQuerySet(EngagementScopedQuerySet["Occurrence"]):
    engagement_path = "engagement"

    def open(self) -> Self:
        return self.filter(status__in=Occurrence.OPEN_STATUSES)


class Occurrence(models.Model):
    """One due time of a channel: created ahead by the dispatcher, then held, missed or cancelled."""

    class Status(models.TextChoices):
        UPCOMING = "upcoming", "Upcoming"
        DUE = "due", "Due"
        HELD = "held", "Held"
        MISSED = "missed", "Missed"
        CANCELLED = "cancelled", "Cancelled"

    # The only moves the services make. Held and missed are final; a cancelled
    # row comes back only when its channel is resumed onto the same due time.
    TRANSITIONS: ClassVar[Transitions] = Transitions(
        Status,
        {
            Status.UPCOMING: {Status.DUE, Status.HELD, Status.CANCELLED},
            Status.DUE: {Status.HELD, Status.MISSED, Status.CANCELLED},
            Status.CANCELLED: {Status.UPCOMING},
        },
    )
    OPEN_STATUSES: ClassVar[tuple[str, ...]] = (Status.UPCOMING, Status.DUE)

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="occurrences")
    # The channel's engagement, kept on the row (a channel never moves): compliance counts a firm's
    # occurrences per engagement from one covering index, without joining every row to its channel.
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="occurrences", editable=False, db_index=False
    )
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPCOMING)
    held_at = models.DateTimeField(null=True, blank=True)
    held_on_time = models.BooleanField(null=True, blank=True)
    check_in = models.ForeignKey(
        CheckIn, on_delete=models.SET_NULL, null=True, blank=True, related_name="occurrences"
    )
    missed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OccurrenceQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        constraints = [
            # However many dispatchers run, a channel's due time becomes one row.
            models.UniqueConstraint(fields=["channel", "due_at"], name="occurrence_once_per_due_time"),
            models.CheckConstraint(
                condition=(Q(status="held") & Q(held_at__isnull=False) & Q(held_on_time__isnull=False))
                | (~Q(status="held") & Q(held_at__isnull=True) & Q(held_on_time__isnull=True)),
                name="occurrence_held_fields_iff_held",
            ),
            models.CheckConstraint(
                condition=(Q(status="missed") & Q(missed_at__isnull=False))
                | (~Q(status="missed") & Q(missed_at__isnull=True)),
                name="occurrence_missed_at_iff_missed",
            ),
        ]
        indexes = [
            # The two sweeps: upcoming rows falling due, due rows running out of grace.
            models.Index(fields=["due_at"], name="occurrence_upcoming_due", condition=Q(status="upcoming")),
            models.Index(fields=["due_at"], name="occurrence_due_due", condition=Q(status="due")),
            # The reminder sweep: open rows by due time.
            models.Index(
                fields=["due_at"], name="occurrence_open_due", condition=Q(status__in=["upcoming", "due"])
            ),
            # Compliance over a window: every row due in it, counted per engagement, read from the
            # index alone on PostgreSQL (elsewhere a plain index on the due time).
            models.Index(
                fields=["due_at"],
                include=["engagement", "status", "held_on_time"],
                name="occurrence_due_counted",
            ),
            # One engagement's occurrences by due time: its compliance as a column of the portfolio,
            # its trends, health and roll-ups.
            models.Index(
                fields=["engagement", "due_at"],
                include=["status", "held_on_time"],
                name="occurrence_engagement_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} due {self.due_at:%Y-%m-%d %H:%M} UTC ({self.get_status_display()})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The row's engagement is always its channel's (the bulk inserts of the scheduler set it too).
        self.engagement_id = self.channel.engagement_id
        super().save(*args, **kwargs)
