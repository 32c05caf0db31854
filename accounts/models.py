from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q

from pmaas.timezones import validate_time_zone


class User(AbstractUser):
    """A person who logs in: someone of the PMaaS firm, or a client's PMO lead."""

    class Role(models.TextChoices):
        ADMINISTRATOR = "administrator", "Administrator"
        PRACTICE_LEAD = "practice_lead", "Practice lead"
        CONSULTANT = "consultant", "Consultant"
        CLIENT = "client", "Client PMO lead"

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.CONSULTANT)
    # Only client users are bound to a client; they see that client's engagements.
    client = models.ForeignKey(
        "engagements.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    class Meta:
        ordering = ["last_name", "first_name", "username"]
        constraints = [
            # A client user without a client would see nothing, and a firm user
            # with one would be ambiguous: the database keeps the pair consistent.
            models.CheckConstraint(
                condition=(Q(role="client") & Q(client__isnull=False))
                | (~Q(role="client") & Q(client__isnull=True)),
                name="user_client_iff_client_role",
            ),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_administrator(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMINISTRATOR

    @property
    def sees_all_engagements(self) -> bool:
        return self.is_active and (self.is_administrator or self.role == self.Role.PRACTICE_LEAD)

    @property
    def is_firm_member(self) -> bool:
        return self.role != self.Role.CLIENT
