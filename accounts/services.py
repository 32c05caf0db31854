"""Writes to a user's own account: name, email, time zone."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from pmaas.validation import clean_instance


@transaction.atomic
def user_update_preferences(
    *, user: User, first_name: str, last_name: str, email: str, time_zone: str
) -> User:
    """Change a user's own name, email address and time zone.

    Rule: the time zone must be an IANA name (the model's validator), the email
    address valid and not already another account's (case-insensitive), because
    password reset looks accounts up by email. Every role may change its own
    preferences, a client PMO lead included. No side effects beyond the row.
    Idempotent: saving the same values twice leaves the row as it was.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    locked.first_name = first_name.strip()
    locked.last_name = last_name.strip()
    locked.email = email.strip()
    locked.time_zone = time_zone.strip()
    errors: dict[str, ValidationError] = {}
    if locked.email and User.objects.filter(email__iexact=locked.email).exclude(pk=locked.pk).exists():
        errors["email"] = ValidationError("Another account already uses this email address.", code="taken")
    clean_instance(locked, errors)
    locked.save(update_fields=["first_name", "last_name", "email", "time_zone"])
    # The caller's instance (request.user) shows the new values for the rest of the request.
    for name in ("first_name", "last_name", "email", "time_zone"):
        setattr(user, name, getattr(locked, name))
    return locked
