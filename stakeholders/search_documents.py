"""Stakeholders as search documents (see search/registry.py)."""

from __future__ import annotations

from django.urls import reverse

from search.registry import DocumentKind, Part, register
from stakeholders.models import Stakeholder

STAKEHOLDER = register(
    DocumentKind(
        name="stakeholder",
        label="Stakeholder",
        plural="Stakeholders",
        model=Stakeholder,
        parts=(
            Part("name", lambda s: s.name, in_title=True),
            Part("title", lambda s: s.title),
            Part("department", lambda s: s.department),
            Part("client_name", lambda s: s.client.name),
            Part("email", lambda s: s.email),
            # The firm's notes about a person: found by the firm only (not a shared field).
            Part("notes", lambda s: s.notes),
        ),
        rows=lambda: Stakeholder.objects.select_related("client"),
        visible=lambda user: Stakeholder.objects.visible_to(user),
        url=lambda pk, engagement_id: reverse("stakeholder_detail", kwargs={"pk": pk}),
    )
)
