"""How every sweep claims rows: locked for its transaction, passing over rows another process holds."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Model, QuerySet

Q = TypeVar("Q", bound=QuerySet[Any])


def skip_locked(queryset: Q) -> Q:
    """The queryset as ``SELECT … FOR UPDATE OF <its own table> SKIP LOCKED``.

    Only the queryset's own rows are locked: related rows it reads along
    (select_related) are there to compute with, not to claim. SQLite has no
    row locks (a write locks the whole file), so there it is returned as is.
    """
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True, of=("self",))
    return queryset


def _pk_of(row: Any) -> Any:
    if isinstance(row, Model):
        return row.pk
    if isinstance(row, tuple):
        return row[0]
    return row


def claim_in_batches(queryset: QuerySet[Any], *, batch_size: int, claim: Callable[[list[Any]], int]) -> int:
    """Walk ``queryset`` in primary-key order, a batch per transaction, each batch locked for its claim.

    The way every sweep claims work: each batch is read with ``skip_locked``
    (rows another process holds are passed over, and picked up by the next
    run), handed to ``claim`` inside the same transaction, and the walk
    resumes after the batch's last key (a keyset, so it never rereads or
    counts). A row of a ``values_list`` queryset must start with the primary
    key. Returns the sum of what ``claim`` returned.
    """
    total = 0
    last_pk: Any = None
    while True:
        with transaction.atomic():
            page = queryset if last_pk is None else queryset.filter(pk__gt=last_pk)
            batch = list(skip_locked(page.order_by("pk"))[:batch_size])
            if not batch:
                return total
            total += claim(batch)
        last_pk = _pk_of(batch[-1])
        if len(batch) < batch_size:
            return total
