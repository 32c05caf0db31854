"""Model validation that reports every problem at once, each under the field it concerns."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model


def clean_instance(instance: Model, errors: dict[str, Any] | None = None) -> None:
    """Run full_clean() together with rule errors a service found itself.

    Fields the service already complained about are left out of full_clean(),
    so a database constraint over them does not repeat the message without a
    field name.
    """
    collected: dict[str, Any] = {
        field: list(e) if isinstance(e, list) else [e] for field, e in (errors or {}).items()
    }
    try:
        instance.full_clean(exclude=list(collected))
    except ValidationError as exc:
        collected = exc.update_error_dict(collected)
    if collected:
        raise ValidationError(collected)
