from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.models import Notification, NotificationPreference, OutboxMessage


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Written by the sweeps; read here to answer "why was I (not) told?"."""

    list_display = (
        "created_at",
        "recipient",
        "event",
        "engagement",
        "in_app",
        "email",
        "mailed_at",
        "read_at",
    )
    list_filter = ("event", "in_app", "email")
    search_fields = ("recipient__username", "recipient__email", "message", "key")
    list_select_related = ("recipient", "engagement")
    raw_id_fields = ("recipient", "engagement")
    readonly_fields = (
        "recipient",
        "event",
        "key",
        "engagement",
        "message",
        "url",
        "in_app",
        "email",
        "mailed_at",
        "created_at",
    )
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A notification records an event a sweep saw; one written by hand would tell of nothing.
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    """Each user sets their own on the preferences page; shown here for support."""

    list_display = (
        "user",
        "reminder_lead",
        "digest_time",
        "quiet_hours_start",
        "quiet_hours_end",
        "email_on_weekends",
    )
    list_filter = ("reminder_lead", "email_on_weekends")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("updated_at",)


class FailingFilter(admin.SimpleListFilter):
    title = "last attempt failed"
    parameter_name = "failing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.exclude(last_error="")
        if self.value() == "no":
            return queryset.filter(last_error="")
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Every outbound message, as rendered: read here, above all for mail the server refused."""

    list_display = ("created_at", "kind", "subject", "to_address", "status", "attempts", "sent_at")
    list_filter = ("kind", "status", FailingFilter)
    search_fields = ("idempotency_key", "to_address", "subject", "recipient__username")
    list_select_related = ("recipient",)
    raw_id_fields = ("recipient", "engagement")
    readonly_fields = [field.name for field in OutboxMessage._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A message is written by the decision to send it; one typed in would answer to none.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # What was sent is a record: shown, never edited.
        return False
