"""Shorten stored grace periods that reach the cadence's next meeting.

Channels planned before the check (a daily channel with the default two
days, a weekly one with ten) had their meetings passed over by the missed
sweep. Such a grace period becomes what channel_create now gives a channel
planned without one: two days, or half the closest gap of a closer cadence.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import migrations

from communications.recurrence import shortest_gap

DEFAULT_GRACE_PERIOD = timedelta(days=2)


def shorten_overlapping_grace_periods(apps: Any, schema_editor: Any) -> None:
    channel_model = apps.get_model("communications", "Channel")
    too_long = []
    for channel in channel_model.objects.only("pk", "recurrence", "starts_on", "local_time", "grace_period"):
        gap = shortest_gap(rule=channel.recurrence, starts_on=channel.starts_on, local_time=channel.local_time)
        if gap is not None and channel.grace_period >= gap:
            channel.grace_period = min(DEFAULT_GRACE_PERIOD, gap / 2)
            too_long.append(channel)
    channel_model.objects.bulk_update(too_long, ["grace_period"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("communications", "0012_channel_duration")]

    operations = [migrations.RunPython(shorten_overlapping_grace_periods, migrations.RunPython.noop)]
