"""Optimistic concurrency: a save based on a stale copy of a row is refused, not applied."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Model

# An edit form that arrives without the version it was opened on cannot be checked
# against later changes; it is refused rather than saved over whatever is there now.
SEEN_MISSING_MESSAGE = (
    "This form does not say which version of the row it was opened on; "
    "reload the page, review the current values and save again."
)
STALE_MESSAGE = (
    "Someone else changed this since you opened it. Your changes are kept below; "
    "review the current values and save again."
)


def check_unchanged(instance: Model, *, seen_updated_at: datetime | None) -> None:
    """Refuse the write when the row's updated_at moved past what the editor saw.

    Call inside the service's transaction after locking the row
    (``select_for_update``), so two concurrent saves cannot both pass.
    ``None`` skips the check, for callers that did not read the row first
    (scripts, the demo); every edit form requires the version it was opened on.
    """
    if seen_updated_at is None:
        return
    rows = type(instance)._default_manager.filter(pk=instance.pk)
    current = rows.values_list("updated_at", flat=True).first()
    if current is not None and current != seen_updated_at:
        raise ValidationError(STALE_MESSAGE, code="stale")
