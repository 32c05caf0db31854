from datetime import datetime
from typing import Any, cast

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from communications import recurrence
from communications.models import (
    Channel,
    CheckIn,
    CheckInDeletion,
    CheckInRevision,
    CommunicationObligation,
    ConsultantWeeklyRollup,
    Delivery,
    FollowUp,
    FollowUpComment,
    FollowUpOverdue,
    FollowUpQuerySet,
    FollowUpRedate,
    Occurrence,
    RaidItem,
    RaidRiskReview,
    SilenceFlag,
    SponsorSubscription,
    WeeklyRollup,
)
from communications.scheduling import channel_compute_next_due

# Changing any of these moves the channel's occurrences, so its next due time is computed again.
_CADENCE_FIELDS = frozenset({"recurrence", "starts_on", "local_time", "stakeholder", "status"})


class ChannelAdminForm(forms.ModelForm):
    def clean_recurrence(self) -> str:
        rule: str = self.cleaned_data["recurrence"]
        recurrence.parse_rule(rule)
        return rule.strip().removeprefix("RRULE:")


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelAdminForm
    list_display = (
        "title",
        "stakeholder",
        "engagement",
        "kind",
        "recurrence",
        "owner",
        "status",
        "next_due_at",
    )
    list_filter = ("kind", "status", "engagement")
    search_fields = ("title", "stakeholder__name", "engagement__code", "engagement__name")
    list_select_related = ("stakeholder", "engagement", "owner")
    autocomplete_fields = ("engagement", "stakeholder", "owner")
    readonly_fields = ("next_due_at", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Channel, form: forms.ModelForm, change: bool) -> None:
        if not change or _CADENCE_FIELDS & set(form.changed_data):
            obj.next_due_at = channel_compute_next_due(channel=obj, after=timezone.now())
        super().save_model(request, obj, form, change)


@admin.register(CheckIn)
class CheckInAdmin(admin.ModelAdmin):
    list_display = ("occurred_at", "engagement", "kind", "channel", "logged_by", "sentiment")
    list_filter = ("kind", "sentiment", "engagement")
    search_fields = ("summary", "decisions", "engagement__code", "engagement__name", "attendees__name")
    list_select_related = ("engagement", "channel__stakeholder", "logged_by")
    autocomplete_fields = ("engagement", "channel", "logged_by", "attendees", "team_attendees")
    readonly_fields = ("created_at", "updated_at")
    date_hierarchy = "occurred_at"


class OverdueListFilter(admin.SimpleListFilter):
    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        overdue = FollowUp.objects.overdue(as_of=timezone.now()).values("pk")
        if self.value() == "yes":
            return queryset.filter(pk__in=overdue)
        if self.value() == "no":
            return queryset.exclude(pk__in=overdue)
        return queryset


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("title", "engagement", "owner_name", "due_at", "status", "overdue_at", "escalation_level")

    list_filter = ("status", OverdueListFilter, "engagement")
    search_fields = (
        "title",
        "details",
        "engagement__code",
        "owner_user__username",
        "owner_stakeholder__name",
    )
    list_select_related = ("engagement", "owner_user", "owner_stakeholder")
    autocomplete_fields = (
        "engagement",
        "check_in",
        "owner_user",
        "owner_stakeholder",
        "completed_by",
        "created_by",
    )
    readonly_fields = ("overdue_at", "escalated_at", "created_at", "updated_at")
    date_hierarchy = "due_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[FollowUp]:
        return cast(FollowUpQuerySet, super().get_queryset(request)).with_overdue_at()

    @admin.display(description="Overdue since", ordering="overdue_at")
    def overdue_at(self, follow_up: FollowUp) -> datetime | None:
        return cast("datetime | None", getattr(follow_up, "overdue_at", None))


@admin.register(FollowUpOverdue)
class FollowUpOverdueAdmin(admin.ModelAdmin):
    list_display = ("follow_up", "overdue_at")
    list_filter = ("follow_up__status", "follow_up__engagement")
    search_fields = ("follow_up__title", "follow_up__engagement__code")
    list_select_related = ("follow_up",)
    readonly_fields = ("follow_up", "overdue_at")
    date_hierarchy = "overdue_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A stamp records what the overdue scan saw; nobody writes one by hand.
        return False


class _RecordAdmin(admin.ModelAdmin):
    """A record the services write once (a version, a deletion, a re-date): read here, never written."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(CheckInRevision)
class CheckInRevisionAdmin(_RecordAdmin):
    list_display = ("check_in", "occurred_at", "edited_by", "edited_at")
    list_filter = ("check_in__engagement", "edited_at")
    search_fields = ("summary", "decisions", "attendee_names", "check_in__engagement__code")
    list_select_related = ("check_in__engagement", "edited_by")


@admin.register(CheckInDeletion)
class CheckInDeletionAdmin(_RecordAdmin):
    list_display = ("check_in_number", "engagement", "occurred_at", "deleted_by", "deleted_at")
    list_filter = ("engagement", "deleted_at")
    search_fields = ("summary", "reason", "attendee_names", "engagement__code")
    list_select_related = ("engagement", "deleted_by")


@admin.register(FollowUpRedate)
class FollowUpRedateAdmin(_RecordAdmin):
    list_display = ("follow_up", "previous_due_at", "due_at", "redated_by", "redated_at")
    list_filter = ("follow_up__engagement", "redated_at")
    search_fields = ("follow_up__title", "follow_up__engagement__code")
    list_select_related = ("follow_up", "redated_by")


@admin.register(RaidRiskReview)
class RaidRiskReviewAdmin(_RecordAdmin):
    list_display = ("item", "previous_score", "score", "trend", "reviewed_by", "reviewed_at")
    list_filter = ("item__engagement", "reviewed_at")
    search_fields = ("item__title", "item__engagement__code")
    list_select_related = ("item", "reviewed_by")


@admin.register(FollowUpComment)
class FollowUpCommentAdmin(admin.ModelAdmin):
    list_display = ("follow_up", "author", "created_at")
    list_filter = ("created_at", "follow_up__engagement__client")
    search_fields = ("body", "follow_up__title", "author__username")
    list_select_related = ("follow_up", "author")
    autocomplete_fields = ("follow_up", "author")


@admin.register(SponsorSubscription)
class SponsorSubscriptionAdmin(admin.ModelAdmin):
    list_display = (
        "stakeholder",
        "engagement",
        "cadence",
        "weekday",
        "local_time",
        "time_zone",
        "is_active",
        "next_send_at",
    )
    list_filter = ("cadence", "is_active", "engagement")
    search_fields = ("stakeholder__name", "stakeholder__email", "engagement__code", "engagement__name")
    list_select_related = ("stakeholder", "engagement")
    autocomplete_fields = ("engagement", "stakeholder")
    readonly_fields = ("unsubscribed_at", "created_at", "updated_at")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """One update per subscription and period; its sending is the outbox's (notifications)."""

    list_display = ("subscription", "period_start", "scheduled_for", "outbox_message")
    list_filter = (("outbox_message", admin.EmptyFieldListFilter), "outbox_message__status")
    search_fields = ("subscription__stakeholder__name", "subscription__engagement__code")
    list_select_related = ("subscription__stakeholder", "subscription__engagement", "outbox_message")
    autocomplete_fields = ("subscription",)
    raw_id_fields = ("outbox_message",)
    readonly_fields = ("created_at",)
    date_hierarchy = "scheduled_for"


@admin.register(CommunicationObligation)
class CommunicationObligationAdmin(admin.ModelAdmin):
    list_display = ("stakeholder", "change_request", "engagement", "status", "deadline", "met_at")
    list_filter = ("status",)
    search_fields = ("stakeholder__name", "change_request__title", "engagement__code")
    list_select_related = ("stakeholder", "change_request", "engagement")
    raw_id_fields = ("change_request", "channel", "met_by_check_in")
    autocomplete_fields = ("engagement", "stakeholder")
    readonly_fields = (
        "met_at",
        "met_by_check_in",
        "waived_by",
        "waived_at",
        "created_by",
        "created_at",
        "updated_at",
    )


@admin.register(RaidItem)
class RaidItemAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "engagement", "status", "owner", "score", "shared_with_client")
    list_filter = ("kind", "status", "shared_with_client", "engagement__client")
    search_fields = ("title", "description", "engagement__code")
    list_select_related = ("engagement", "owner")
    autocomplete_fields = ("engagement", "owner", "raised_by", "stakeholders")
    raw_id_fields = ("change_request", "became_change_request", "check_in")
    readonly_fields = (
        "score",
        "closed_at",
        "last_reviewed_at",
        "validated_at",
        "created_by",
        "created_at",
        "updated_at",
    )


@admin.register(Occurrence)
class OccurrenceAdmin(admin.ModelAdmin):
    """Written by the scheduler; read here. Its reminders are in the outbox (notifications)."""

    list_display = ("channel", "due_at", "status", "held_on_time", "missed_at")
    list_filter = ("status", "held_on_time")
    search_fields = ("channel__title", "channel__stakeholder__name", "channel__engagement__code")
    list_select_related = ("channel__stakeholder",)
    raw_id_fields = ("channel", "check_in")
    readonly_fields = (
        "held_at",
        "held_on_time",
        "check_in",
        "missed_at",
        "created_at",
    )
    date_hierarchy = "due_at"


@admin.register(SilenceFlag)
class SilenceFlagAdmin(admin.ModelAdmin):
    """Raised and cleared by the silence sweep and by check-ins; read here, not edited."""

    list_display = (
        "raised_at",
        "stakeholder",
        "engagement",
        "last_contact_at",
        "allowed_silence",
        "cleared_at",
    )
    list_filter = (("cleared_at", admin.EmptyFieldListFilter),)
    search_fields = ("stakeholder__name", "engagement__code", "engagement__name")
    list_select_related = ("stakeholder", "engagement")
    raw_id_fields = ("engagement", "stakeholder", "follow_up", "cleared_by_check_in")
    readonly_fields = (
        "engagement",
        "stakeholder",
        "raised_at",
        "last_contact_at",
        "allowed_silence",
        "follow_up",
        "cleared_at",
        "cleared_by_check_in",
    )
    date_hierarchy = "raised_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A flag stands for a silence the sweep measured; one typed in would measure nothing.
        return False


@admin.register(WeeklyRollup)
class WeeklyRollupAdmin(admin.ModelAdmin):
    """Written by communications.rollups from the rows it sums; read here, never edited."""

    list_display = (
        "engagement",
        "week_start",
        "meetings",
        "occurrences_due",
        "occurrences_held_on_time",
        "occurrences_missed",
        "overdue_follow_ups",
        "computed_at",
    )
    list_filter = ("engagement__client", "week_start")
    search_fields = ("engagement__code", "engagement__name")
    list_select_related = ("engagement",)
    date_hierarchy = "week_start"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ConsultantWeeklyRollup)
class ConsultantWeeklyRollupAdmin(admin.ModelAdmin):
    """Written by communications.rollups with the engagement's row; read here, never edited."""

    list_display = (
        "user",
        "engagement",
        "week_start",
        "meetings",
        "occurrences_due",
        "occurrences_held_on_time",
        "overdue_follow_ups",
        "computed_at",
    )
    list_filter = ("engagement__client", "week_start")
    search_fields = ("engagement__code", "user__username", "user__first_name", "user__last_name")
    list_select_related = ("engagement", "user")
    date_hierarchy = "week_start"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
