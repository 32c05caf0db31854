"""A client's settings: its time zone, country and holiday region."""

from __future__ import annotations

from typing import Any

import holidays
from django import forms
from django.core.exceptions import ValidationError

from engagements.models import Client, country_validator
from engagements.working_days import holiday_region_choices
from pmaas.forms import TimeZoneField
from workspace.forms.stakeholders import SeenVersionField, seen_version

# Codes people type for a country that ISO 3166 spells otherwise.
_COMMON_MISTAKES = {"UK": "GB", "EN": "GB"}


class CountryCodeField(forms.CharField):
    """A two-letter country code the holiday calendars know, taken in either case."""

    def to_python(self, value: Any) -> str:
        return str(super().to_python(value)).strip().upper()

    def validate(self, value: Any) -> None:
        super().validate(value)
        # Checked first: the holidays package takes UK as an alias of GB, which our data must not hold.
        if value in _COMMON_MISTAKES:
            raise ValidationError(f"Use the ISO code {_COMMON_MISTAKES[value]}, not {value}.")
        if not value or value in holidays.list_supported_countries():
            return
        raise ValidationError(
            f"{value} is not a country code the public-holiday calendars know; "
            "use an ISO 3166 code such as DE."
        )


class ClientSettingsForm(forms.Form):
    time_zone = TimeZoneField(
        label="Time zone",
        help_text="Where the client works: deadlines counted in working days end in this zone.",
    )
    country = CountryCodeField(
        label="Country",
        max_length=2,
        required=False,
        validators=[country_validator],
        help_text="Two-letter ISO code such as GB or DE: its public holidays are not working days.",
    )
    holiday_subdivision = forms.ChoiceField(
        label="Holiday region",
        required=False,
        error_messages={"invalid_choice": "Not a region of this country: choose one from the list."},
        help_text=(
            "The region whose public holidays count as well (England's Easter Monday, a German "
            "Land's Epiphany). Changing the country offers that country's regions after saving; "
            "a new GB client starts with England."
        ),
    )
    updated_at = SeenVersionField()

    def __init__(self, *args: Any, country: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The regions of the country being submitted, else of the one saved: no script needed.
        submitted = str(self.data.get("country", country) if self.is_bound else country)
        regions = holiday_region_choices(submitted) or holiday_region_choices(country)
        self.fields["holiday_subdivision"].choices = [("", "National holidays only"), *regions]  # type: ignore[attr-defined]


def client_settings_initial(client: Client) -> dict[str, Any]:
    return {
        "time_zone": client.time_zone,
        "country": client.country,
        "holiday_subdivision": client.holiday_subdivision,
        "updated_at": seen_version(client.updated_at),
    }
