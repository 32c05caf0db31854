"""The form of a user's own settings page."""

from __future__ import annotations

from django import forms

from pmaas.timezones import time_zone_choices


class PreferencesForm(forms.Form):
    """Checks the shape of the input; accounts.services decides what is allowed."""

    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False)
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        initial="UTC",
        help_text="Every time in the tracker is shown in this zone.",
    )
