from django.apps import AppConfig


class SponsorUpdatesConfig(AppConfig):
    name = "sponsor_updates"
    verbose_name = "Sponsor updates"
