"""Two indexes for PostgreSQL's searches at firm scale (search.selectors).

By engagement: a search by someone who sees some engagements narrows the
matches of a common word to theirs with a bitmap of these beside the GIN
index's. Newest first: a word in more documents than are ranked is ranked
among its newest, read in this order until enough match. SQLite searches its
FTS5 table and needs neither.
"""

from typing import Any

from django.db import migrations

POSTGRESQL_CREATE = [
    "CREATE INDEX search_document_engagement ON search_searchdocument (engagement_id)",
    "CREATE INDEX search_document_newest ON search_searchdocument "
    "(audience, happened_at DESC NULLS LAST, id DESC)",
]
POSTGRESQL_DROP = [
    "DROP INDEX IF EXISTS search_document_newest",
    "DROP INDEX IF EXISTS search_document_engagement",
]


def _run(statements: list[str]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("search", "0002_full_text_index")]

    operations = [migrations.RunPython(_run(POSTGRESQL_CREATE), _run(POSTGRESQL_DROP))]
