"""Silence flags: sponsors and PMO leads not heard from for longer than their plan allows."""

from __future__ import annotations

from typing import Self

from django.db import models
from django.db.models import Q

from communications.models.check_ins import CheckIn
from communications.models.follow_ups import FollowUp
from engagements.models import Engagement, EngagementScopedQuerySet
from stakeholders.models import Stakeholder


class SilenceFlagQuerySet(EngagementScopedQuerySet["SilenceFlag"]):
    # Never shared with client users (pmaas/sharing.py): a flag is the firm's judgement
    # of its relationship with the client's people, some of whom are the client users themselves.

    def open(self) -> Self:
        return self.filter(cleared_at__isnull=True)


class SilenceFlag(models.Model):
    """A sponsor or PMO lead not heard from for longer than their plan allows, until a check-in clears it."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="silence_flags")
    stakeholder = models.ForeignKey(Stakeholder, on_delete=models.CASCADE, related_name="silence_flags")
    raised_at = models.DateTimeField()
    # The last check-in with this person on this engagement; none when there never was one.
    last_contact_at = models.DateTimeField(null=True, blank=True)
    allowed_silence = models.DurationField(help_text="k times the planned interval of their cadence.")
    follow_up = models.ForeignKey(
        FollowUp, on_delete=models.SET_NULL, null=True, blank=True, related_name="silence_flags"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by_check_in = models.ForeignKey(
        CheckIn, on_delete=models.SET_NULL, null=True, blank=True, related_name="cleared_silence_flags"
    )

    objects = SilenceFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # However often the sweep runs, one open flag per person and engagement.
            models.UniqueConstraint(
                fields=["engagement", "stakeholder"],
                condition=Q(cleared_at__isnull=True),
                name="silence_flag_open_once",
            ),
        ]
        indexes = [
            models.Index(fields=["engagement", "cleared_at"], name="silence_flag_engagement"),
        ]

    def __str__(self) -> str:
        state = "cleared" if self.cleared_at else "open"
        return f"{self.stakeholder} silent on {self.engagement.code} ({state})"
