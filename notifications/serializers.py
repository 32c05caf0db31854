"""API v1 shapes of notifications and notification preferences."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Notification, NotificationPreference
from notifications.services import PREFERENCE_FIELDS
from pmaas.api import ChoiceLabelField, SharedModelSerializer


class NotificationSerializer(SharedModelSerializer[Notification]):
    event_display = ChoiceLabelField("event")
    engagement_code = serializers.CharField(source="engagement.code", read_only=True, default=None)

    class Meta:
        model = Notification
        fields = [
            "id",
            "event",
            "event_display",
            "message",
            "url",
            "engagement",
            "engagement_code",
            "created_at",
            "read_at",
        ]
        read_only_fields = fields


class NotificationPreferenceSerializer(SharedModelSerializer[NotificationPreference]):
    """The caller's preferences; PUT gives every field, PATCH some. Times are in the caller's zone."""

    updated_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When they were last changed; null while they are the defaults.",
    )

    class Meta:
        model = NotificationPreference
        fields = [*PREFERENCE_FIELDS, "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {name: {"required": True} for name in PREFERENCE_FIELDS}
