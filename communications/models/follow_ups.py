"""Follow-ups: action items owed by the team or the client, their overdue stamps and comments."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from communications.models.check_ins import CheckIn
from communications.models.conditions import condition_flag
from engagements.models import Engagement, EngagementScopedQuerySet
from pmaas.timezones import validate_time_zone
from pmaas.transitions import Transitions
from pmaas.validation import LONG_TEXT
from stakeholders.models import Stakeholder


class FollowUpQuerySet(EngagementScopedQuerySet["FollowUp"]):
    def open(self) -> Self:
        return self.filter(status=FollowUp.Status.OPEN)

    def with_overdue_at(self) -> Self:
        """Each row with ``overdue_at``: when the overdue scan stamped it, or None (one LEFT JOIN)."""
        return self.annotate(overdue_at=F("overdue_stamp__overdue_at"))

    def flagged(self) -> Self:
        """Stamped by the overdue scan."""
        return self.filter(overdue_stamp__isnull=False)

    def overdue(self, *, as_of: datetime) -> Self:
        return self.filter(FollowUp.overdue_condition(as_of=as_of))

    def with_is_overdue(self, *, as_of: datetime) -> Self:
        """Each row with ``is_overdue`` at ``as_of``, in the query: FollowUp.overdue_condition."""
        return self.annotate(is_overdue=condition_flag(FollowUp.overdue_condition(as_of=as_of)))

    def owed_by_client(self) -> Self:
        return self.filter(owner_stakeholder__isnull=False)

    def owed_by_team(self) -> Self:
        return self.filter(owner_user__isnull=False)


class FollowUp(models.Model):
    """An action item: owed by someone of the team, or by a stakeholder of the client."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    # A closed item can be opened again, but a cancelled one is never completed:
    # it was dropped, not done. Completing a done item, or reopening an open
    # one, changes nothing.
    TRANSITIONS: ClassVar[Transitions] = Transitions(
        Status,
        {
            Status.OPEN: {Status.DONE, Status.CANCELLED},
            Status.DONE: {Status.OPEN},
            Status.CANCELLED: {Status.OPEN},
        },
        repeatable=True,
        noun="follow-up",
    )

    # The foreign keys below without an index of their own either lead a
    # composite index (engagement, owner_user, owner_stakeholder) or serve only
    # the rare deletion of a user (completed_by, created_by). Every index is
    # written by the overdue scan's UPDATE; fewer make it faster
    # (docs/benchmarks.md).
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="follow_ups", db_index=False
    )
    check_in = models.ForeignKey(
        CheckIn, on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )
    title = models.CharField(max_length=300)
    details = models.TextField(**LONG_TEXT, blank=True)
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        db_index=False,
    )
    owner_stakeholder = models.ForeignKey(
        Stakeholder,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        db_index=False,
    )
    # Whom a team item is about ("send Ana the cut-over plan"); its owner says who does it.
    stakeholder = models.ForeignKey(
        Stakeholder,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups_concerning",
        verbose_name="stakeholder concerned",
    )
    due_at = models.DateTimeField()
    # A deadline agreed as a day is that day everywhere (pmaas/deadlines.py), however far a reader is.
    due_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        validators=[validate_time_zone],
        help_text=(
            "For an item agreed for a day: the time zone of that day, at whose end it is due. "
            "Empty for an item due at a time."
        ),
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    # The client's users see the items their own people owe; a team item only when shared.
    shared_with_client = models.BooleanField(
        default=False, db_default=False, help_text="Show this team-owned item to the client's users as well."
    )
    escalation_level = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = FollowUpQuerySet.as_manager()

    class Meta:
        ordering = ["due_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_user__isnull=False) & Q(owner_stakeholder__isnull=True))
                | (Q(owner_user__isnull=True) & Q(owner_stakeholder__isnull=False)),
                name="follow_up_exactly_one_owner",
                violation_error_message="A follow-up has exactly one owner: a team member or a stakeholder.",
            ),
            models.CheckConstraint(
                condition=(Q(status="done") & Q(completed_at__isnull=False))
                | (~Q(status="done") & Q(completed_at__isnull=True)),
                name="follow_up_completed_at_iff_done",
            ),
        ]
        indexes = [
            # The overdue scan reads open items by due time. Its predicate names no
            # column the scan writes: the scan writes no follow-up at all.
            # The id alongside lets PostgreSQL answer the scan from the index alone.
            models.Index(
                fields=["due_at"], include=["id"], name="follow_up_open_due", condition=Q(status="open")
            ),
            # What a person owes (owner and status), soonest first, in the API's order.
            models.Index(
                fields=["owner_user", "status", "due_at", "id"], name="follow_up_owner_status_order"
            ),
            # The API's follow-ups for whoever sees the whole firm, all or by status, in due order.
            models.Index(fields=["due_at", "id"], name="follow_up_due_order"),
            models.Index(fields=["status", "due_at", "id"], name="follow_up_status_due_order"),
            # The API's follow-ups of one engagement, in due order.
            models.Index(fields=["engagement", "due_at", "id"], name="follow_up_engagement_order"),
            models.Index(fields=["engagement", "status", "due_at"], name="follow_up_engagement_status"),
            models.Index(fields=["owner_stakeholder", "status"], name="follow_up_stakeholder_status"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def owner_name(self) -> str:
        return str(self.owner_user or self.owner_stakeholder)

    @classmethod
    def overdue_condition(cls, *, as_of: datetime) -> Q:
        """The one rule for "overdue", in pages and API alike: open and past its due time.

        A done or cancelled item is never overdue, however late it was closed.
        Whether the overdue scan has stamped it is another matter (``flagged``).
        """
        return Q(status=cls.Status.OPEN, due_at__lt=as_of)

    def is_overdue_at(self, as_of: datetime) -> bool:
        """``overdue_condition`` for this row, for one not read through ``with_is_overdue``."""
        return self.status == self.Status.OPEN and self.due_at < as_of

    @property
    def is_owed_by_client(self) -> bool:
        return self.owner_stakeholder_id is not None


class FollowUpOverdueQuerySet(EngagementScopedQuerySet["FollowUpOverdue"]):
    engagement_path = "follow_up__engagement"


class FollowUpOverdue(models.Model):
    """When the overdue scan first saw a follow-up late: written once, by one INSERT … SELECT per sweep.

    A narrow table of its own rather than a column of the follow-up: the scan
    appends small rows with one index instead of rewriting wide follow-up rows
    and every one of their indexes, seven to nine times faster
    (docs/benchmarks.md). No index on ``overdue_at``: each one would be
    written by every stamp, while the sweeps that read recent stamps scan a
    table of stamps only. Re-dating a follow-up to the future deletes its
    stamp, so it can go overdue again.
    """

    # No database foreign key: checking it for every stamp was two thirds of
    # the scan's time. A stamp is written only for a follow-up the same
    # statement reads, and Django's cascade deletes it with its follow-up; a
    # stamp left by a follow-up deleted during a scan joins to nothing.
    follow_up = models.OneToOneField(
        FollowUp,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="overdue_stamp",
        db_constraint=False,
    )
    overdue_at = models.DateTimeField()

    objects = FollowUpOverdueQuerySet.as_manager()

    class Meta:
        ordering = ["-overdue_at"]
        verbose_name = "overdue stamp"

    def __str__(self) -> str:
        return f"Follow-up {self.follow_up_id} overdue since {self.overdue_at:%Y-%m-%d %H:%M} UTC"


class FollowUpCommentQuerySet(EngagementScopedQuerySet["FollowUpComment"]):
    engagement_path = "follow_up__engagement"


class FollowUpComment(models.Model):
    """A note on a follow-up; the way a client PMO lead answers on their own items."""

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(**LONG_TEXT)
    # A comment by a client user is always shared; the team chooses for its own.
    shared_with_client = models.BooleanField(default=False, db_default=False)
    # When it was written: the page shows it; follow_up_comment_add sets it from its ``as_of``.
    created_at = models.DateTimeField(default=timezone.now)

    objects = FollowUpCommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.follow_up}"


class FollowUpRedateQuerySet(EngagementScopedQuerySet["FollowUpRedate"]):
    engagement_path = "follow_up__engagement"


class FollowUpRedate(models.Model):
    """One move of a follow-up's due time, written by follow_up_redate: its page shows the history."""

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="redates")
    previous_due_at = models.DateTimeField()
    # The items' due_zone before and after the move, so each reads as the day it was.
    previous_due_zone = models.CharField(
        max_length=64, blank=True, default="", db_default="", validators=[validate_time_zone]
    )
    due_at = models.DateTimeField()
    due_zone = models.CharField(
        max_length=64, blank=True, default="", db_default="", validators=[validate_time_zone]
    )
    redated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    redated_at = models.DateTimeField()

    objects = FollowUpRedateQuerySet.as_manager()

    class Meta:
        ordering = ["-redated_at", "-id"]
        indexes = [
            # A follow-up's history, newest first, with the id as tie-breaker.
            models.Index(fields=["follow_up", "-redated_at", "-id"], name="follow_up_redate_history"),
        ]

    def __str__(self) -> str:
        return f"{self.follow_up} moved from {self.previous_due_at:%Y-%m-%d} to {self.due_at:%Y-%m-%d}"
