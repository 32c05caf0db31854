"""The one search: ranked, highlighted documents the user may see, the same on PostgreSQL and SQLite.

PostgreSQL matches the stored ``vector`` (GIN-indexed) and ranks with
``ts_rank``; SQLite matches the FTS5 table kept beside the documents and ranks
with ``bm25``. Both weigh a title word above a body word, read every word of
the query as a prefix (stems included: "nurse training" finds "nurse
super-user training", "financ" finds "Finance"), require every word, and
answer in one shape. A page is read with LIMIT and one row beyond it, so no
query ever counts the matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, Func, Q, TextField, Value
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from pmaas.sharing import is_client_user
from search.models import Audience, SearchDocument
from search.registry import DocumentKind, kind_get, kind_list
from search.services import ANGLE_STANDINS, MARK_START, MARK_STOP, SEARCH_CONFIG

SEARCH_MIN_LENGTH = 2
SEARCH_PAGE_SIZE = 20
# More words than this narrow nothing a person would notice and only cost time.
SEARCH_MAX_TERMS = 8
FTS_TABLE = "search_document_fts"
# Title against body in SQLite's bm25, in proportion to PostgreSQL's A and B weights.
FTS_WEIGHTS = (2.5, 1.0)
SNIPPET_WORDS = 30
# On PostgreSQL, a query matching more of the documents a person may see than this is ranked
# among the newest this many of them: ranking every match of a word like "plan" (half a million
# documents at firm scale) took most of a second, and among so many the recent ones are sought.
RANKED_AT_MOST = 500
_LINE_BREAKS = re.compile(r"\s*[\r\n]\s*")
_SENTENCE_ENDS = (".", "!", "?", ":", ";", "…")


@dataclass(frozen=True)
class SearchHit:
    kind: DocumentKind
    object_id: int
    engagement_id: int | None
    title: SafeString
    snippet: SafeString
    happened_at: datetime | None
    url: str
    # Set instead of ``happened_at`` for a kind dated by a day (search.registry).
    happened_on: date | None = None

    @property
    def dated(self) -> date | datetime | None:
        """What the hit is dated by: its day, or its moment (shown in the reader's time zone)."""
        return self.happened_on or self.happened_at


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    page: int
    has_next: bool

    @property
    def is_empty(self) -> bool:
        return not self.hits


def search_terms(query: str) -> list[str]:
    """The words of a query, as both databases split them: letters and digits, lower case."""
    return re.findall(r"[^\W_]+", query.lower())[:SEARCH_MAX_TERMS]


def marked(text: str) -> SafeString:
    """The highlighter's output as HTML: everything escaped, then its marks made <mark>."""
    text = text or ""
    for bracket, standin in ANGLE_STANDINS.items():
        text = text.replace(standin, bracket)
    html = str(escape(text))
    return mark_safe(html.replace(MARK_START, "<mark>").replace(MARK_STOP, "</mark>"))  # noqa: S308


def _parts_apart(text: str) -> str:
    """A document's body with its parts apart: a line break reads as " · " unless a sentence ended there.

    The parts of a body are lines (search.services), which HTML shows run
    together: a change request's kind read into its description.
    """
    text = (text or "").strip()

    def joined(match: re.Match[str]) -> str:
        before = text[: match.start()].rstrip(MARK_START + MARK_STOP)
        return " " if before.endswith(_SENTENCE_ENDS) else " · "

    return _LINE_BREAKS.sub(joined, text)


def _scope(user: Any, kinds: Sequence[DocumentKind]) -> Q:
    rows = Q(pk__in=[])
    for kind in kinds:
        visible = kind.visible(user)
        if not visible.query.where:
            # Every row of the kind (a practice lead's check-ins): no list of ids to test against.
            # Two million ids do not fit the memory a hashed IN gets, and unhashed, PostgreSQL
            # rescans the list for each match: a common word took minutes at firm scale.
            rows |= Q(kind=kind.name)
            continue
        rows |= Q(kind=kind.name, object_id__in=visible.values("pk"))
    audience = Audience.CLIENT if is_client_user(user) else Audience.FIRM
    return rows & Q(audience=audience)


def _without_angles(field: str) -> Func:
    return Func(
        F(field),
        Value("".join(ANGLE_STANDINS)),
        Value("".join(ANGLE_STANDINS.values())),
        function="translate",
        output_field=TextField(),
    )


def _postgresql_rows(
    terms: list[str], scope: Q, offset: int, limit: int, *, narrowed: bool
) -> list[tuple[int, str, str]]:
    query = SearchQuery(" & ".join(f"{t}:*" for t in terms), search_type="raw", config=SEARCH_CONFIG)
    matching = SearchDocument.objects.filter(scope, vector=query)
    # The newest RANKED_AT_MOST matches are all of them for most queries. Read newest first, they
    # cost little for a common word; for a rare one PostgreSQL could walk every document waiting
    # for matches that never come. So, unless the search is narrowed to a few engagements (where
    # it takes their documents first), first ask whether there are more: one row read past that
    # many, through the GIN index for a rare word and among the first rows for a common one.
    if narrowed or matching.order_by().values_list("pk", flat=True)[RANKED_AT_MOST : RANKED_AT_MOST + 1]:
        newest = matching.order_by(F("happened_at").desc(nulls_last=True), "-pk").values("pk")
        matching = SearchDocument.objects.filter(pk__in=newest[:RANKED_AT_MOST])
    rows = (
        matching.annotate(
            rank=SearchRank(F("vector"), query),
            title_marked=SearchHeadline(
                _without_angles("title"),
                query,
                config=SEARCH_CONFIG,
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                highlight_all=True,
            ),
            body_marked=SearchHeadline(
                _without_angles("body"),
                query,
                config=SEARCH_CONFIG,
                start_sel=MARK_START,
                stop_sel=MARK_STOP,
                # One passage around the best match: in fragment mode PostgreSQL ends a
                # passage at the first token that is not a word, so "ward <b>7</b>" lost its tail.
                max_words=SNIPPET_WORDS,
                min_words=SNIPPET_WORDS // 2,
            ),
        )
        .order_by("-rank", "pk")
        .values_list("pk", "title_marked", "body_marked")[offset : offset + limit]
    )
    return list(rows)


def _sqlite_rows(terms: list[str], scope: Q, offset: int, limit: int) -> list[tuple[int, str, str]]:
    # Each term is letters and digits only (search_terms), so quoting it cannot break the MATCH syntax.
    match = " AND ".join(f'"{t}"*' for t in terms)
    scoped_sql, scoped_params = SearchDocument.objects.filter(scope).values("pk").query.sql_with_params()
    # Only constants and the ORM's compiled subquery are formatted in; every value is a parameter.
    sql = (
        f"SELECT rowid, highlight({FTS_TABLE}, 0, %s, %s), snippet({FTS_TABLE}, 1, %s, %s, %s, %s) "  # noqa: S608
        f"FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s AND rowid IN ({scoped_sql}) "
        f"ORDER BY bm25({FTS_TABLE}, %s, %s), rowid LIMIT %s OFFSET %s"
    )
    params = [
        MARK_START,
        MARK_STOP,
        MARK_START,
        MARK_STOP,
        " … ",
        SNIPPET_WORDS,
        match,
        *scoped_params,
        *FTS_WEIGHTS,
        limit,
        offset,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(pk), title, body) for pk, title, body in cursor.fetchall()]


def search_document_list(
    *,
    user: Any,
    query: str,
    kind: str | None = None,
    page: int = 1,
    per_page: int = SEARCH_PAGE_SIZE,
    within_engagements: Sequence[int] | None = None,
) -> SearchPage | None:
    """One page of the documents the user may see that hold every word of ``query``, best first.

    Each kind's rows are limited by its model's ``visible_to(user)``; a client
    user searches only the client documents (the fields pmaas/sharing.py
    shares). ``kind`` narrows to one registered kind (an unknown one finds
    nothing). None when the query is shorter than two characters or holds no
    word. ``within_engagements``, the ids of the engagements the user sees
    when not all, narrows the matches by the documents' engagement before
    each kind's scope is checked (every kind with an engagement is seen only
    on engagements the user sees), so a common word costs what the user's own
    matches cost. On PostgreSQL a query with more than ``RANKED_AT_MOST``
    matches is ranked among the newest that many. At most three queries,
    whatever the number of matches.
    """
    terms = search_terms(query)
    if len(query.strip()) < SEARCH_MIN_LENGTH or not terms:
        return None
    if kind:
        chosen = kind_get(kind)
        kinds = [chosen] if chosen is not None else []
    else:
        kinds = kind_list()
    page = max(page, 1)
    offset = (page - 1) * per_page
    scope = _scope(user, kinds)
    if within_engagements is not None:
        scope &= Q(engagement_id__in=list(within_engagements)) | Q(engagement_id__isnull=True)
    if connection.vendor == "postgresql":
        rows = _postgresql_rows(terms, scope, offset, per_page + 1, narrowed=within_engagements is not None)
    else:
        rows = _sqlite_rows(terms, scope, offset, per_page + 1)
    documents = SearchDocument.objects.in_bulk([pk for pk, _, _ in rows[:per_page]])
    hits = []
    for pk, title, body in rows[:per_page]:
        document = documents[pk]
        document_kind = kind_get(document.kind)
        if document_kind is None:
            continue
        hits.append(
            SearchHit(
                kind=document_kind,
                object_id=document.object_id,
                engagement_id=document.engagement_id,
                title=marked(title),
                snippet=marked(_parts_apart(body)),
                happened_at=None if document_kind.happened_on is not None else document.happened_at,
                happened_on=document_kind.day(document.happened_at),
                url=document_kind.url(document.object_id, document.engagement_id),
            )
        )
    return SearchPage(hits=hits, page=page, has_next=len(rows) > per_page)
