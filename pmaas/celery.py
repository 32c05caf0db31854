import os
import signal
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pmaas.settings")

app = Celery("pmaas")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _leave_sigterm_to_the_main_process(**kwargs: Any) -> None:
    # Supervisors (honcho, systemd) signal the whole process group. A pool child
    # that obeyed SIGTERM would die mid-task; the main process instead lets it
    # finish the task and then stops it (warm shutdown).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
