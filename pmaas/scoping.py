"""Ids read from a request, and the 404 of every scoped lookup when a row is missing or out of scope."""

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model, QuerySet
from django.http import Http404

from pmaas.sharing import NOTHING, client_share, is_client_user

M = TypeVar("M", bound=Model)

# Primary keys are 64-bit signed integers in both databases; a larger number
# cannot name a row, and SQLite refuses it with an error instead of no match.
LARGEST_ID = 2**63 - 1


def parse_id(value: Any) -> int | None:
    """The row id ``value`` names (a whole number, or its digits as text), or None when it names none.

    "1.5", 1.5, True, "-3", "0", "1e3" and numbers past LARGEST_ID name no
    row: they are refused, never rounded or wrapped onto one that exists.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        return None
    return number if 1 <= number <= LARGEST_ID else None


def get_or_404(queryset: QuerySet[M], *, id: Any) -> M:
    """Fetch one row of an already-scoped QuerySet; absent, forbidden and malformed ids look the same."""
    pk = parse_id(id)
    if pk is None:
        raise Http404(f"No such {queryset.model._meta.verbose_name}.")
    try:
        return queryset.get(pk=pk)
    except ObjectDoesNotExist:
        raise Http404(f"No such {queryset.model._meta.verbose_name}.") from None


def require_shared_section(user: Any, label: str) -> None:
    """404 for a client user on a page about a model none of whose rows are shared with clients.

    The communication plan, obligations, compliance: the engagement is in their
    scope, the page about it is not (pmaas/sharing.py).
    """
    if is_client_user(user) and client_share(label) is NOTHING:
        raise Http404("No such page.")
