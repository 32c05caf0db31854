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
from rest_framework.request import Request
from rest_framework.response import Response

from engagements import selectors, services
from engagements.models import ChangeRequest, Client, Engagement, Membership, Milestone
from engagements.serializers import (
    ChangeRequestSerializer,
    ClientSerializer,
    EngagementCreateSerializer,
    EngagementSerializer,
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

    def get_queryset(self) -> QuerySet[Client]:
        return selectors.client_list(user=self.request.user)


@extend_schema_view(retrieve=_retrieve_schema(EngagementSerializer))
class EngagementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Engagement]
):
    """Engagements the caller may see, with their effective health."""

    serializer_class = EngagementSerializer
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


@extend_schema_view(retrieve=_retrieve_schema(MembershipSerializer))
class MembershipViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Membership]
):
    """Team memberships of the engagements the caller may see."""

    serializer_class = MembershipSerializer

    def get_queryset(self) -> QuerySet[Membership]:
        return selectors.membership_list(user=self.request.user)


@extend_schema_view(retrieve=_retrieve_schema(MilestoneSerializer))
class MilestoneViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Milestone]):
    """Milestones of the engagements the caller may see."""

    serializer_class = MilestoneSerializer

    def get_queryset(self) -> QuerySet[Milestone]:
        return selectors.milestone_list(user=self.request.user)


@extend_schema_view(retrieve=_retrieve_schema(ChangeRequestSerializer))
class ChangeRequestViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ChangeRequest]
):
    """Change requests of the engagements the caller may see."""

    serializer_class = ChangeRequestSerializer

    def get_queryset(self) -> QuerySet[ChangeRequest]:
        return selectors.change_request_list(user=self.request.user)
