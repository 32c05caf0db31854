"""What a trend or heat map is about: nothing (the portfolio), a client, a consultant or an engagement."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from communications.trends import HEAT_MAP_WEEK_CHOICES, HEAT_MAP_WEEKS
from pmaas.scoping import LARGEST_ID

SUBJECTS = ("client", "consultant", "engagement")


class _IdField(forms.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=LARGEST_ID, required=False, **kwargs)


class TrendSubjectForm(forms.Form):
    """One subject at most, by id; whether the user may see it is the selector's to say (404 if not).

    The selects list only what is in scope, but an id is checked only for its
    shape here, so one outside scope answers 404 like every other lookup.
    """

    client = _IdField(label="Client", widget=forms.Select)
    consultant = _IdField(label="Consultant", widget=forms.Select)
    engagement = _IdField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, choices: dict[str, list[tuple[int, str]]] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name, options in (choices or {}).items():
            everyone = "All clients" if name == "client" else "All consultants"
            self.fields[name].widget.choices = [("", everyone), *options]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = [name for name in SUBJECTS if cleaned.get(name) is not None]
        if len(chosen) > 1:
            raise ValidationError(
                "Choose one of a client, a consultant or an engagement.", code="one_subject"
            )
        return cleaned

    def subject_ids(self) -> dict[str, int | None]:
        """The ids to narrow to, keyed as trend_subject takes them; none when two were given.

        A field that did not validate (a bad number of weeks) leaves the others' choice standing.
        """
        self.is_valid()
        if self.has_error(NON_FIELD_ERRORS):
            return dict.fromkeys((f"{name}_id" for name in SUBJECTS), None)
        return {f"{name}_id": self.cleaned_data.get(name) for name in SUBJECTS}


class HeatMapForm(TrendSubjectForm):
    weeks = forms.TypedChoiceField(
        label="Weeks",
        choices=[(weeks, f"{weeks} weeks") for weeks in HEAT_MAP_WEEK_CHOICES],
        coerce=int,
        required=False,
        empty_value=None,
    )

    def week_count(self) -> int:
        self.is_valid()
        return int(self.cleaned_data.get("weeks") or HEAT_MAP_WEEKS)
