"""Request logs without secrets: the calendar feed's token is masked wherever a path is logged.

A calendar feed's URL (``/calendar/<token>.ics``, communications/views/calendar.py)
is its only credential, so an access log that kept it would hand the feed to
anyone who reads the logs. Django's request loggers get ``MaskSecretsFilter``
(settings.LOGGING); gunicorn gets ``GunicornLogger`` (Procfile, ``--logger-class``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn import glogging

MASK = "***"

# Not /account/calendar/…, the page that lists feeds; the token is one path segment.
_FEED_TOKEN = re.compile(r"(?<!/account)(/calendar/)[^/\s?#\"']+?(\.ics)?(?=$|[/\s?#\"'])")


def mask_secrets(text: str) -> str:
    """``text`` with every calendar feed token replaced by ``***``."""
    return _FEED_TOKEN.sub(lambda match: f"{match[1]}{MASK}{match[2] or ''}", text)


class MaskSecretsFilter(logging.Filter):
    """Rewrites a record whose message names a secret URL; lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_secrets(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


class RefusalWithoutTracebackFilter(logging.Filter):
    """Drops the traceback Django attaches to a 4xx it raised (a 403, a 404): the line says it all.

    Refusals are routine (a consultant opening a check-in they may not
    correct), and fifty lines of stack each buried the log; a 5xx keeps its
    traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info, record.exc_text = None, None
        return True


class GunicornLogger(glogging.Logger):
    """gunicorn's logger, with the access log and the error log masked like Django's."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self.access_log.addFilter(MaskSecretsFilter())
        self.error_log.addFilter(MaskSecretsFilter())
