"""API throttling: past a user's rate the API answers 429 and says when to come back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from django.urls import reverse

from pmaas.throttling import UserThrottle
from tests.factories import World


@pytest.fixture
def low_rates() -> Iterator[None]:
    # REST framework reads the rates once, at import; the test lowers them where they are kept.
    rates = UserThrottle.THROTTLE_RATES
    saved = dict(rates)
    rates.update({"user": "3/minute", "user_writes": "1/minute"})
    yield
    rates.clear()
    rates.update(saved)


def test_a_user_past_the_rate_is_told_to_wait(client: Client, world: World, low_rates: None) -> None:
    client.force_login(world.consultant)
    url = reverse("v1:engagement-list")

    # Given the consultant used up their rate
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]

    # When they ask once more
    response = client.get(url)

    # Then the API refuses with 429 and says how many seconds to wait
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60

    # And another user is not held back by it
    other = Client()
    other.force_login(world.lead)
    assert other.get(url).status_code == 200


def test_writes_have_a_rate_of_their_own(client: Client, world: World, low_rates: None) -> None:
    client.force_login(world.consultant)
    url = reverse("v1:notification-preference-me")

    # Given the consultant made the one write their rate allows
    assert client.patch(url, {"email_on_weekends": True}, content_type="application/json").status_code == 200

    # Then a second write waits, while reads still answer
    refused = client.patch(url, {"email_on_weekends": False}, content_type="application/json")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert client.get(url).status_code == 200
