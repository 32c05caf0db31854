from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from communications import services


@shared_task(name="communications.flag_overdue_follow_ups", acks_late=True)
def flag_overdue_follow_ups() -> int:
    """Periodic: stamp follow-ups that went overdue since the last scan."""
    return services.follow_ups_flag_overdue(as_of=timezone.now())
