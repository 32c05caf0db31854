"""Conditions the QuerySets annotate as columns."""

from __future__ import annotations

from django.db.models import BooleanField, Case, Q, Value, When


def condition_flag(condition: Q) -> Case:
    """A boolean column that says whether the row meets ``condition``."""
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())
