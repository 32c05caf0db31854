"""The sponsor-update sweep, sent by beat; mail leaves through the outbox's own send task."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from sponsor_updates import services


@shared_task(name="sponsor_updates.send_sponsor_updates", acks_late=True)
def send_sponsor_updates() -> int:
    """Periodic: write and hand to the outbox each sponsor update whose local send time has passed."""
    return services.updates_sweep(as_of=timezone.now())
