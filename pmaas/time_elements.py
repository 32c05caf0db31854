"""The ``datetime`` attribute of ``<time>`` elements, as HTML accepts it: ``{{ moment|html_datetime }}``.

A template builtin (settings.TEMPLATES), so every template has it. Django's
``date:'c'`` writes microseconds when a moment has them (most stored moments
do), and HTML allows at most three digits of a second's fraction: a page with
six is invalid. This writes whole seconds, in the current time zone, with its
offset: "2026-12-04T16:51:47+01:00"; a date alone as "2026-12-04".
"""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter(name="html_datetime")
def html_datetime(value: date | None) -> str:
    if not value:
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.isoformat(timespec="seconds")
    return value.isoformat()
