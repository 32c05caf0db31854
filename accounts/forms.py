"""The forms of a user's own settings pages: preferences and password."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import password_validation

from pmaas.forms import TimeZoneField


class PreferencesForm(forms.Form):
    """Checks the shape of the input; accounts.services decides what is allowed."""

    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False)
    time_zone = TimeZoneField(
        label="Time zone",
        initial="UTC",
        help_text="Every time in the tracker is shown in this zone.",
    )


class PasswordChangeForm(forms.Form):
    """One's own new password, typed twice; accounts.services checks the old one and the rules."""

    old_password = forms.CharField(
        label="Current password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    new_password_again = forms.CharField(
        label="New password, again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, again = cleaned.get("new_password"), cleaned.get("new_password_again")
        if first and again and first != again:
            self.add_error("new_password_again", "The two new passwords differ; type the same one twice.")
        return cleaned
