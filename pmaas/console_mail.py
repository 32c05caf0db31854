"""The embedded default's mail backend: each message printed to the console as a person reads it.

Django's console backend writes the raw MIME message, and a Celery worker
turns every line of its standard output into a WARNING log line. This one
prints a block per message (the headers a reader looks at, then the plain
text part, with a note of any HTML alternative) straight to the process's
own standard output, past the worker's redirection.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from email.header import decode_header, make_header
from typing import Any, TextIO

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend

RULE = "=" * 72


def _readable(address: str) -> str:
    """An address as a person reads it: a name encoded for mail ("=?utf-8?q?...?=") decoded."""
    return str(make_header(decode_header(address)))


# The headers that say who, what and how to stop it; the rest is transport detail.
SHOWN_HEADERS = ("List-Unsubscribe", "Reply-To")


class ConsoleEmailBackend(BaseEmailBackend):
    def __init__(self, *args: Any, stream: TextIO | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.stream = stream
        self._lock = threading.Lock()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if not email_messages:
            return 0
        # The original standard output, not the worker's logging proxy that sys.stdout may be.
        stream = self.stream or sys.__stdout__ or sys.stdout
        sent = 0
        with self._lock:
            for message in email_messages:
                stream.write(message_block(message))
                stream.flush()
                sent += 1
        return sent


def message_block(message: EmailMessage) -> str:
    """One message as a readable block: From, To, Subject and a few headers, then the text."""
    lines = [
        RULE,
        f"From: {message.from_email}",
        f"To: {', '.join(_readable(address) for address in message.to)}",
    ]
    if message.cc:
        lines.append(f"Cc: {', '.join(message.cc)}")
    lines.append(f"Subject: {message.subject}")
    for name in SHOWN_HEADERS:
        value = message.extra_headers.get(name)
        if value:
            lines.append(f"{name}: {value}")
    alternatives = getattr(message, "alternatives", []) if isinstance(message, EmailMultiAlternatives) else []
    for alternative in alternatives:
        content, mimetype = alternative[0], alternative[1]
        lines.append(f"(also as {mimetype}, {len(str(content)):,} characters)")
    if message.attachments:
        lines.append(f"({len(message.attachments)} attachment(s))")
    lines += ["", str(message.body).rstrip(), RULE, ""]
    return "\n".join(lines) + "\n"
