"""Communication obligations: who must be told about a recorded change, by when."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q

from communications.models.check_ins import CheckIn
from communications.models.conditions import condition_flag
from communications.models.plan import Channel
from engagements.models import ChangeRequest, Engagement, EngagementScopedQuerySet
from pmaas.transitions import Transitions
from pmaas.validation import LONG_TEXT
from stakeholders.models import Stakeholder


class CommunicationObligationQuerySet(EngagementScopedQuerySet["CommunicationObligation"]):
    def open(self) -> Self:
        return self.filter(status=CommunicationObligation.Status.OPEN)

    def overdue(self, *, as_of: datetime) -> Self:
        return self.filter(CommunicationObligation.overdue_condition(as_of=as_of))

    def with_is_overdue(self, *, as_of: datetime) -> Self:
        """Each row with ``is_overdue`` at ``as_of``: CommunicationObligation.overdue_condition."""
        return self.annotate(
            is_overdue=condition_flag(CommunicationObligation.overdue_condition(as_of=as_of))
        )


class CommunicationObligation(models.Model):
    """A stakeholder who must be told about a change request, by a deadline, until a check-in does it."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MET = "met", "Met"
        WAIVED = "waived", "Waived"

    # Met and waived are final: a person who must hear again gets a new obligation.
    TRANSITIONS: ClassVar[Transitions] = Transitions(
        Status, {Status.OPEN: {Status.MET, Status.WAIVED}}, noun="obligation"
    )

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="communication_obligations"
    )
    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.CASCADE, related_name="communication_obligations"
    )
    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.CASCADE, related_name="communication_obligations"
    )
    # The planned line the news should travel on; none when the plan has no active channel.
    channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="obligations"
    )
    opened_at = models.DateTimeField(
        help_text=(
            "When the change was recorded; a check-in with the person on or after that day, "
            "in their time zone, meets it."
        )
    )
    deadline = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    met_at = models.DateTimeField(null=True, blank=True)
    met_by_check_in = models.ForeignKey(
        CheckIn, on_delete=models.SET_NULL, null=True, blank=True, related_name="met_obligations"
    )
    waived_reason = models.TextField(**LONG_TEXT, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    waived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommunicationObligationQuerySet.as_manager()

    class Meta:
        ordering = ["deadline"]
        constraints = [
            # One thing to track per person and change; a waived or met one may be followed by a new one.
            models.UniqueConstraint(
                fields=["change_request", "stakeholder"],
                condition=Q(status="open"),
                name="obligation_open_once_per_stakeholder",
                violation_error_message="This stakeholder already has an open obligation for this change.",
            ),
            models.CheckConstraint(
                condition=(Q(status="met") & Q(met_at__isnull=False))
                | (~Q(status="met") & Q(met_at__isnull=True)),
                name="obligation_met_at_iff_met",
            ),
            # A waiver without a reason would leave nobody able to say why the person was not told.
            models.CheckConstraint(
                condition=~Q(status="waived") | ~Q(waived_reason=""),
                name="obligation_waiver_has_reason",
            ),
        ]
        indexes = [
            # Open obligations of an engagement by deadline, for its pages and the check-in hook.
            models.Index(fields=["engagement", "status", "deadline"], name="obligation_eng_status_deadline"),
            models.Index(fields=["change_request", "status"], name="obligation_change_status"),
        ]

    def __str__(self) -> str:
        return f"Tell {self.stakeholder} about {self.change_request.title} ({self.get_status_display()})"

    @classmethod
    def overdue_condition(cls, *, as_of: datetime) -> Q:
        """The one rule for an overdue obligation: open and past its deadline; met or waived never is."""
        return Q(status=cls.Status.OPEN, deadline__lt=as_of)

    def is_overdue_at(self, as_of: datetime) -> bool:
        """``overdue_condition`` for this row, for one not read through ``with_is_overdue``."""
        return self.status == self.Status.OPEN and self.deadline < as_of
