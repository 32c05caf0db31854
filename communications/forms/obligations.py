"""Shapes of the obligation actions' input; the rules live in communications.obligations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from pmaas.forms import IdMultipleChoiceField, LongTextField
from stakeholders.models import Stakeholder


def who_must_be_told_field() -> IdMultipleChoiceField:
    """Whom a new change request tells, asked alike by every form that records one; each sets the queryset."""
    return IdMultipleChoiceField(
        queryset=Stakeholder.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Who must be told",
        help_text=(
            "Ticked by default: sponsors, the PMO lead and everyone of high influence. "
            "Each gets a deadline from their communication plan."
        ),
    )


class ObligationWaiveForm(forms.Form):
    reason = LongTextField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why this person need not be told",
        error_messages={"required": "Say why this person need not be told."},
    )


class ObligationAddForm(forms.Form):
    stakeholder = forms.TypedChoiceField(
        coerce=int,
        label="Also tell",
        error_messages={"required": "Choose a stakeholder of this engagement."},
    )

    def __init__(self, *args: Any, stakeholders: Sequence[Stakeholder], **kwargs: Any) -> None:
        """``stakeholders`` is an evaluated list, so a page with many of these forms queries once."""
        super().__init__(*args, **kwargs)
        self._stakeholders = {stakeholder.pk: stakeholder for stakeholder in stakeholders}
        self.fields["stakeholder"].choices = [  # type: ignore[attr-defined]
            ("", "Choose a stakeholder"),
            *((stakeholder.pk, str(stakeholder)) for stakeholder in stakeholders),
        ]

    def clean_stakeholder(self) -> Stakeholder:
        return self._stakeholders[self.cleaned_data["stakeholder"]]
