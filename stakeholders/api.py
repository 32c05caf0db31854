"""API v1 for stakeholders and their roles, scoped through the selectors, written through the services."""

from __future__ import annotations

from typing import Any

import django_filters.rest_framework as filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from engagements.selectors import engagement_list
from pmaas.api import FIELD_ERRORS, FORBIDDEN, NOT_FOUND, IdChoiceFilter
from stakeholders import selectors, services
from stakeholders.models import Stakeholder, StakeholderRole
from stakeholders.serializers import (
    StakeholderRoleCreateSerializer,
    StakeholderRoleSerializer,
    StakeholderSerializer,
)


class StakeholderRoleFilter(filters.FilterSet):
    engagement = IdChoiceFilter(
        queryset=lambda request: engagement_list(user=request.user),
        help_text="Id of an engagement the caller may see.",
    )
    kind = filters.ChoiceFilter(choices=StakeholderRole.Kind.choices)

    class Meta:
        model = StakeholderRole
        fields = ["engagement", "kind"]


@extend_schema_view(retrieve=extend_schema(responses={200: StakeholderSerializer, 404: NOT_FOUND}))
class StakeholderViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Stakeholder]
):
    """People at clients with a role on an engagement the caller may see."""

    serializer_class = StakeholderSerializer
    ordering = ("id",)

    def get_queryset(self) -> QuerySet[Stakeholder]:
        return selectors.stakeholder_list(user=self.request.user)


@extend_schema_view(retrieve=extend_schema(responses={200: StakeholderRoleSerializer, 404: NOT_FOUND}))
class StakeholderRoleViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[StakeholderRole]
):
    """Stakeholders' roles on the engagements the caller may see."""

    serializer_class = StakeholderRoleSerializer
    ordering = ("id",)
    filterset_class = StakeholderRoleFilter

    def get_queryset(self) -> QuerySet[StakeholderRole]:
        return selectors.stakeholder_role_list(user=self.request.user)

    @extend_schema(
        summary="Give a stakeholder a role on an engagement",
        request=StakeholderRoleCreateSerializer,
        responses={201: StakeholderRoleSerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = StakeholderRoleCreateSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        role = services.stakeholder_add_to_engagement(actor=request.user, **body.validated_data)
        created = selectors.stakeholder_role_get_for_user(user=request.user, id=role.pk)
        return Response(self.get_serializer(created).data, status=status.HTTP_201_CREATED)
