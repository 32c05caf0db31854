from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo portfolio: a few months of history replayed through every app's services."""

    name = "demo"
    verbose_name = "Demo"
