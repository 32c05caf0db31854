"""The sponsor updates' own API: the lead approves an update, with or without a new summary.

The router serves deliveries through this viewset: it is
``communications.api.DeliveryViewSet`` (list and detail, in the domain
layer) with the approval, whose service lives here.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from communications.api import DeliveryViewSet
from communications.selectors import delivery_get_for_user
from communications.serializers import DeliverySerializer
from pmaas.api import FIELD_ERRORS, FORBIDDEN, NOT_FOUND
from pmaas.validation import LONG_TEXT_MAX_LENGTH
from sponsor_updates import services


class DeliveryApprovalSerializer(serializers.Serializer[Any]):
    summary = serializers.CharField(
        required=False,
        max_length=LONG_TEXT_MAX_LENGTH,
        help_text="The summary to approve; the update's current one when left out.",
    )


class SponsorUpdateDeliveryViewSet(DeliveryViewSet):
    """Sponsor updates, one per subscription and period; the lead approves them here."""

    @extend_schema(
        summary="Approve an update's summary (the engagement's lead)",
        description=(
            "With `summary`, saves it as the lead's and approves it. An update approved before its "
            "time goes at its time; one already waiting for approval goes at once, marked late. "
            "Idempotent. The engagement's lead, practice leads and administrators."
        ),
        request=DeliveryApprovalSerializer,
        responses={200: DeliverySerializer, 400: FIELD_ERRORS, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        delivery = self.get_object()
        body = DeliveryApprovalSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        summary = body.validated_data.get("summary", delivery.summary)
        services.delivery_summary_save(
            actor=request.user, delivery=delivery, summary=summary, approve=True, as_of=timezone.now()
        )
        current = delivery_get_for_user(user=request.user, id=delivery.pk)
        return Response(self.get_serializer(current).data)
