"""A real SMTP server on loopback (aiosmtpd), and a Celery worker that mails it.

The server runs in a thread of the test process on a free port of 127.0.0.1
and keeps every message it accepted, parsed, in order. A test can hold the
server: a message's DATA then waits until the test releases it and is refused
(421), so a worker can be caught inside its send and killed there without the
message counting as delivered. It can also refuse the next N messages with a
temporary error (451), as a busy mail server does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.celery_fixtures import RunningWorker, forget_queue, start_worker


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclasses.dataclass
class CollectingHandler:
    messages: list[EmailMessage] = dataclasses.field(default_factory=list)
    held: int = 0
    refused: int = 0
    # Sessions greeted (EHLO or HELO): the connections senders opened.
    greeted: int = 0
    _refuse: int = 0
    # Addresses refused for good at RCPT (550), as a server refuses a mailbox that does not exist.
    refused_addresses: set[str] = dataclasses.field(default_factory=set)
    _hold: bool = False
    _release: threading.Event = dataclasses.field(default_factory=threading.Event)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self._lock:
            self.greeted += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refused_addresses:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self._hold:
            with self._lock:
                self.held += 1
            # Waits in a thread, so the server keeps serving other connections meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, self._release.wait)
            return "421 Service not available, closing transmission channel"
        with self._lock:
            if self._refuse > 0:
                self._refuse -= 1
                self.refused += 1
                return "451 Requested action aborted: try again later"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def hold(self) -> None:
        """From now on, keep each message's DATA waiting, then refuse it once released."""
        self._release.clear()
        self._hold = True

    def refuse_next(self, count: int) -> None:
        """Refuse the next ``count`` messages with a temporary error, then accept again."""
        with self._lock:
            self._refuse = count
            self.refused = 0

    def release(self) -> None:
        """Refuse the waiting messages and accept the next ones again."""
        self._hold = False
        self._release.set()

    def refuse(self, address: str) -> None:
        """Refuse mail to ``address`` for good (550 at RCPT) until the next reset."""
        self.refused_addresses.add(address.lower())

    def reset(self) -> None:
        self.release()
        self.refused_addresses.clear()
        with self._lock:
            self.messages.clear()
            self.held = 0
            self._refuse = self.refused = self.greeted = 0


@dataclasses.dataclass
class SmtpServer:
    port: int
    handler: CollectingHandler

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.handler.messages)


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """One loopback SMTP server per test session."""
    handler = CollectingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield SmtpServer(port=controller.port, handler=handler)
    finally:
        handler.release()
        controller.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> Iterator[SmtpServer]:
    """The session's SMTP server, emptied and accepting for this test."""
    smtp_server.handler.reset()
    yield smtp_server
    smtp_server.handler.reset()


def start_mailing_worker(
    *, queue: str, smtp_server: SmtpServer, log_path: Any, fast_retry: bool = False
) -> RunningWorker:
    """A worker on ``queue`` that mails ``smtp_server``, and publishes the tasks it enqueues to ``queue``.

    With ``fast_retry`` a refused send is tried again within a second or two
    (tests/settings.py), so a test can watch the whole retry chain.
    """
    env = {"PMAAS_TEST_REAL_SMTP": "1", "EMAIL_URL": smtp_server.url, "EMAIL_TIMEOUT": "60"}
    if fast_retry:
        env["PMAAS_TEST_FAST_RETRY"] = "1"
    return start_worker(
        queue=queue,
        log_path=log_path,
        extra_env=env,
        # The reminders the dispatcher enqueues go to this worker, not to the shared default queue.
        extra_config=(f"task.default_queue={queue}",),
    )


@pytest.fixture(scope="session")
def mailing_worker(
    django_db_setup: None,
    django_db_blocker: Any,
    smtp_server: SmtpServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningWorker]:
    """One real worker per session that mails the loopback SMTP server, on a queue of its own."""
    queue = f"test-mail-{uuid.uuid4().hex[:12]}"
    worker = start_mailing_worker(
        queue=queue, smtp_server=smtp_server, log_path=tmp_path_factory.mktemp("celery") / "mailing.log"
    )
    try:
        yield worker
    finally:
        worker.stop()
        forget_queue(queue)
