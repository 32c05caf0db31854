from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import BooleanField, Case, F, Q, Value, When

from engagements.models import ChangeRequest, Engagement, EngagementScopedQuerySet
from notifications.models import OutboxMessage
from pmaas.timezones import validate_time_zone
from pmaas.transitions import Transitions
from stakeholders.models import Stakeholder


def _flag(condition: Q) -> Case:
    """A boolean column that says whether the row meets ``condition``."""
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


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
    details = models.TextField(blank=True, help_text="Where, how to dial in, agenda.")
    recurrence = models.CharField(
        max_length=500, help_text="RFC 5545 rule, e.g. FREQ=WEEKLY;INTERVAL=2;BYDAY=TU."
    )
    starts_on = models.DateField(help_text="First day the cadence may fall on.")
    local_time = models.TimeField(help_text="Local time of day in the stakeholder's time zone.")
    grace_period = models.DurationField(
        default=DEFAULT_GRACE_PERIOD,
        help_text="How long after the due time a check-in still counts as on time.",
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
    summary = models.TextField()
    sentiment = models.SmallIntegerField(choices=Sentiment.choices, default=Sentiment.NEUTRAL)
    decisions = models.TextField(blank=True)
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
        return self.annotate(is_overdue=_flag(FollowUp.overdue_condition(as_of=as_of)))

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
    details = models.TextField(blank=True)
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
    due_at = models.DateTimeField()
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
            models.Index(fields=["owner_user", "status", "due_at"], name="follow_up_owner_status_due"),
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
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FollowUpCommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"Comment by {self.author} on {self.follow_up}"


class SponsorSubscriptionQuerySet(EngagementScopedQuerySet["SponsorSubscription"]):
    def active(self) -> Self:
        return self.filter(is_active=True)

    def due(self, *, as_of: datetime) -> Self:
        return self.active().filter(next_send_at__lte=as_of)


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
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
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

    def pending(self) -> Self:
        """Not sent yet: no message written, or its message still waiting in the outbox."""
        return self.filter(
            Q(outbox_message__isnull=True) | Q(outbox_message__status=OutboxMessage.Status.PENDING)
        )


class Delivery(models.Model):
    """One status update of a subscription for one period: written once, sent through the outbox.

    The row is the decision (this period's update exists); its message,
    attempts and outcome are the outbox's.
    """

    subscription = models.ForeignKey(SponsorSubscription, on_delete=models.CASCADE, related_name="deliveries")
    period_start = models.DateField(help_text="Local date of the period this update covers.")
    scheduled_for = models.DateTimeField()
    outbox_message = models.OneToOneField(
        OutboxMessage, on_delete=models.PROTECT, null=True, blank=True, related_name="delivery"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-scheduled_for"]
        verbose_name_plural = "deliveries"
        constraints = [
            # Exactly once per period, however many dispatchers run.
            models.UniqueConstraint(fields=["subscription", "period_start"], name="delivery_once_per_period"),
        ]

    def __str__(self) -> str:
        state = OutboxMessage.Status(self.status).label
        return f"{self.subscription} for {self.period_start:%Y-%m-%d} ({state})"

    @property
    def status(self) -> str:
        """The outcome as the outbox records it; pending until its message is written."""
        return self.outbox_message.status if self.outbox_message is not None else OutboxMessage.Status.PENDING


class CommunicationObligationQuerySet(EngagementScopedQuerySet["CommunicationObligation"]):
    def open(self) -> Self:
        return self.filter(status=CommunicationObligation.Status.OPEN)

    def overdue(self, *, as_of: datetime) -> Self:
        return self.filter(CommunicationObligation.overdue_condition(as_of=as_of))

    def with_is_overdue(self, *, as_of: datetime) -> Self:
        """Each row with ``is_overdue`` at ``as_of``: CommunicationObligation.overdue_condition."""
        return self.annotate(is_overdue=_flag(CommunicationObligation.overdue_condition(as_of=as_of)))


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
        help_text="When the change was recorded; check-ins before it do not count."
    )
    deadline = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    met_at = models.DateTimeField(null=True, blank=True)
    met_by_check_in = models.ForeignKey(
        CheckIn, on_delete=models.SET_NULL, null=True, blank=True, related_name="met_obligations"
    )
    waived_reason = models.TextField(blank=True)
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


class OccurrenceQuerySet(EngagementScopedQuerySet["Occurrence"]):
    engagement_path = "channel__engagement"

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
        ]

    def __str__(self) -> str:
        return f"{self.channel} due {self.due_at:%Y-%m-%d %H:%M} UTC ({self.get_status_display()})"


class SilenceFlagQuerySet(EngagementScopedQuerySet["SilenceFlag"]):
    def visible_to(self, user: Any) -> Self:
        """The firm's members who see the engagement; never the client's own users.

        A flag is the firm's judgement of its relationship with the client's
        people, some of whom are the client users themselves.
        """
        if user is not None and getattr(user, "role", None) == "client":
            return self.none()
        return super().visible_to(user)

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
