from typing import Any

from django.core.management.base import BaseCommand

from search.services import search_index_rebuild


class Command(BaseCommand):
    help = "Rewrite the search index from the rows it indexes (after bulk loads or a restore)."

    def handle(self, *args: Any, **options: Any) -> None:
        written = search_index_rebuild()
        self.stdout.write(f"Search index rebuilt: {written} documents.")
