from django.apps import AppConfig


class CommunicationsConfig(AppConfig):
    name = "communications"
    verbose_name = "Communications"

    def ready(self) -> None:
        # Registers this app's kinds of search documents (search/registry.py).
        from communications import search_documents  # noqa: F401
