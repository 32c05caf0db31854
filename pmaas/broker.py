"""The embedded default's broker: kombu's filesystem transport, with messages that appear whole.

kombu's filesystem transport creates a message file in the queue folder and
only then writes into it. A worker polling the folder in between takes the
empty file, fails to decode it and stops ("Unrecoverable error:
JSONDecodeError"), and the message is lost. Here a message is written in a
staging folder beside the queue and renamed into it, so a reader finds either
nothing or the whole message: a rename within one filesystem is atomic.

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
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

STAGING_FOLDER_OPTION = "staging_folder"


class Channel(filesystem.Channel):
    # kombu's stubs give the filesystem channel's _put a signature its own base class does not have.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        # The name kombu's reader expects: sorted by time, then the queue after the first dot.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        body = str_to_bytes(dumps(payload))
        descriptor, part = tempfile.mkstemp(dir=self._staging_folder(), prefix="put-", suffix=".part")
        try:
            with os.fdopen(descriptor, "wb") as staged:
                staged.write(body)
            os.replace(part, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            Path(part).unlink(missing_ok=True)
            raise ChannelError(f"Cannot add message {name!r} to the queue folder") from exc

    def _staging_folder(self) -> str:
        default = os.path.join(self.data_folder_out, os.pardir, "staging")
        folder = Path(self.transport_options.get(STAGING_FOLDER_OPTION) or default)
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder)


class Transport(filesystem.Transport):
    Channel = Channel
