"""Weekly roll-ups: per engagement and week, and per consultant on each, the figures trends read."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from engagements.models import Engagement, EngagementScopedQuerySet


class WeeklyRollupQuerySet(EngagementScopedQuerySet["WeeklyRollup"]):
    pass


class WeeklyRollup(models.Model):
    """One engagement's week (Monday to Monday in its client's time zone), summed.

    Written only by ``communications.rollups`` (the services that change an
    input, and the periodic sweep), always whole: every figure of the row is
    recomputed from the rows it sums. Reading 26 of these per engagement
    replaces grouping millions of check-ins on every page view.
    """

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="weekly_rollups")
    # The Monday the week starts on, in the engagement's client's zone.
    week_start = models.DateField()
    meetings = models.PositiveIntegerField(default=0, help_text="Check-ins logged in the week.")
    occurrences_planned = models.PositiveIntegerField(
        default=0, help_text="Planned check-ins due in the week, cancelled ones aside."
    )
    occurrences_due = models.PositiveIntegerField(
        default=0,
        help_text="Of those, the ones whose time has come (due, held or missed): compliance's base.",
    )
    occurrences_held = models.PositiveIntegerField(default=0)
    occurrences_held_on_time = models.PositiveIntegerField(default=0)
    occurrences_missed = models.PositiveIntegerField(default=0)
    overdue_follow_ups = models.PositiveIntegerField(
        default=0, help_text="Follow-ups overdue at the end of the week (or when computed, for this week)."
    )
    sentiment_sum = models.IntegerField(default=0)
    sentiment_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    objects = WeeklyRollupQuerySet.as_manager()

    class Meta:
        ordering = ["engagement", "week_start"]
        constraints = [
            # The refresh upserts on this key: a rerun, or two at once, rewrite one row.
            models.UniqueConstraint(fields=["engagement", "week_start"], name="weekly_rollup_once_per_week"),
            models.CheckConstraint(
                condition=Q(occurrences_due__lte=models.F("occurrences_planned"))
                & Q(occurrences_held_on_time__lte=models.F("occurrences_held")),
                name="weekly_rollup_counts_nest",
            ),
        ]
        indexes = [
            # The portfolio's trend reads a range of weeks across every engagement in scope.
            models.Index(fields=["week_start", "engagement"], name="weekly_rollup_week"),
        ]

    def __str__(self) -> str:
        return f"Week of {self.week_start:%Y-%m-%d} for engagement {self.engagement_id}"


class ConsultantWeeklyRollupQuerySet(EngagementScopedQuerySet["ConsultantWeeklyRollup"]):
    pass


class ConsultantWeeklyRollup(models.Model):
    """One person of the firm's own part in one engagement's week, summed; written with WeeklyRollup.

    Their own figures, not the engagement's: ``meetings`` and the sentiment
    count the check-ins they took part in (a team attendee, or the one who
    logged it; once each), the occurrences are those of the channels they
    own, ``overdue_follow_ups`` those they owe. Kept per engagement so a
    trend sums only the engagements its reader may see. Only pairs with a
    figure have a row; a refresh replaces the rows of the weeks it computes.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField()
    meetings = models.PositiveIntegerField(default=0, help_text="Check-ins they took part in.")
    occurrences_planned = models.PositiveIntegerField(default=0)
    occurrences_due = models.PositiveIntegerField(default=0)
    occurrences_held = models.PositiveIntegerField(default=0)
    occurrences_held_on_time = models.PositiveIntegerField(default=0)
    occurrences_missed = models.PositiveIntegerField(default=0)
    overdue_follow_ups = models.PositiveIntegerField(default=0)
    sentiment_sum = models.IntegerField(default=0)
    sentiment_count = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    objects = ConsultantWeeklyRollupQuerySet.as_manager()

    class Meta:
        ordering = ["user", "engagement", "week_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "engagement", "week_start"], name="consultant_rollup_once_per_week"
            ),
            models.CheckConstraint(
                condition=Q(occurrences_due__lte=models.F("occurrences_planned"))
                & Q(occurrences_held_on_time__lte=models.F("occurrences_held")),
                name="consultant_rollup_counts_nest",
            ),
        ]
        indexes = [
            # A consultant's trend: their weeks across the engagements in scope.
            models.Index(fields=["user", "week_start"], name="consultant_rollup_user_week"),
            # The refresh replaces one engagement's weeks.
            models.Index(fields=["engagement", "week_start"], name="consultant_rollup_engagement"),
        ]

    def __str__(self) -> str:
        return (
            f"Week of {self.week_start:%Y-%m-%d} for user {self.user_id} on engagement {self.engagement_id}"
        )
