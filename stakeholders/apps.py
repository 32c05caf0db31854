from django.apps import AppConfig


class StakeholdersConfig(AppConfig):
    name = "stakeholders"
    verbose_name = "Stakeholders"

    def ready(self) -> None:
        # Registers this app's kinds of search documents (search/registry.py).
        from stakeholders import search_documents  # noqa: F401
