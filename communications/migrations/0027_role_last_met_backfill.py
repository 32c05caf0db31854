"""Store when each existing role's person was last met, so lists read a column from the upgrade on.

One UPDATE per 200 engagements, with the same aggregate as
``communications.selectors.relationship_last_contact``: the latest check-in
on the engagement the person attended. From then on the health
recomputation keeps it.
"""

from django.db import migrations
from django.db.models import DateTimeField, Max, OuterRef, Subquery

BATCH = 200


def backfill(apps, schema_editor):
    Engagement = apps.get_model("engagements", "Engagement")
    StakeholderRole = apps.get_model("stakeholders", "StakeholderRole")
    CheckIn = apps.get_model("communications", "CheckIn")
    last_met = Subquery(
        CheckIn.objects.filter(engagement_id=OuterRef("engagement_id"), attendees=OuterRef("stakeholder_id"))
        .order_by()
        .values("engagement_id")
        .annotate(last=Max("occurred_at"))
        .values("last"),
        output_field=DateTimeField(),
    )
    ids = list(Engagement.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        StakeholderRole.objects.filter(engagement_id__in=ids[start : start + BATCH]).update(last_met_at=last_met)


class Migration(migrations.Migration):
    dependencies = [
        ("communications", "0026_follow_up_comment_written_at"),
        ("stakeholders", "0004_role_last_met"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
