"""Mail the product sends: one template name gives the subject, plain text and HTML parts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import User


def email_render(*, template: str, context: dict[str, Any], recipient: User) -> EmailMultiAlternatives:
    """Render ``communications/email/<template>{_subject.txt,.txt,.html}`` for one user.

    Times in the mail read in the recipient's own time zone; the subject is
    folded onto one line, as mail headers require.
    """
    base = f"communications/email/{template}"
    with timezone.override(recipient.time_zone):
        subject = render_to_string(f"{base}_subject.txt", context)
        text = render_to_string(f"{base}.txt", context)
        html = render_to_string(f"{base}.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        to=[recipient.email],
        from_email=settings.DEFAULT_FROM_EMAIL,
    )
    message.attach_alternative(html, "text/html")
    return message
