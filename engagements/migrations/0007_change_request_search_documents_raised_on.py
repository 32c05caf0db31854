"""Date the search documents of existing change requests by the day each was raised.

They carried the moment the row was written or decided (engagements/search_documents.py
now dates them by ``raised_on``), and the index is rewritten only by the services
and by ``search_index_rebuild``, which a release does not run. Each day is stored
as its midnight in UTC, as search.registry.DocumentKind.moment writes it; one
UPDATE per batch of change requests.
"""

from django.db import migrations
from django.db.models import DateTimeField, OuterRef, Subquery
from django.db.models.functions import Cast

BATCH = 1000


def redate(apps, schema_editor):
    ChangeRequest = apps.get_model("engagements", "ChangeRequest")
    SearchDocument = apps.get_model("search", "SearchDocument")
    raised = Subquery(
        ChangeRequest.objects.filter(pk=OuterRef("object_id"))
        .annotate(midnight=Cast("raised_on", DateTimeField()))
        .values("midnight")[:1]
    )
    ids = list(ChangeRequest.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        SearchDocument.objects.filter(kind="change_request", object_id__in=ids[start : start + BATCH]).update(
            happened_at=raised
        )


class Migration(migrations.Migration):
    dependencies = [
        ("engagements", "0006_health_factors_and_override_expiry"),
        ("search", "0003_search_document_reads"),
    ]

    operations = [migrations.RunPython(redate, migrations.RunPython.noop)]
