"""The kinds of searchable documents: one registration per kind, made by the app that owns the rows.

The search app sits below the apps it indexes, so it never imports them:
each app registers its kinds from its own ``search_documents`` module (loaded
by its AppConfig), saying how a row reads as a title and a body, which of
those parts a client may read (by the field names of pmaas/sharing.py), who
may see a row (its model's ``visible_to``) and where a hit links to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class Part:
    """One piece of a row's text.

    ``field`` is the name pmaas/sharing.py knows it by: a client user's
    document holds the part only when the policy shares that field.
    """

    field: str
    value: Callable[[Any], str]
    in_title: bool = False


def _no_engagement(row: Any) -> int | None:
    return None


def _no_moment(row: Any) -> datetime | None:
    return None


@dataclass(frozen=True)
class DocumentKind:
    name: str
    label: str
    plural: str
    model: type[Model]
    parts: tuple[Part, ...]
    # The rows with whatever the parts read, joined in (one query per refresh batch).
    rows: Callable[[], QuerySet[Any]]
    # The one scoping function of the model: a search never shows a row outside it.
    visible: Callable[[Any], QuerySet[Any]]
    # Where a hit links to, from the document's ids alone (no query per hit).
    url: Callable[[int, int | None], str]
    engagement: Callable[[Any], int | None] = _no_engagement
    happened_at: Callable[[Any], datetime | None] = _no_moment
    # For a kind dated by a day rather than a moment (a decision's day, a change request's
    # raised_on), instead of ``happened_at``: a day shown in the reader's time zone could be the
    # day before or after.
    happened_on: Callable[[Any], date | None] | None = None

    def moment(self, row: Any) -> datetime | None:
        """What a document of ``row`` stores as ``happened_at``: its moment, or its day's midnight in UTC.

        A day is stored as a moment so that PostgreSQL's newest-first ranking
        orders it among the other kinds' moments; ``day`` reads it back.
        """
        if self.happened_on is None:
            return self.happened_at(row)
        day = self.happened_on(row)
        return None if day is None else datetime.combine(day, time(), tzinfo=UTC)

    def day(self, moment: datetime | None) -> date | None:
        """The day a stored ``happened_at`` stands for, for a kind dated by a day; None for the others."""
        if self.happened_on is None or moment is None:
            return None
        return moment.astimezone(UTC).date()


KINDS: dict[str, DocumentKind] = {}


def register(kind: DocumentKind) -> DocumentKind:
    """Make a kind searchable; a second registration under the same name replaces the first."""
    KINDS[kind.name] = kind
    return kind


def kind_get(name: str) -> DocumentKind | None:
    return KINDS.get(name)


def kind_list() -> list[DocumentKind]:
    """Every registered kind, in the order the apps registered them (the order of the kind filter)."""
    return list(KINDS.values())
