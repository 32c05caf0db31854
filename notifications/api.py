"""API v1 for the caller's own notifications and notification preferences."""

from __future__ import annotations

from typing import cast

import django_filters.rest_framework as filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from notifications import selectors, services
from notifications.models import Notification, NotificationPreference
from notifications.serializers import NotificationPreferenceSerializer, NotificationSerializer
from pmaas.api import FIELD_ERRORS, NOT_FOUND


class NotificationFilter(filters.FilterSet):
    # A choice rather than a boolean, so a value that is neither is a 400 and not silently ignored.
    unread = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_unread",
        help_text="true: unread only; false: read only.",
    )

    class Meta:
        model = Notification
        fields = ["unread"]

    def filter_unread(
        self, queryset: QuerySet[Notification], name: str, value: str
    ) -> QuerySet[Notification]:
        return queryset.filter(read_at__isnull=value == "true")


@extend_schema_view(
    list=extend_schema(summary="The caller's in-app notifications, newest first"),
    retrieve=extend_schema(responses={200: NotificationSerializer, 404: NOT_FOUND}),
)
class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Notification]
):
    """The caller's own in-app notifications: nobody else's, administrators included."""

    serializer_class = NotificationSerializer
    ordering = ("-created_at", "-id")
    filterset_class = NotificationFilter

    def get_queryset(self) -> QuerySet[Notification]:
        return selectors.notification_list(user=self.request.user)

    @extend_schema(
        summary="Mark a notification read",
        description="Idempotent: a notification read before keeps its first read time.",
        request=None,
        responses={200: NotificationSerializer, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk: str | None = None) -> Response:
        notification = services.notification_mark_read(
            user=request.user, notification_id=pk, as_of=timezone.now()
        )
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        summary="Mark every notification of the caller read",
        description="Idempotent: answers how many were unread until now.",
        request=None,
        responses={
            200: inline_serializer("NotificationsReadAll", {"marked_read": serializers.IntegerField()})
        },
    )
    @action(detail=False, methods=["post"], url_path="read-all", url_name="read-all")
    def read_all(self, request: Request) -> Response:
        changed = services.notifications_mark_all_read(user=request.user, as_of=timezone.now())
        return Response({"marked_read": changed})


class NotificationPreferenceViewSet(viewsets.GenericViewSet[NotificationPreference]):
    """The caller's notification preferences; a caller who never saved any has the defaults."""

    serializer_class = NotificationPreferenceSerializer

    def get_queryset(self) -> QuerySet[NotificationPreference]:
        return NotificationPreference.objects.visible_to(self.request.user)

    @extend_schema(
        methods=["GET"],
        summary="The caller's notification preferences",
        responses={200: NotificationPreferenceSerializer},
    )
    @extend_schema(
        methods=["PUT", "PATCH"],
        summary="Change the caller's notification preferences",
        description=(
            "PUT gives every field, PATCH only those to change. Times are local to the caller's "
            "time zone; quiet hours need both ends or neither. Idempotent."
        ),
        request=NotificationPreferenceSerializer,
        responses={200: NotificationPreferenceSerializer, 400: FIELD_ERRORS},
    )
    @action(detail=False, methods=["get", "put", "patch"])
    def me(self, request: Request) -> Response:
        preference = selectors.preference_for(user=cast(User, request.user))
        if request.method == "GET":
            return Response(self.get_serializer(preference).data)
        body = self.get_serializer(preference, data=request.data, partial=request.method == "PATCH")
        body.is_valid(raise_exception=True)
        saved = services.notification_preference_save(user=request.user, **body.validated_data)
        return Response(self.get_serializer(saved).data)
