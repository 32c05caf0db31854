"""API v1 shapes of clients, engagements, teams, milestones and change requests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import User
from engagements.models import ChangeRequest, Client, Engagement, Health, Membership, Milestone
from engagements.selectors import client_list, engagement_list, firm_user_list, team_candidate_list
from pmaas.api import ChoiceLabelField, ScopedPrimaryKeyRelatedField, SharedModelSerializer
from pmaas.validation import LONG_TEXT_MAX_LENGTH, validate_date_in_range


class UserSummarySerializer(SharedModelSerializer[User]):
    name = serializers.CharField(source="*", read_only=True)

    class Meta:
        model = User
        fields = ["id", "name"]
        read_only_fields = fields


class ClientSerializer(SharedModelSerializer[Client]):
    class Meta:
        model = Client
        fields = ["id", "name", "time_zone", "country", "holiday_subdivision", "created_at", "updated_at"]
        read_only_fields = fields


class EngagementSerializer(SharedModelSerializer[Engagement]):
    client_name = serializers.CharField(source="client.name", read_only=True)
    kind_display = ChoiceLabelField("kind")
    status_display = ChoiceLabelField("status")
    effective_health = serializers.ChoiceField(
        choices=Health.choices,
        read_only=True,
        help_text="The manual override until it expires, else the computed health.",
    )
    health_is_overridden = serializers.BooleanField(
        read_only=True, help_text="Whether an override is in force (set and not past its expiry)."
    )
    health_factors = serializers.ListField(
        child=serializers.DictField(),
        read_only=True,
        help_text=(
            "Why the computed health is what it is, worst first: code, label, detail, severity, evidence."
        ),
    )
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
            "holiday_subdivision",
            "skip_non_working_days",
            "health",
            "health_override",
            "health_override_reason",
            "health_override_at",
            "health_override_until",
            "health_factors",
            "health_computed_at",
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
    description = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, allow_blank=True, default="")
    budget = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), default=Decimal(0)
    )
    currency = serializers.CharField(max_length=3, default="EUR", help_text="ISO 4217 code.")
    start_date = serializers.DateField(validators=[validate_date_in_range])
    end_date = serializers.DateField(
        required=False, allow_null=True, default=None, validators=[validate_date_in_range]
    )
    status = serializers.ChoiceField(choices=Engagement.Status.choices, default=Engagement.Status.PLANNED)
    country = serializers.CharField(
        max_length=2, allow_blank=True, default="", help_text="ISO 3166 code; defaults to the client's."
    )
    holiday_subdivision = serializers.CharField(
        max_length=32,
        allow_blank=True,
        default="",
        help_text=(
            "Holiday region of the country (a holidays subdivision code: GB ENG, DE BY, US CA); "
            "blank for the client's region when in the same country, else national holidays only."
        ),
    )
    skip_non_working_days = serializers.BooleanField(default=False)
    lead = ScopedPrimaryKeyRelatedField(
        selector=firm_user_list,
        required=False,
        allow_null=True,
        default=None,
        help_text="A user of the firm who becomes the engagement lead.",
    )


class MembershipSerializer(SharedModelSerializer[Membership]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    user_name = serializers.CharField(source="user", read_only=True)
    role_display = ChoiceLabelField("role")

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


class EngagementRefSerializer(serializers.Serializer[Any]):
    engagement = ScopedPrimaryKeyRelatedField(selector=engagement_list)


class MembershipCreateSerializer(EngagementRefSerializer):
    user = ScopedPrimaryKeyRelatedField(selector=team_candidate_list, help_text="A user of the firm.")
    role = serializers.ChoiceField(
        choices=Membership.Role.choices,
        default=Membership.Role.CONSULTANT,
        help_text="Lead only while the engagement has none; otherwise hand the role over.",
    )


class HealthOverrideSerializer(serializers.Serializer[Any]):
    health = serializers.ChoiceField(
        choices=Health.choices, allow_blank=True, help_text="Empty to return to the computed health."
    )
    reason = serializers.CharField(allow_blank=True, default="", help_text="Required when overriding.")
    until = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        validators=[validate_date_in_range],
        help_text="Required when overriding: the last day it holds, in the client's time zone.",
    )
    shared_with_client = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Show the colour to the client's users (never the reason); null leaves it as it is.",
    )
    seen_updated_at = serializers.DateTimeField(
        help_text="The engagement's updated_at as last read: a change since then refuses the override.",
    )


class ChangeRequestTransitionSerializer(serializers.Serializer[Any]):
    to_status = serializers.ChoiceField(choices=ChangeRequest.Status.choices)
    decision = serializers.CharField(
        allow_blank=True, default="", help_text="Required to approve or reject: what was decided and why."
    )
    seen_updated_at = serializers.DateTimeField(
        help_text="The request's updated_at as last read: a change since then refuses the move.",
    )


class MilestoneSerializer(SharedModelSerializer[Milestone]):
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


class ChangeRequestSerializer(SharedModelSerializer[ChangeRequest]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    kind_display = ChoiceLabelField("kind")
    status_display = ChoiceLabelField("status")

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
