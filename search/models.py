from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models


class Audience(models.TextChoices):
    # Each row is indexed twice: what the firm may read, and what a client user may read of it.
    FIRM = "firm", "Firm"
    CLIENT = "client", "Client"


class SearchDocument(models.Model):
    """The searchable text of one row of another app, as one audience may read it.

    Written only by ``search.services.search_documents_refresh``, which the
    services that write the indexed rows call. The ids name rows of other
    apps without foreign keys: this app sits below them. A document whose row
    is gone is never shown, because every search joins each kind's
    ``visible_to`` scope.

    ``vector`` is the stored full-text document on PostgreSQL (GIN-indexed by
    migration 0002); on SQLite it stays empty and the FTS5 table that
    migration creates indexes ``title`` and ``body`` instead.
    """

    kind = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    audience = models.CharField(max_length=10, choices=Audience.choices)
    engagement_id = models.BigIntegerField(null=True, blank=True)
    title = models.TextField()
    body = models.TextField(blank=True)
    happened_at = models.DateTimeField(null=True, blank=True)
    vector = SearchVectorField(null=True, blank=True)

    class Meta:
        constraints = [
            # One document per row and audience: a refresh replaces it, never adds a second.
            models.UniqueConstraint(fields=["kind", "object_id", "audience"], name="search_document_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} ({self.audience})"
