"""Writing new values into many rows a sweep has already read, in one cheap statement."""

from collections.abc import Sequence
from typing import Any

from django.db.models import Model


def rows_rewrite(rows: Sequence[Model], *, fields: Sequence[str]) -> None:
    """Store ``fields`` of ``rows`` (whole rows, read in this transaction) in one statement.

    An ``INSERT … ON CONFLICT (id) DO UPDATE`` of the given fields: every row
    exists, so each becomes an update. Django's ``bulk_update`` builds one
    ``CASE WHEN id = … THEN …`` expression per row and field, and building it
    cost the sponsor-update sweep more than a millisecond a message; this
    statement is built from plain parameters. The rows must be complete (no
    deferred fields) and locked or otherwise kept from being deleted, as a
    deleted row would be written again. Idempotent.
    """
    if not rows:
        return
    model: Any = type(rows[0])
    pk = model._meta.pk.name
    model.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=[pk], update_fields=list(fields), batch_size=500
    )
