"""The embedded default's broker: kombu's filesystem transport, with files that appear whole.

kombu's filesystem transport creates a message file in the queue folder and
only then writes into it. A worker polling the folder in between takes the
empty file, fails to decode it and stops ("Unrecoverable error:
JSONDecodeError"), and the message is lost. Here a message is written in a
staging folder beside the queue and renamed into it, so a reader finds either
nothing or the whole message: a rename within one filesystem is atomic. An
exchange's table of bindings, created the same way by kombu, is linked into
place whole when it is first made.

The settings select this transport for ``filesystem://`` URLs
(``CELERY_BROKER_TRANSPORT``); the folders stay those of
``CELERY_BROKER_TRANSPORT_OPTIONS``.
"""

import os
import tempfile
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport.filesystem import exchange_queue_t
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

STAGING_FOLDER_OPTION = "staging_folder"


class Channel(filesystem.Channel):
    # kombu's stubs give the filesystem channel's _put a signature its own base class does not have.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # The name kombu's reader expects: sorted by time, then the queue after the first dot.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        part = self._staged(str_to_bytes(dumps(payload)))
        try:
            os.replace(part, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            Path(part).unlink(missing_ok=True)
            raise ChannelError(f"Cannot add message {name!r} to the queue folder") from exc

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str | None, queue: str) -> None:
        # kombu creates an exchange's table empty and then writes it, so a process routing a
        # message meanwhile reads nothing it can decode. The first binding links a whole table
        # into place instead; later ones go through kombu, which rewrites it under a lock.
        # kombu's own path for the table, which refuses names that would leave the control folder.
        table: Path = self._exchange_file(exchange)  # type: ignore[attr-defined]  # not in kombu's stubs
        if not table.exists():
            self.control_folder.mkdir(parents=True, exist_ok=True)
            first = [exchange_queue_t(routing_key or "", pattern or "", queue or "")]
            part = self._staged(str_to_bytes(dumps(first)))
            try:
                os.link(part, table)
                return
            except FileExistsError:
                pass  # Another process made it meanwhile: add to theirs below.
            finally:
                Path(part).unlink(missing_ok=True)
        super()._queue_bind(exchange, routing_key, pattern, queue)

    def _staged(self, body: bytes) -> str:
        """A file holding ``body`` whole, in the staging folder, for a rename or link into place."""
        default = os.path.join(self.data_folder_out, os.pardir, "staging")
        folder = Path(self.transport_options.get(STAGING_FOLDER_OPTION) or default)
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, part = tempfile.mkstemp(dir=folder, prefix="put-", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as staged:
                staged.write(body)
        except OSError as exc:
            Path(part).unlink(missing_ok=True)
            raise ChannelError("Cannot write a message in the broker's staging folder") from exc
        return part


class Transport(filesystem.Transport):
    Channel = Channel
