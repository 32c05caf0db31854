"""A mail backend that refuses the first N sends, then delivers to Django's locmem outbox."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from typing import ClassVar

from django.core.mail.backends import locmem
from django.core.mail.message import EmailMessage


class FlakyBackend(locmem.EmailBackend):
    """Set ``FlakyBackend.failures_left`` before a test; each send consumes one failure."""

    failures_left: ClassVar[int] = 0
    refused: ClassVar[int] = 0

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if FlakyBackend.failures_left > 0:
            FlakyBackend.failures_left -= 1
            FlakyBackend.refused += 1
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(email_messages)

    @classmethod
    def fail_next(cls, times: int) -> None:
        cls.failures_left = times
        cls.refused = 0
