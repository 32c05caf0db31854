from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from accounts.models import CalendarFeed, User, UserSession


def administrators_only(request: HttpRequest) -> bool:
    """The admin bypasses every visibility rule, so only active staff administrators get in."""
    user = request.user
    return isinstance(user, User) and user.is_active and user.is_staff and user.is_administrator


admin.site.has_permission = administrators_only  # type: ignore[method-assign]
admin.site.site_header = "PMaaS Engagement Tracker administration"
admin.site.site_title = "PMaaS administration"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Role in the tracker", {"fields": ("role", "client", "time_zone")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        ("Role in the tracker", {"fields": ("role", "client", "time_zone")}),
    )
    list_display = ("username", "email", "first_name", "last_name", "role", "client", "is_staff", "is_active")
    list_filter = ("role", "is_staff", "is_superuser", "is_active", "client")
    list_select_related = ("client",)
    autocomplete_fields = ("client",)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    # The secret is never stored, so nothing here can reveal a working feed URL.
    list_display = ("owner", "engagement", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    list_select_related = ("owner", "engagement")
    search_fields = ("owner__username", "owner__email", "engagement__code", "engagement__name")
    readonly_fields = ("owner", "engagement", "token_hash", "created_at", "last_used_at", "revoked_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A feed added here would have no secret anyone knows: feeds are opened on the account page.
        return False


@admin.register(UserSession)
class UserSessionAdmin(admin.ModelAdmin):
    """Where each user logged in; deleting a row here does not end the session (the user's page does)."""

    list_display = ("user", "browser", "ip_address", "created_at")
    list_filter = ("created_at",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__email", "ip_address")
    readonly_fields = ("user", "session_key", "user_agent", "ip_address", "created_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
