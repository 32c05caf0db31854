"""The yardstick of the firm-scale API benchmark: the barest list and detail DRF can serve.

``bench/firm.py`` serves these beside the product's API from the same gunicorn,
under the same middleware, authentication and throttles, so the product's lists
are compared with what one query and a plain serializer cost on this machine.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import include, path
from rest_framework import generics, serializers

from engagements.models import Engagement

BARE_ROWS = 50


class BareEngagementSerializer(serializers.ModelSerializer[Engagement]):
    class Meta:
        model = Engagement
        fields = ["id", "code", "name", "status", "start_date", "health"]


class BareList(generics.ListAPIView[Engagement]):
    """Fifty engagements in one query: no scoping, no paging, no annotations."""

    serializer_class = BareEngagementSerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Engagement]:
        return Engagement.objects.order_by("pk")[:BARE_ROWS]


class BareDetail(generics.RetrieveAPIView[Engagement]):
    """One engagement by primary key, in one query."""

    serializer_class = BareEngagementSerializer
    queryset = Engagement.objects.all()


urlpatterns = [
    path("bench/bare-list/", BareList.as_view(), name="bench_bare_list"),
    path("bench/bare-detail/<int:pk>/", BareDetail.as_view(), name="bench_bare_detail"),
    path("", include("pmaas.urls")),
]
