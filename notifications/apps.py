from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and outbox"

    def ready(self) -> None:
        # The outbox enqueues its send task by registered name in every process
        # (web, worker, beat, tests), so the task module must be loaded in each.
        from notifications import tasks  # noqa: F401
