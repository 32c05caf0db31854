"""A fresh demo, loaded at any hour, leaves nothing overdue, and the beat's first sweep mails what is due."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import mail

from communications.models import Delivery, SponsorSubscription
from demo.portfolio import demo_load
from sponsor_updates.services import updates_sweep

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.mark.parametrize(
    "loaded",
    [
        pytest.param(dt.datetime(2026, 3, 9, 0, 4, tzinfo=UTC), id="just-after-midnight"),
        pytest.param(dt.datetime(2026, 3, 14, 23, 55, tzinfo=UTC), id="late-on-a-saturday"),
    ],
)
def test_a_fresh_demo_leaves_nothing_overdue_and_its_first_sweep_mails_an_update(
    loaded: dt.datetime, eager_tasks: None, django_capture_on_commit_callbacks: Any
) -> None:
    # Given the demo, loaded at any time of day
    demo_load(now=loaded)
    midnight = loaded.replace(hour=0, minute=0)

    # Then no active subscription is left behind: each is due today at the earliest
    for subscription in SponsorSubscription.objects.active():
        assert subscription.next_send_at is not None
        assert subscription.next_send_at >= midnight, subscription
    # and at least one is due already, minutes before the load
    due = list(SponsorSubscription.objects.due(as_of=loaded).values_list("stakeholder__email", flat=True))
    assert due

    # When the beat's sponsor-update sweep runs a minute later, and the worker sends what it wrote
    with django_capture_on_commit_callbacks(execute=True):
        written = updates_sweep(as_of=loaded + dt.timedelta(minutes=1))

    # Then those updates are mailed, each covering the days up to today
    assert written >= 1
    assert len(mail.outbox) == written
    recipients = {address for message in mail.outbox for address in message.to}
    for email in due:
        assert any(email in address for address in recipients), email
    for delivery in Delivery.objects.filter(scheduled_for__gte=midnight):
        assert delivery.period_end is not None and delivery.period_end >= midnight.date() - dt.timedelta(
            days=1
        )
