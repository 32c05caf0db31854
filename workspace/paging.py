"""Pages of a list without counting it: read one row beyond the page to know whether another follows."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import QueryDict

from pmaas.scoping import parse_id


@dataclasses.dataclass(frozen=True)
class Page:
    """One page of a list: its rows and whether pages come before and after it."""

    rows: list[Any]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_number(query: QueryDict, key: str = "page") -> int:
    """The page a request asks for: a whole number from 1, else the first."""
    return parse_id(query.get(key)) or 1


def page_of(queryset: Any, *, number: int, size: int) -> Page:
    """Rows ``size`` × (number - 1) onwards of an ordered queryset, in one query and no COUNT.

    The queryset's order must end with a unique key, so that no row repeats
    or vanishes between pages.
    """
    start = (number - 1) * size
    rows = list(queryset[start : start + size + 1])
    return Page(rows=rows[:size], number=number, has_next=len(rows) > size)


def page_query(query: QueryDict, number: int, key: str = "page") -> str:
    """The request's query string with ``key`` set to ``number``: a link to that page, filters kept."""
    params = query.copy()
    params[key] = str(number)
    return params.urlencode()


def pager_links(query: QueryDict, page: Page, key: str = "page") -> dict[str, str]:
    """The links templates/workspace/_pager.html draws: previous and next query strings, the number."""
    return {
        "previous": page_query(query, page.number - 1, key) if page.has_previous else "",
        "next": page_query(query, page.number + 1, key) if page.has_next else "",
        "number": str(page.number),
    }
