from __future__ import annotations

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from engagements.models import ChangeRequest, Client, Engagement, Membership, Milestone
from engagements.working_days import default_holiday_subdivision


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ("name", "time_zone", "country", "holiday_subdivision")
    list_filter = ("country", "time_zone")
    search_fields = ("name",)
    readonly_fields = ("created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Client, form: ModelForm[Client], change: bool) -> None:
        # A new country without a region named gets that country's default, as client_create gives.
        if "country" in form.changed_data and not obj.holiday_subdivision:
            obj.holiday_subdivision = default_holiday_subdivision(obj.country)
        super().save_model(request, obj, form, change)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("joined_at",)


class MilestoneInline(admin.TabularInline):
    model = Milestone
    extra = 0
    fields = ("name", "due_on", "completed_on")


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "client", "status", "health", "health_override")
    list_filter = ("status", "kind", "health", "client")
    search_fields = ("code", "name", "client__name")
    list_select_related = ("client",)
    autocomplete_fields = ("client", "health_override_by")
    readonly_fields = ("created_at", "updated_at")
    inlines = (MembershipInline, MilestoneInline)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "engagement", "role", "joined_at")
    list_filter = ("role", "engagement__client")
    search_fields = ("user__username", "user__first_name", "user__last_name", "engagement__code")
    list_select_related = ("user", "engagement")
    autocomplete_fields = ("engagement", "user")


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ("name", "engagement", "due_on", "completed_on")
    list_filter = (("completed_on", admin.EmptyFieldListFilter), "engagement__client")
    search_fields = ("name", "engagement__code", "engagement__name")
    list_select_related = ("engagement",)
    autocomplete_fields = ("engagement",)
    date_hierarchy = "due_on"


@admin.register(ChangeRequest)
class ChangeRequestAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "engagement",
        "kind",
        "status",
        "budget_impact",
        "schedule_impact_days",
        "raised_on",
    )
    list_filter = ("status", "kind", "engagement__client")
    search_fields = ("title", "description", "engagement__code", "engagement__name")
    list_select_related = ("engagement",)
    autocomplete_fields = ("engagement", "requested_by", "decided_by")
    readonly_fields = ("created_at", "updated_at")
