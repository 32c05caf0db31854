"""How every sweep claims rows: locked for its transaction, passing over rows another process holds."""

from typing import Any, TypeVar

from django.db import connection
from django.db.models import QuerySet

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
