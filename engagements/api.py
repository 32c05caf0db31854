"""API v1 for clients, engagements, teams, milestones and change requests.

Reads go through the selectors, so every list and lookup is scoped to the
caller (outside it: 404); writes go through the services.
"""

from __future__ import annotations

from typing import Any

import django_filters.rest_framework as filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from engagements import selectors, services
from engagements.models import ChangeRequest, Client, Engagement, Membership, Milestone
from engagements.policy import Action, engagement_check_can
from engagements.serializers import (
    ChangeRequestSerializer,
    ChangeRequestTransitionSerializer,
    ClientSerializer,
    EngagementCreateSerializer,
    EngagementRefSerializer,
    EngagementSerializer,
    HealthOverrideSerializer,
    MembershipCreateSerializer,
    MembershipSerializer,
    MilestoneSerializer,
)
from pmaas.api import FIELD_ERRORS, FORBIDDEN, NOT_FOUND, IdChoiceFilter


def _retrieve_schema(serializer: type[Any]) -> Any:
    return extend_schema(responses={200: serializer, 404: NOT_FOUND})


class EngagementFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=Engagement.Status.choices)
    client = IdChoiceFilter(
        queryset=lambda request: selectors.client_list(user=request.user),
        help_text="Id of a client the caller may see.",
    )

    class Meta:
        model = Engagement
        fields = ["status", "client"]


@extend_schema_view(retrieve=_retrieve_schema(ClientSerializer))
class ClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Client]):
    """Client organisations whose engagements the caller may see."""

    serializer_class = ClientSerializer
    ordering = ("id",)

    def get_queryset(self) -> QuerySet[Client]:
        return selectors.client_list(user=self.request.user)


@extend_schema_view(retrieve=_retrieve_schema(EngagementSerializer))
class EngagementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Engagement]
):
    """Engagements the caller may see, with their effective health."""

    serializer_class = EngagementSerializer
    ordering = ("id",)
    filterset_class = EngagementFilter

    def get_queryset(self) -> QuerySet[Engagement]:
        return selectors.engagement_list(user=self.request.user)

    @extend_schema(
        summary="Create an engagement (practice leads and administrators)",
        request=EngagementCreateSerializer,
        responses={201: EngagementSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = EngagementCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        engagement = services.engagement_create(actor=request.user, **body.validated_data)
        created = selectors.engagement_get_for_user(user=request.user, id=engagement.pk)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Override the computed health, or return to it (the engagement's lead)",
        description="Idempotent. The engagement's lead, practice leads and administrators.",
        request=HealthOverrideSerializer,
        responses={200: EngagementSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="health-override", url_name="health-override")
    def health_override(self, request: Request, pk: str | None = None) -> Response:
        engagement = self.get_object()
        body = HealthOverrideSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.engagement_override_health(actor=request.user, engagement=engagement, **body.validated_data)
        current = selectors.engagement_get_for_user(user=request.user, id=engagement.pk)
        return Response(self.get_serializer(current).data)


@extend_schema_view(retrieve=_retrieve_schema(MembershipSerializer))
class MembershipViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Membership]
):
    """Team memberships of the engagements the caller may see.

    Adding a member and handing over the lead role are here; removing one
    reassigns their follow-ups and channels, so the router serves this
    resource through communications.api.TeamMembershipViewSet, which adds it.
    """

    serializer_class = MembershipSerializer
    ordering = ("id",)

    def get_queryset(self) -> QuerySet[Membership]:
        return selectors.membership_list(user=self.request.user)

    @extend_schema(
        summary="Put a user of the firm on an engagement's team (the engagement's lead)",
        description=(
            "Idempotent for a member added again with their role. An engagement has one lead: "
            "a second is refused under role. The engagement's lead, practice leads and administrators."
        ),
        request=MembershipCreateSerializer,
        responses={201: MembershipSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        target = EngagementRefSerializer(data=request.data, context=self.get_serializer_context())
        target.is_valid(raise_exception=True)
        # Refused before the user is looked up: a client user may not look up the firm's people.
        engagement_check_can(
            user=request.user, engagement=target.validated_data["engagement"], action=Action.MANAGE_TEAM
        )
        body = MembershipCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        membership = services.membership_add(actor=request.user, **body.validated_data)
        created = selectors.membership_get_for_user(user=request.user, id=membership.pk)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Hand the lead role to this member (the engagement's lead)",
        description=(
            "The lead so far stays on the team as a consultant. Idempotent. "
            "The engagement's lead, practice leads and administrators."
        ),
        request=None,
        responses={200: MembershipSerializer, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"], url_path="make-lead", url_name="make-lead")
    def make_lead(self, request: Request, pk: str | None = None) -> Response:
        membership = services.membership_make_lead(actor=request.user, membership=self.get_object())
        current = selectors.membership_get_for_user(user=request.user, id=membership.pk)
        return Response(self.get_serializer(current).data)


@extend_schema_view(retrieve=_retrieve_schema(MilestoneSerializer))
class MilestoneViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Milestone]):
    """Milestones of the engagements the caller may see."""

    serializer_class = MilestoneSerializer
    ordering = ("id",)

    def get_queryset(self) -> QuerySet[Milestone]:
        return selectors.milestone_list(user=self.request.user)


@extend_schema_view(retrieve=_retrieve_schema(ChangeRequestSerializer))
class ChangeRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ChangeRequest]
):
    """Change requests of the engagements the caller may see."""

    serializer_class = ChangeRequestSerializer
    ordering = ("id",)

    def get_queryset(self) -> QuerySet[ChangeRequest]:
        return selectors.change_request_list(user=self.request.user)

    @extend_schema(
        summary="Move a change request: review, approve, reject or withdraw (the engagement's lead)",
        description=(
            "Approving or rejecting needs a decision text. Moves follow the declared transitions; "
            "repeating one is refused under to_status. "
            "The engagement's lead, practice leads and administrators."
        ),
        request=ChangeRequestTransitionSerializer,
        responses={200: ChangeRequestSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        change_request = self.get_object()
        body = ChangeRequestTransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.change_request_transition(
            actor=request.user, change_request=change_request, **body.validated_data
        )
        current = selectors.change_request_get_for_user(user=request.user, id=change_request.pk)
        return Response(self.get_serializer(current).data)
