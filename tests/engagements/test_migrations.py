"""Migrations that move data: what was recorded before reads right after."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from engagements import services
from engagements.models import ChangeRequest
from search.models import SearchDocument
from tests import factories


@pytest.mark.django_db
def test_change_requests_found_by_search_are_dated_by_the_day_raised_after_the_upgrade() -> None:
    # Given a change request raised on 2 March whose search documents carry, as before, the
    # moment its row was written
    migration = import_module("engagements.migrations.0007_change_request_search_documents_raised_on")
    lead = factories.consultant()
    services.change_request_create(
        actor=lead,
        engagement=factories.make_engagement(lead=lead),
        title="Add the pharmacy module",
        kind=ChangeRequest.Kind.SCOPE,
        raised_on=dt.date(2026, 3, 2),
    )
    documents = SearchDocument.objects.filter(kind="change_request")
    documents.update(happened_at=timezone.now())

    # When the data migration runs
    migration.redate(apps, None)

    # Then each of its documents is dated by that day, as the index writes it now
    assert {d.happened_at for d in documents} == {dt.datetime(2026, 3, 2, tzinfo=UTC)}
