"""The embedded default's broker never shows another process half a file.

kombu's own filesystem transport creates the message file in the queue folder
before it writes into it; a worker polling in between reads an empty file and
stops with "Unrecoverable error: JSONDecodeError". A CI run lost its worker
that way on a busy machine. An exchange's table of bindings is created the
same way. The race is too narrow to hit on demand, so the test looks at the
broker's folders at every filesystem step the publisher takes (Python's audit
hooks) and asks that every message and table there is whole.
"""

from __future__ import annotations

from tests.fresh_process import json_from_fresh_process

_PUBLISH_AND_WATCH = """
import json
import os
import sys

import django

django.setup()
from django.conf import settings

from pmaas.celery import app

queue_folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"]
control_folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["control_folder"]
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
        for folder, ending in ((queue_folder, ".msg"), (control_folder, ".exchange")):
            for name in os.listdir(folder):
                if name.endswith(ending):
                    with open(os.path.join(folder, name), "rb") as written:
                        body = written.read()
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
    "bindings": json.loads(open(os.path.join(control_folder, "broker-test.exchange")).read()),
}))
"""


def test_a_worker_polling_the_embedded_broker_never_finds_half_a_message(tmp_path):
    # Given the embedded default's settings (no CELERY_BROKER_URL: the filesystem broker)
    # When a task is published to a queue new to the broker, and its folders are read at every
    # filesystem step of the publisher
    published = json_from_fresh_process(_PUBLISH_AND_WATCH, var_dir=tmp_path)

    # Then the folders were looked at while the queue was bound and the message written
    assert published["steps"] > 0
    # And no look found a message or a table of bindings that was empty or cut short
    assert published["broken"] == []
    # And the message arrived, whole, once, on the queue bound once
    assert published["tasks"] == ["communications.dispatch_occurrences"]
    assert published["bindings"] == [["broker-test", "", "broker-test"]]
    assert published["transport"] == "pmaas.broker.Transport"
