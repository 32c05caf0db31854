import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.portfolio import demo_load
from pmaas.celery import app as celery_app
from search.models import SearchDocument
from search.services import search_index_rebuild


class Command(BaseCommand):
    help = (
        "Load a demo portfolio (4 clients, 12 engagements, 4 months of history) and print its logins. "
        "Safe to run again: an existing demo is left alone; only the demo logins are restored. "
        "A database with other engagements is not touched."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="Do not print the table of logins.")

    def handle(self, *args: Any, quiet: bool = False, **options: Any) -> None:
        # The demo sends its history's updates while it loads (demo.portfolio); the send tasks
        # its commit enqueues would only find them sent, so they run here, quietly, rather than
        # as a hundred no-op tasks logged by the worker as it starts.
        eager = celery_app.conf.task_always_eager
        trace = logging.getLogger("celery.app.trace")
        level = trace.level
        celery_app.conf.task_always_eager = True
        trace.setLevel(logging.WARNING)
        try:
            result = demo_load()
        finally:
            celery_app.conf.task_always_eager = eager
            trace.setLevel(level)
        if result.outcome == "refused":
            self.stderr.write(
                self.style.WARNING(
                    "This database holds engagements but not the demo's: left it alone, no demo logins."
                )
            )
            return
        if result.outcome == "created":
            self.stdout.write(self.style.SUCCESS("Loaded the demo portfolio."))
        else:
            self.stdout.write(
                "The demo portfolio is already loaded; left it as it is and checked the logins."
            )
            if not SearchDocument.objects.exists():
                # A demo loaded before search had its index: written once from the rows.
                self.stdout.write(f"Search index written: {search_index_rebuild()} documents.")
        if quiet:
            return
        rows = [
            ("username", "password", "role", "sees"),
            *((login.username, login.password, login.role, login.sees) for login in result.logins),
        ]
        name, password, role = (max(len(row[column]) for row in rows) for column in range(3))
        for row in rows:
            self.stdout.write(f"{row[0]:<{name}}  {row[1]:<{password}}  {row[2]:<{role}}  {row[3]}")
