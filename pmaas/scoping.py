"""The 404 every scoped lookup answers with when a row is missing or out of the caller's scope."""

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

M = TypeVar("M", bound=Model)


def get_or_404(queryset: QuerySet[M], *, id: Any) -> M:
    """Fetch one row of an already-scoped QuerySet; absent and forbidden look the same."""
    try:
        return queryset.get(pk=id)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {queryset.model._meta.verbose_name}.") from None
