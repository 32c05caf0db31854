"""Writes to the search index: refreshing the documents of rows, and rebuilding the whole index.

The services that write indexed rows call ``search_documents_refresh`` in
their transaction, so a search after the write finds the new words and a
rolled-back write leaves the index as it was.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.expressions import CombinedExpression

from pmaas.sharing import NOTHING, client_sees_field, client_share
from search.models import Audience, SearchDocument
from search.registry import DocumentKind, Part, kind_get, kind_list

# The text-search configuration of PostgreSQL: English stems, so "trained" finds "training".
SEARCH_CONFIG = "english"
# Characters read as spaces before PostgreSQL splits words, as SQLite's FTS5
# tokenizer does: "ada@north.test" holds the words "ada", "north" and "test",
# and angle brackets in a text ("<b>", "cost < 5k") are not taken for markup,
# whose content PostgreSQL's parser would skip.
WORD_SEPARATORS = "@./_:<>"
# Markers that cannot come from a user: stripped from every indexed text, so
# the highlighter's marks are the only ones the page turns into <mark>.
MARK_START = "\x02"
MARK_STOP = "\x03"
# PostgreSQL's highlighter drops whatever looks like markup; angle brackets
# reach it as these stand-ins and are put back before the text is escaped, so
# "<b>" in a summary shows as typed on both databases.
ANGLE_STANDINS = {"<": "\x04", ">": "\x05"}
REFRESH_BATCH = 500


def _clean(text: str) -> str:
    for reserved in (MARK_START, MARK_STOP, *ANGLE_STANDINS.values()):
        text = (text or "").replace(reserved, "")
    return text.strip()


def _document(kind: DocumentKind, row: object, audience: str, parts: Iterable[Part]) -> SearchDocument:
    parts = list(parts)
    title = " · ".join(t for t in (_clean(p.value(row)) for p in parts if p.in_title) if t)
    body = "\n".join(t for t in (_clean(p.value(row)) for p in parts if not p.in_title) if t)
    return SearchDocument(
        kind=kind.name,
        object_id=row.pk,  # type: ignore[attr-defined]
        audience=audience,
        engagement_id=kind.engagement(row),
        title=title or kind.label,
        body=body,
        happened_at=kind.moment(row),
    )


def _words(text: str) -> str:
    for separator in WORD_SEPARATORS:
        text = text.replace(separator, " ")
    return text


def _vector(document: SearchDocument) -> CombinedExpression:
    # A title word weighs more than a body word in the ranking. Values, not columns, so the
    # vector is written by the same INSERT as the document: a refresh costs the same on both databases.
    return SearchVector(Value(_words(document.title)), weight="A", config=SEARCH_CONFIG) + SearchVector(
        Value(_words(document.body)), weight="B", config=SEARCH_CONFIG
    )


# No savepoint: inside a service's transaction the refresh stands or falls with the write.
@transaction.atomic(savepoint=False)
def search_documents_refresh(*, kind: str, ids: Iterable[int]) -> int:
    """Rewrite the documents of these rows of one kind from their current values.

    Each row gets a firm document (every part) and, when the client policy
    shares the model, a client document (the parts whose fields it shares).
    Rows that no longer exist lose their documents. Idempotent; returns the
    number of documents written. Raises KeyError for an unregistered kind.
    """
    spec = kind_get(kind)
    if spec is None:
        raise KeyError(f"No search document kind {kind!r}.")
    wanted = sorted(set(ids))
    if not wanted:
        return 0
    label = spec.model._meta.label
    shares = client_share(label) is not NOTHING
    client_parts = [p for p in spec.parts if client_sees_field(label, p.field)]
    documents: list[SearchDocument] = []
    for start in range(0, len(wanted), REFRESH_BATCH):
        batch = wanted[start : start + REFRESH_BATCH]
        for row in spec.rows().filter(pk__in=batch).order_by("pk"):
            documents.append(_document(spec, row, Audience.FIRM, spec.parts))
            if shares:
                documents.append(_document(spec, row, Audience.CLIENT, client_parts))
    if connection.vendor == "postgresql":
        for document in documents:
            document.vector = _vector(document)
    SearchDocument.objects.filter(kind=kind, object_id__in=wanted).delete()
    written = SearchDocument.objects.bulk_create(documents, batch_size=REFRESH_BATCH)
    return len(written)


def search_index_rebuild(*, batch_size: int = REFRESH_BATCH) -> int:
    """Rewrite every document of every registered kind, a batch of rows at a time.

    For an index that missed writes (rows loaded in bulk, a restored backup,
    a kind registered after its rows existed). Documents of rows or kinds
    that are gone are deleted. Idempotent; returns the documents written.
    """
    registered = kind_list()
    SearchDocument.objects.exclude(kind__in=[k.name for k in registered]).delete()
    written = 0
    for spec in registered:
        SearchDocument.objects.filter(kind=spec.name).exclude(
            object_id__in=spec.model._default_manager.values("pk")
        ).delete()
        last = 0
        while True:
            # Keyset paging: each batch starts after the last id, however large the table.
            batch = list(
                spec.model._default_manager.filter(pk__gt=last)
                .order_by("pk")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not batch:
                break
            written += search_documents_refresh(kind=spec.name, ids=batch)
            last = batch[-1]
    return written
