"""API v1 shapes of clients, engagements, teams, milestones and change requests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import User
from engagements.models import ChangeRequest, Client, Engagement, Health, Membership, Milestone
from engagements.selectors import client_list, firm_user_list
from pmaas.api import ScopedPrimaryKeyRelatedField


class UserSummarySerializer(serializers.ModelSerializer[User]):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = User
        fields = ["id", "name"]
        read_only_fields = fields


class ClientSerializer(serializers.ModelSerializer[Client]):
    class Meta:
        model = Client
        fields = ["id", "name", "time_zone", "country", "created_at", "updated_at"]
        read_only_fields = fields


class EngagementSerializer(serializers.ModelSerializer[Engagement]):
    client_name = serializers.CharField(source="client.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    effective_health = serializers.ChoiceField(
        choices=Health.choices,
        read_only=True,
        help_text="The manual override when set, else the computed health.",
    )
    health_is_overridden = serializers.BooleanField(read_only=True)
    # Declared, not derived from the model: REST framework drops allow_blank from read-only fields.
    health_override = serializers.ChoiceField(
        choices=Health.choices,
        allow_blank=True,
        read_only=True,
        help_text='The health a lead set by hand; "" when none is set.',
    )

    class Meta:
        model = Engagement
        fields = [
            "id",
            "client",
            "client_name",
            "name",
            "code",
            "kind",
            "kind_display",
            "description",
            "budget",
            "currency",
            "start_date",
            "end_date",
            "status",
            "status_display",
            "country",
            "skip_non_working_days",
            "health",
            "health_override",
            "health_override_reason",
            "health_override_at",
            "effective_health",
            "health_is_overridden",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EngagementCreateSerializer(serializers.Serializer[Any]):
    client = ScopedPrimaryKeyRelatedField(selector=client_list)
    name = serializers.CharField(max_length=200)
    code = serializers.CharField(max_length=32, help_text="Capitals, digits and dashes, e.g. EHR-2026.")
    kind = serializers.ChoiceField(choices=Engagement.Kind.choices, default=Engagement.Kind.IMPLEMENTATION)
    description = serializers.CharField(allow_blank=True, default="")
    budget = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), default=Decimal(0)
    )
    currency = serializers.CharField(max_length=3, default="EUR", help_text="ISO 4217 code.")
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(choices=Engagement.Status.choices, default=Engagement.Status.PLANNED)
    country = serializers.CharField(
        max_length=2, allow_blank=True, default="", help_text="ISO 3166 code; defaults to the client's."
    )
    skip_non_working_days = serializers.BooleanField(default=False)
    lead = ScopedPrimaryKeyRelatedField(
        selector=firm_user_list,
        required=False,
        allow_null=True,
        default=None,
        help_text="A user of the firm who becomes the engagement lead.",
    )


class MembershipSerializer(serializers.ModelSerializer[Membership]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    user_name = serializers.CharField(source="user.__str__", read_only=True)
    role_display = serializers.CharField(source="get_role_display", read_only=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "user",
            "user_name",
            "role",
            "role_display",
            "joined_at",
        ]
        read_only_fields = fields


class MilestoneSerializer(serializers.ModelSerializer[Milestone]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    is_complete = serializers.BooleanField(read_only=True)

    class Meta:
        model = Milestone
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "name",
            "description",
            "due_on",
            "completed_on",
            "is_complete",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ChangeRequestSerializer(serializers.ModelSerializer[ChangeRequest]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = ChangeRequest
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "title",
            "kind",
            "kind_display",
            "description",
            "budget_impact",
            "schedule_impact_days",
            "status",
            "status_display",
            "requested_by",
            "raised_on",
            "decision",
            "decided_by",
            "decided_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
