"""Follow-ups remember the time zone of the day they are due by the end of (pmaas/deadlines.py).

Items recorded before carry no zone, but the forms gave each date-only item
the end of that day in the recorder's zone (23:59): an item whose due time is
23:59 in the zone of whoever recorded or re-dated it gets that zone, so it
reads as its day from the upgrade on. Items due at other times keep none.
"""

from collections import defaultdict

from django.db import migrations, models

import pmaas.timezones
from pmaas.deadlines import deadline_day

BATCH = 1000
# In UTC, the minute at which 23:59 falls in a zone on a whole, half or quarter hour's offset.
END_OF_DAY_MINUTES = (59, 29, 14, 44)


def _day_zone(moment, candidates):
    return next((zone for zone in candidates if zone and deadline_day(moment, zone) is not None), "")


def backfill(apps, schema_editor):
    FollowUp = apps.get_model("communications", "FollowUp")
    FollowUpRedate = apps.get_model("communications", "FollowUpRedate")
    redater_zones = defaultdict(list)
    redates = []
    history = FollowUpRedate.objects.select_related("redated_by", "follow_up__created_by").order_by("pk")
    for redate in history.iterator(chunk_size=BATCH):
        zones = [
            getattr(redate.follow_up.created_by, "time_zone", ""),
            getattr(redate.redated_by, "time_zone", ""),
        ]
        redater_zones[redate.follow_up_id].append(zones[1])
        redate.previous_due_zone = _day_zone(redate.previous_due_at, zones)
        redate.due_zone = _day_zone(redate.due_at, zones[::-1])
        if redate.previous_due_zone or redate.due_zone:
            redates.append(redate)
    FollowUpRedate.objects.bulk_update(redates, ["previous_due_zone", "due_zone"], batch_size=BATCH)
    changed = []
    candidates = (
        FollowUp.objects.filter(due_at__minute__in=END_OF_DAY_MINUTES)
        .order_by("pk")
        .values_list("pk", "due_at", "created_by__time_zone")
    )
    for pk, due_at, recorder_zone in candidates.iterator(chunk_size=BATCH):
        zone = _day_zone(due_at, [*reversed(redater_zones.get(pk, [])), recorder_zone])
        if zone:
            changed.append(FollowUp(pk=pk, due_zone=zone))
    FollowUp.objects.bulk_update(changed, ["due_zone"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("communications", "0024_consultant_weekly_rollups"),
    ]

    operations = [
        migrations.AddField(
            model_name="followup",
            name="due_zone",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                help_text=(
                    "For an item agreed for a day: the time zone of that day, at whose end it is due. "
                    "Empty for an item due at a time."
                ),
                max_length=64,
                validators=[pmaas.timezones.validate_time_zone],
            ),
        ),
        migrations.AddField(
            model_name="followupredate",
            name="due_zone",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                max_length=64,
                validators=[pmaas.timezones.validate_time_zone],
            ),
        ),
        migrations.AddField(
            model_name="followupredate",
            name="previous_due_zone",
            field=models.CharField(
                blank=True,
                db_default="",
                default="",
                max_length=64,
                validators=[pmaas.timezones.validate_time_zone],
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
