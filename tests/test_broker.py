"""The embedded default's broker never shows a worker half a message.

kombu's own filesystem transport creates the message file in the queue folder
before it writes into it; a worker polling in between reads an empty file and
stops with "Unrecoverable error: JSONDecodeError". A CI run lost its worker
that way on a busy machine. The race is too narrow to hit on demand, so the
test looks at the queue folder at every filesystem step the publisher takes
(Python's audit hooks) and asks that every message there is whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

_PUBLISH_AND_WATCH = """
import json
import os
import sys

import django

django.setup()
from django.conf import settings

from pmaas.celery import app

queue_folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"]
broken = []
steps = 0
watching = False
looking = False


def look(event, args):
    # Every filesystem step of the publisher: is each message in the queue folder whole?
    global looking, steps
    if not watching or looking:
        return
    looking = True
    try:
        steps += 1
        for name in os.listdir(queue_folder):
            if name.endswith(".msg"):
                with open(os.path.join(queue_folder, name), "rb") as message:
                    body = message.read()
                try:
                    json.loads(body)
                except ValueError:
                    broken.append({"after": event, "file": name, "bytes": len(body)})
    finally:
        looking = False


sys.addaudithook(look)
with app.connection_for_write() as connection:
    watching = True
    app.send_task("communications.dispatch_occurrences", queue="broker-test", connection=connection)
    watching = False
    transport = type(connection.transport)

messages = []
for name in sorted(os.listdir(queue_folder)):
    with open(os.path.join(queue_folder, name), "rb") as message:
        messages.append(json.loads(message.read()))
print(json.dumps({
    "transport": f"{transport.__module__}.{transport.__qualname__}",
    "steps": steps,
    "broken": broken,
    "tasks": [message["headers"]["task"] for message in messages],
}))
"""


def _publish_on_the_embedded_broker(var_dir: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", _PUBLISH_AND_WATCH],
        cwd=settings.BASE_DIR,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DJANGO_SETTINGS_MODULE": "pmaas.settings",
            "DEBUG": "true",
            "PMAAS_VAR_DIR": str(var_dir),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_a_worker_polling_the_embedded_broker_never_finds_half_a_message(tmp_path):
    # Given the embedded default's settings (no CELERY_BROKER_URL: the filesystem broker)
    # When a task is published, and the queue folder is read at every filesystem step of the publisher
    published = _publish_on_the_embedded_broker(tmp_path)

    # Then the folder was looked at while the message was being written
    assert published["steps"] > 0
    # And no look found a message file that was empty or cut short
    assert published["broken"] == []
    # And the message arrived, whole, once
    assert published["tasks"] == ["communications.dispatch_occurrences"]
    assert published["transport"] == "pmaas.broker.Transport"
