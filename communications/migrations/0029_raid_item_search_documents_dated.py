"""Date the search documents of existing RAID items: a decision by its day, the others by the day raised.

They carried the moment the row was written (communications/search_documents.py
now dates them by ``raid_item_day``), and the index is rewritten only by the
services and by ``search_index_rebuild``, which a release does not run. The
rule is repeated here rather than imported, so this migration keeps meaning
what it meant if the rule changes. Each day is stored as its midnight in UTC,
as search.registry.DocumentKind.moment writes it.
"""

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from django.db import migrations

BATCH = 1000


def _day(kind, decided_on, created_at, time_zone):
    if kind == "decision" and decided_on is not None:
        return decided_on
    return created_at.astimezone(ZoneInfo(time_zone)).date()


def redate(apps, schema_editor):
    RaidItem = apps.get_model("communications", "RaidItem")
    SearchDocument = apps.get_model("search", "SearchDocument")
    items = RaidItem.objects.order_by("pk").values_list(
        "pk", "kind", "decided_on", "created_at", "engagement__client__time_zone"
    )
    days = {pk: _day(*rest) for pk, *rest in items.iterator(chunk_size=BATCH)}
    ids = list(days)
    for start in range(0, len(ids), BATCH):
        documents = SearchDocument.objects.filter(kind="raid_item", object_id__in=ids[start : start + BATCH])
        changed = []
        for document in documents.only("pk", "object_id"):
            document.happened_at = datetime.combine(days[document.object_id], time(), tzinfo=UTC)
            changed.append(document)
        SearchDocument.objects.bulk_update(changed, ["happened_at"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [
        ("communications", "0028_occurrence_engagement"),
        ("search", "0003_search_document_reads"),
    ]

    operations = [migrations.RunPython(redate, migrations.RunPython.noop)]
