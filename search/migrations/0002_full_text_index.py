"""The full-text index of each database: a GIN index on PostgreSQL, an FTS5 table on SQLite.

Written by hand because each exists on one database only. On SQLite the FTS5
table reads its text from search_searchdocument (external content) and three
triggers keep it in step with every insert, update and delete of a document,
so writes through the ORM, flushes between tests and deletions all reach it.
Django alters a SQLite table by copying it to a new one, which drops these
triggers: a later migration that alters search_searchdocument recreates them.
"""

from typing import Any

from django.db import migrations

SQLITE_CREATE = [
    "CREATE VIRTUAL TABLE search_document_fts USING fts5("
    "title, body, content='search_searchdocument', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_document_fts_insert AFTER INSERT ON search_searchdocument BEGIN "
    "INSERT INTO search_document_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
    "CREATE TRIGGER search_document_fts_delete AFTER DELETE ON search_searchdocument BEGIN "
    "INSERT INTO search_document_fts(search_document_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER search_document_fts_update AFTER UPDATE ON search_searchdocument BEGIN "
    "INSERT INTO search_document_fts(search_document_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO search_document_fts(rowid, title, body) VALUES (new.id, new.title, new.body); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_document_fts_update",
    "DROP TRIGGER IF EXISTS search_document_fts_delete",
    "DROP TRIGGER IF EXISTS search_document_fts_insert",
    "DROP TABLE IF EXISTS search_document_fts",
]
# The GIN index answers "vector @@ query" without reading every document.
POSTGRESQL_CREATE = ["CREATE INDEX search_document_vector ON search_searchdocument USING gin (vector)"]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS search_document_vector"]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        for statement in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRESQL_CREATE}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}),
        ),
    ]
