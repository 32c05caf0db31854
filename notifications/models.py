"""What a user is told and how: in-app notifications, their preferences, and the one outbox.

Every outbound message (a check-in reminder, a daily digest, an escalation,
a sponsor's status update; later a webhook) is an ``OutboxMessage`` row,
rendered when the domain decides to send and written in that decision's
transaction. Claiming, sending, retrying, recording and reconciling are the
outbox's (``notifications.outbox``), written once.
"""

from __future__ import annotations

from datetime import time
from typing import Any, ClassVar, Self

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import OwnRowsQuerySet
from engagements.models import Engagement
from pmaas.transitions import Transitions


class NotificationEvent(models.TextChoices):
    """What a user can be told about; each has its own in-app and email switch."""

    CHECK_IN_REMINDER = "check_in_reminder", "A planned check-in of mine is coming up"
    CHECK_IN_MISSED = "check_in_missed", "A planned check-in of mine was missed"
    FOLLOW_UP_OVERDUE = "follow_up_overdue", "A follow-up I answer for went overdue"
    FOLLOW_UP_ESCALATED = "follow_up_escalated", "A follow-up was escalated to me"
    SPONSOR_SILENT = "sponsor_silent", "A sponsor or PMO lead I own has gone quiet"
    UPDATE_ACKNOWLEDGED = "update_acknowledged", "A sponsor acknowledged a status update of mine"
    UPDATE_FAILED = "update_failed", "A status update to a sponsor could not be delivered"
    UPDATE_APPROVAL_NEEDED = "update_approval_needed", "A status update waits for my approval"
    RAID_REVIEW_DUE = "raid_review_due", "Risks or assumptions I own are past their review date"


# The events whose mail comes in the daily digest unless the user chose to get them at once
# (``NotificationPreference.<event>_at_once``); a reminder is always mailed on its own, on time.
DIGESTIBLE_EVENTS = (
    NotificationEvent.FOLLOW_UP_ESCALATED,
    NotificationEvent.FOLLOW_UP_OVERDUE,
    NotificationEvent.CHECK_IN_MISSED,
    NotificationEvent.SPONSOR_SILENT,
)


# Mailed in the daily digest only, never at once, so they offer no at-once switch: a RAID review
# notice already gathers a day's late items (one a day per owner), and is news for the morning.
DIGEST_ONLY_EVENTS = (NotificationEvent.RAID_REVIEW_DUE,)

# Every event the daily digest reports, when the user takes its mail.
DAILY_DIGEST_EVENTS = (*DIGESTIBLE_EVENTS, *DIGEST_ONLY_EVENTS)

# Told in the app only: no digest or at-once mail reports them, so they offer no email switch.
IN_APP_ONLY_EVENTS = (
    NotificationEvent.UPDATE_ACKNOWLEDGED,
    NotificationEvent.UPDATE_FAILED,
)

# Mailed on its own the moment it happens, never in a digest: what it reports is already late.
MAILED_AT_ONCE_EVENTS = (NotificationEvent.UPDATE_APPROVAL_NEEDED,)


_AT_ONCE_HELP = "Mail it at once (with the sweep's other at-once events), not in the daily digest."


class NotificationPreferenceQuerySet(OwnRowsQuerySet["NotificationPreference"]):
    owner_field = "user"


class NotificationPreference(models.Model):
    """How and when one user wants to be told; a user without a row has the defaults.

    Quiet hours and weekends hold back email only (a reminder is moved earlier,
    anything else waits until they end); in-app notifications are silent and
    always arrive at once. Times are local to the user's time zone.
    """

    class ReminderLead(models.TextChoices):
        ONE_HOUR = "1h", "One hour before"
        FOUR_HOURS = "4h", "Four hours before"
        ONE_WORKING_DAY = "1wd", "One working day before"
        TWO_WORKING_DAYS = "2wd", "Two working days before"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    reminder_lead = models.CharField(
        max_length=3, choices=ReminderLead.choices, default=ReminderLead.ONE_WORKING_DAY
    )
    digest_time = models.TimeField(
        default=time(8, 0), help_text="When the daily digest arrives, in your time zone."
    )
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    email_on_weekends = models.BooleanField(default=False)
    check_in_reminder_in_app = models.BooleanField(default=True)
    check_in_reminder_email = models.BooleanField(default=True)
    check_in_missed_in_app = models.BooleanField(default=True)
    check_in_missed_email = models.BooleanField(default=True)
    follow_up_overdue_in_app = models.BooleanField(default=True)
    follow_up_overdue_email = models.BooleanField(default=True)
    follow_up_escalated_in_app = models.BooleanField(default=True)
    follow_up_escalated_email = models.BooleanField(default=True)
    sponsor_silent_in_app = models.BooleanField(default=True)
    sponsor_silent_email = models.BooleanField(default=True)
    update_acknowledged_in_app = models.BooleanField(default=True)
    update_failed_in_app = models.BooleanField(default=True)
    update_approval_needed_in_app = models.BooleanField(default=True)
    update_approval_needed_email = models.BooleanField(default=True)
    raid_review_due_in_app = models.BooleanField(default=True)
    raid_review_due_email = models.BooleanField(default=True)
    # Mail of these events comes in the daily digest unless the user wants it at once.
    check_in_missed_at_once = models.BooleanField(default=False, help_text=_AT_ONCE_HELP)
    follow_up_overdue_at_once = models.BooleanField(default=False, help_text=_AT_ONCE_HELP)
    follow_up_escalated_at_once = models.BooleanField(default=False, help_text=_AT_ONCE_HELP)
    sponsor_silent_at_once = models.BooleanField(default=False, help_text=_AT_ONCE_HELP)
    updated_at = models.DateTimeField(auto_now=True)

    objects = NotificationPreferenceQuerySet.as_manager()

    class Meta:
        constraints = [
            # Half a quiet period has no meaning: both ends or neither.
            models.CheckConstraint(
                condition=Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False),
                name="preference_quiet_hours_both_or_neither",
                violation_error_message="Give both ends of the quiet hours, or neither.",
            ),
        ]

    def __str__(self) -> str:
        return f"Notification preferences of {self.user}"

    def wants(self, event: str, medium: str) -> bool:
        """Whether ``event`` should reach this user by ``medium`` ("in_app" or "email")."""
        if medium == "email" and event in IN_APP_ONLY_EVENTS:
            return False
        return bool(getattr(self, f"{event}_{medium}"))

    def mails_at_once(self, event: str) -> bool:
        """Whether ``event`` is mailed to this user at once rather than in their daily digest."""
        return event in DIGESTIBLE_EVENTS and self.wants(event, "email") and self.wants(event, "at_once")


class NotificationQuerySet(models.QuerySet["Notification"]):
    def visible_to(self, user: Any) -> Self:
        """A user sees the in-app notifications addressed to them, about engagements they still see.

        Notifications are personal: administrators too see only their own here
        (the Django admin shows all).
        """
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self.filter(recipient=user, in_app=True).filter(
            Q(engagement__isnull=True) | Q(engagement__in=Engagement.objects.visible_to(user))
        )

    def unread(self) -> Self:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    """One event told to one user: shown under the bell if ``in_app``, mailed if ``email``.

    The unique (recipient, event, key) makes a sweep that runs twice tell
    nobody twice; the key names the event's object (a follow-up, an
    occurrence, a silence flag, an escalation rung).
    """

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=30, choices=NotificationEvent.choices)
    key = models.CharField(max_length=100)
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    message = models.CharField(max_length=500)
    # A path inside the app; links are built with SITE_URL in mail.
    url = models.CharField(max_length=500, blank=True)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)
    # When its mail was decided (an at-once mail or a digest), so no second mail reports it.
    mailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "event", "key"], name="notification_once_per_event"),
        ]
        indexes = [
            # The bell's count, the list page and the API's pages: a user's notifications, newest first.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_recipient_recent"),
            models.Index(fields=["recipient"], name="notification_unread", condition=Q(read_at__isnull=True)),
            # The mail sweeps' scan: events still to be mailed, by when they happened.
            models.Index(
                fields=["created_at"],
                name="notification_to_mail",
                condition=Q(email=True, mailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_display()} for {self.recipient}: {self.message}"


class OutboxMessageQuerySet(OwnRowsQuerySet["OutboxMessage"]):
    owner_field = "recipient"

    def pending(self) -> Self:
        return self.filter(status=OutboxMessage.Status.PENDING)


class OutboxMessage(models.Model):
    """One outbound message, rendered and ready: sent at most once, retried until it goes or expires.

    The unique ``idempotency_key`` is what makes a sweep that runs twice, or
    two beats at once, write each message once: the domain names the
    decision in it ("check_in_reminder:occurrence:12:user:3"). The content is
    final when the row is written; the outbox never asks the domain again.
    """

    class Kind(models.TextChoices):
        CHECK_IN_REMINDER = "check_in_reminder", "Check-in reminder"
        OVERDUE_DIGEST = "overdue_digest", "Daily digest"
        AT_ONCE = "at_once", "At-once notice"
        # Earlier releases mailed each escalation on its own; they now go in a digest or an at-once notice.
        ESCALATION = "escalation", "Escalation"
        SPONSOR_UPDATE = "sponsor_update", "Sponsor update"

    class Transport(models.TextChoices):
        EMAIL = "email", "Email"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    # Pending is the only state that moves: sent, failed (nowhere to send it),
    # cancelled (the domain withdrew it) and expired (too late to matter) are final.
    TRANSITIONS: ClassVar[Transitions] = Transitions(
        Status,
        {Status.PENDING: {Status.SENT, Status.FAILED, Status.CANCELLED, Status.EXPIRED}},
        noun="outbound message",
    )

    kind = models.CharField(max_length=20, choices=Kind.choices)
    transport = models.CharField(max_length=10, choices=Transport.choices, default=Transport.EMAIL)
    idempotency_key = models.CharField(max_length=200, unique=True)
    # The user it is addressed to, when it is one (a sponsor is a stakeholder, not a user).
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outbox_messages",
    )
    to_address = models.CharField(max_length=254, blank=True)
    engagement = models.ForeignKey(
        Engagement, on_delete=models.SET_NULL, null=True, blank=True, related_name="outbox_messages"
    )
    subject = models.CharField(max_length=998)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # What the message reports, by id, for the domain's own bookkeeping (a digest lists each item once).
    about = models.JSONField(default=dict, blank=True)
    # Not before: the end of the recipient's quiet hours or free weekend; null sends at once.
    not_before = models.DateTimeField(null=True, blank=True)
    # Not after: a reminder is worthless once its check-in's time has come.
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The claim: when the send task was last enqueued (by the writer or the reconciler).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    objects = OutboxMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "outbound message"
        constraints = [
            models.CheckConstraint(
                condition=(Q(status="sent") & Q(sent_at__isnull=False))
                | (~Q(status="sent") & Q(sent_at__isnull=True)),
                name="outbox_sent_at_iff_sent",
            ),
        ]
        indexes = [
            # The reconciler's scan: pending messages by the time they may go.
            models.Index(fields=["not_before"], name="outbox_pending", condition=Q(status="pending")),
            models.Index(fields=["recipient", "kind", "-created_at"], name="outbox_recipient_kind"),
        ]

    def __str__(self) -> str:
        to = self.to_address or self.recipient
        return f"{self.get_kind_display()} to {to} ({self.get_status_display()})"
