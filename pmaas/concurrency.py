"""Optimistic concurrency: a save based on a stale copy of a row is refused, not applied."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Model

STALE_MESSAGE = (
    "Someone else changed this since you opened it. Your changes are kept below; "
    "review the current values and save again."
)


def check_unchanged(instance: Model, *, seen_updated_at: datetime | None) -> None:
    """Refuse the write when the row's updated_at moved past what the editor saw.

    Call inside the service's transaction after locking the row
    (``select_for_update``), so two concurrent saves cannot both pass.
    ``None`` skips the check, for callers that did not read the row first.
    """
    if seen_updated_at is None:
        return
    rows = type(instance)._default_manager.filter(pk=instance.pk)
    current = rows.values_list("updated_at", flat=True).first()
    if current is not None and current != seen_updated_at:
        raise ValidationError(STALE_MESSAGE, code="stale")
