from django.apps import AppConfig


class EngagementsConfig(AppConfig):
    name = "engagements"
    verbose_name = "Engagements"

    def ready(self) -> None:
        # Registers this app's kinds of search documents (search/registry.py).
        from engagements import search_documents  # noqa: F401
