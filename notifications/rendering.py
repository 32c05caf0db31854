"""Mail content from templates: one template name gives the subject, plain text and HTML parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_render(*, template: str, context: dict[str, Any], time_zone: str) -> RenderedEmail:
    """Render ``<template>{_subject.txt,.txt,.html}`` (``template`` is a path such as
    ``communications/email/escalation``) with times in ``time_zone``, the reader's own.

    The subject is folded onto one line, as mail headers require.
    """
    with timezone.override(time_zone):
        subject = render_to_string(f"{template}_subject.txt", context)
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)
