from django.contrib import admin

from stakeholders.models import Stakeholder, StakeholderRole


class StakeholderRoleInline(admin.TabularInline):
    model = StakeholderRole
    extra = 0
    fields = ("engagement", "kind", "influence", "interest", "current_level", "desired_level")
    autocomplete_fields = ("engagement",)


@admin.register(Stakeholder)
class StakeholderAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "department", "client", "email", "time_zone")
    list_filter = ("client",)
    search_fields = ("name", "email", "department")
    list_select_related = ("client",)
    autocomplete_fields = ("client", "user")
    readonly_fields = ("created_at", "updated_at")
    inlines = (StakeholderRoleInline,)


@admin.register(StakeholderRole)
class StakeholderRoleAdmin(admin.ModelAdmin):
    list_display = (
        "stakeholder",
        "engagement",
        "kind",
        "influence",
        "interest",
        "current_level",
        "desired_level",
        "relationship_owner",
    )
    list_filter = ("kind", "current_level", "desired_level", "engagement")
    search_fields = ("stakeholder__name", "stakeholder__email", "engagement__code", "engagement__name")
    list_select_related = ("stakeholder", "engagement", "relationship_owner")
    autocomplete_fields = ("engagement", "stakeholder", "relationship_owner")
    readonly_fields = ("created_at", "updated_at")
