"""How pages show a health factor: the link to its evidence, and an override's last day."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse

from engagements.models import Engagement
from engagements.selectors import health_override_last_day

register = template.Library()


@register.filter(name="evidence_url")
def evidence_url(factor: Any) -> str:
    """The page showing a factor's evidence (stored as URL name, arguments, fragment); "" when none."""
    evidence = factor.get("evidence") if isinstance(factor, Mapping) else getattr(factor, "evidence", None)
    if not evidence:
        return ""
    try:
        url = reverse(evidence["url"], args=evidence.get("args") or [])
    except (NoReverseMatch, KeyError, TypeError):
        # A factor stored before a page was renamed still shows its words, without a dead link.
        return ""
    fragment = evidence.get("fragment")
    return f"{url}#{fragment}" if fragment else url


@register.filter(name="override_last_day")
def override_last_day(engagement: Engagement) -> date | None:
    return health_override_last_day(engagement)
