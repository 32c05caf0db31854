"""Mail content from templates: one template name gives the subject, plain text and HTML parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.template import Context, engines
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.outbox import OutboundEmail
from notifications.selectors import Recipient


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def email_render(*, template: str, context: dict[str, Any], time_zone: str) -> RenderedEmail:
    """Render ``<template>{_subject.txt,.txt,.html}`` (``template`` is a path such as
    ``communications/email/at_once``) with times in ``time_zone``, the reader's own.

    The subject and the plain-text part are plain text, rendered without
    HTML escaping (a title with an apostrophe reads as typed); the HTML part
    escapes as every page does. The subject is folded onto one line, as mail
    headers require.
    """
    with timezone.override(time_zone):
        subject = _render_plain(f"{template}_subject.txt", context)
        text = _render_plain(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    return RenderedEmail(subject=" ".join(subject.split()), text=text, html=html)


def _render_plain(name: str, context: dict[str, Any]) -> str:
    engine = engines["django"].engine  # type: ignore[attr-defined]
    return str(engine.get_template(name).render(Context(context, autoescape=False)))


def email_to(
    recipient: Recipient, *, template: str, context: dict[str, Any], kind: str, key: str, **fields: Any
) -> OutboundEmail:
    """One user's mail, rendered in their own time zone and addressed to them, ready for the outbox.

    ``fields`` are the rest of ``OutboundEmail`` (engagement, not before,
    expiry, what it reports).
    """
    rendered = email_render(template=template, context=context, time_zone=recipient.user.time_zone)
    return OutboundEmail(
        kind=kind,
        key=key,
        to=recipient.email,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        recipient_id=recipient.user_id,
        **fields,
    )
