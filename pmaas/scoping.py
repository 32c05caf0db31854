"""The 404 every scoped lookup answers with when a row is missing or out of the caller's scope."""

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

from pmaas.sharing import NOTHING, client_share, is_client_user

M = TypeVar("M", bound=Model)


def get_or_404(queryset: QuerySet[M], *, id: Any) -> M:
    """Fetch one row of an already-scoped QuerySet; absent and forbidden look the same."""
    try:
        return queryset.get(pk=id)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {queryset.model._meta.verbose_name}.") from None


def require_shared_section(user: Any, label: str) -> None:
    """404 for a client user on a page about a model none of whose rows are shared with clients.

    The communication plan, obligations, compliance: the engagement is in their
    scope, the page about it is not (pmaas/sharing.py).
    """
    if is_client_user(user) and client_share(label) is NOTHING:
        raise Http404("No such page.")
