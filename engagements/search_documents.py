"""Engagements and change requests as search documents (see search/registry.py)."""

from __future__ import annotations

from django.urls import reverse

from engagements.models import ChangeRequest, Engagement
from search.registry import DocumentKind, Part, register

ENGAGEMENT = register(
    DocumentKind(
        name="engagement",
        label="Engagement",
        plural="Engagements",
        model=Engagement,
        parts=(
            Part("code", lambda e: e.code, in_title=True),
            Part("name", lambda e: e.name, in_title=True),
            Part("client_name", lambda e: e.client.name),
            Part("kind_display", lambda e: e.get_kind_display()),
            Part("description", lambda e: e.description),
        ),
        rows=lambda: Engagement.objects.select_related("client"),
        visible=lambda user: Engagement.objects.visible_to(user),
        url=lambda pk, engagement_id: reverse("engagement_detail", kwargs={"pk": pk}),
        engagement=lambda e: e.pk,
    )
)

CHANGE_REQUEST = register(
    DocumentKind(
        name="change_request",
        label="Change request",
        plural="Change requests",
        model=ChangeRequest,
        parts=(
            Part("title", lambda c: c.title, in_title=True),
            Part("kind_display", lambda c: c.get_kind_display()),
            Part("description", lambda c: c.description),
            Part("decision", lambda c: c.decision),
        ),
        rows=lambda: ChangeRequest.objects.all(),
        visible=lambda user: ChangeRequest.objects.visible_to(user),
        url=lambda pk, engagement_id: reverse("engagement_changes", kwargs={"pk": engagement_id}),
        engagement=lambda c: c.engagement_id,
        # Dated as the changes page dates it: the day it was raised, not the day its row was written.
        happened_on=lambda c: c.raised_on,
    )
)
