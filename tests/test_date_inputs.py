"""Browsers accept only ISO dates (YYYY-MM-DD) in <input type="date">: edit forms must render them so."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.factories import World

ISO_DATE_VALUE = re.compile(
    r'type="date"[^>]*value="\d{4}-\d{2}-\d{2}"|value="\d{4}-\d{2}-\d{2}"[^>]*type="date"'
)


@pytest.mark.parametrize(
    ("route", "attr"),
    [
        ("channel_edit", "channel"),
        ("milestone_edit", "milestone"),
        ("change_request_edit", "change_request"),
        ("follow_up_redate", "follow_up"),
    ],
)
def test_edit_forms_fill_date_inputs_in_iso_format(client, world: World, route: str, attr: str) -> None:
    # Given the lead of the engagement editing an existing row with a date
    client.force_login(world.lead)

    # When the edit form opens
    response = client.get(reverse(route, kwargs={"pk": getattr(world.mine, attr).pk}))

    # Then its date input carries the stored date in the only format a browser accepts
    assert response.status_code == 200
    assert ISO_DATE_VALUE.search(response.content.decode()), "date input not pre-filled as YYYY-MM-DD"
