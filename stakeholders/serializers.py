"""API v1 shapes of stakeholders and their roles on engagements."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from engagements.selectors import engagement_list, user_list
from pmaas.api import ChoiceLabelField, ScopedPrimaryKeyRelatedField, SharedModelSerializer
from pmaas.validation import LONG_TEXT_MAX_LENGTH
from stakeholders.models import Level, Scale, Stakeholder, StakeholderRole
from stakeholders.selectors import stakeholder_list


class StakeholderSummarySerializer(SharedModelSerializer[Stakeholder]):
    class Meta:
        model = Stakeholder
        fields = ["id", "name"]
        read_only_fields = fields


class StakeholderSerializer(SharedModelSerializer[Stakeholder]):
    client_name = serializers.CharField(source="client.name", read_only=True)

    class Meta:
        model = Stakeholder
        fields = [
            "id",
            "client",
            "client_name",
            "name",
            "email",
            "title",
            "department",
            "phone",
            "time_zone",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class StakeholderRoleSerializer(SharedModelSerializer[StakeholderRole]):
    engagement_code = serializers.CharField(source="engagement.code", read_only=True)
    stakeholder_name = serializers.CharField(source="stakeholder.name", read_only=True)
    kind_display = ChoiceLabelField("kind")
    engagement_gap = serializers.IntegerField(
        read_only=True, help_text="Steps from the current to the desired level (positive: behind)."
    )
    relationship_owner_name = serializers.SerializerMethodField()

    class Meta:
        model = StakeholderRole
        fields = [
            "id",
            "engagement",
            "engagement_code",
            "stakeholder",
            "stakeholder_name",
            "kind",
            "kind_display",
            "influence",
            "interest",
            "current_level",
            "desired_level",
            "engagement_gap",
            "relationship_owner",
            "relationship_owner_name",
            "notes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_relationship_owner_name(self, role: StakeholderRole) -> str | None:
        return str(role.relationship_owner) if role.relationship_owner is not None else None


class StakeholderRoleCreateSerializer(serializers.Serializer[Any]):
    engagement = ScopedPrimaryKeyRelatedField(selector=engagement_list)
    stakeholder = ScopedPrimaryKeyRelatedField(
        selector=stakeholder_list, help_text="A person of the engagement's client."
    )
    kind = serializers.ChoiceField(
        choices=StakeholderRole.Kind.choices, default=StakeholderRole.Kind.BUSINESS_LEADER
    )
    influence = serializers.ChoiceField(choices=Scale.choices, default=Scale.MEDIUM)
    interest = serializers.ChoiceField(choices=Scale.choices, default=Scale.MEDIUM)
    current_level = serializers.ChoiceField(choices=Level.choices, default=Level.NEUTRAL)
    desired_level = serializers.ChoiceField(choices=Level.choices, default=Level.SUPPORTIVE)
    relationship_owner = ScopedPrimaryKeyRelatedField(
        selector=user_list,
        required=False,
        allow_null=True,
        default=None,
        help_text="A member of the engagement's team.",
    )
    notes = serializers.CharField(max_length=LONG_TEXT_MAX_LENGTH, allow_blank=True, default="")
