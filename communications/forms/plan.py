"""Forms of the communication plan (a channel and its cadence) and of the timeline filter."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from communications import recurrence
from communications.models import (
    DEFAULT_DURATION,
    DEFAULT_GRACE_PERIOD,
    LONGEST_DURATION,
    SHORTEST_DURATION,
    Channel,
    ChannelKind,
)
from communications.services import LONGEST_GRACE_PERIOD
from pmaas.concurrency import SEEN_MISSING_MESSAGE
from pmaas.forms import DatePicker, IdChoiceField, LongTextField, TimePicker, form_add_service_errors
from pmaas.validation import validate_date_in_range

WEEKDAYS = [
    ("MO", "Monday"),
    ("TU", "Tuesday"),
    ("WE", "Wednesday"),
    ("TH", "Thursday"),
    ("FR", "Friday"),
    ("SA", "Saturday"),
    ("SU", "Sunday"),
]
ADVANCED = "advanced"
# The cadences people pick most; each maps to the RRULE it stands for.
CADENCE_TEMPLATES = {
    "weekly": "FREQ=WEEKLY;BYDAY={day}",
    "fortnightly": "FREQ=WEEKLY;INTERVAL=2;BYDAY={day}",
    "monthly_first": "FREQ=MONTHLY;BYDAY=1{day}",
    "last_working_day": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
}
CADENCE_CHOICES = [
    ("weekly", "Every week on the weekday below"),
    ("fortnightly", "Every other week on the weekday below"),
    ("monthly_first", "Monthly on the first of the weekday below"),
    ("last_working_day", "Last working day of the month"),
    (ADVANCED, "Advanced: my own recurrence rule"),
]
_NEEDS_WEEKDAY = {"weekly", "fortnightly", "monthly_first"}
_PRESET_PATTERNS = {
    "weekly": re.compile(r"^FREQ=WEEKLY;BYDAY=(MO|TU|WE|TH|FR|SA|SU)$"),
    "fortnightly": re.compile(r"^FREQ=WEEKLY;INTERVAL=2;BYDAY=(MO|TU|WE|TH|FR|SA|SU)$"),
    "monthly_first": re.compile(r"^FREQ=MONTHLY;BYDAY=1(MO|TU|WE|TH|FR|SA|SU)$"),
    "last_working_day": re.compile(r"^FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1$"),
}
# Where a service's error about a model field belongs on this form.
SERVICE_FIELD_NAMES = {"grace_period": "grace_hours", "duration": "duration_minutes", "recurrence": "cadence"}
HOUR = timedelta(hours=1)


def cadence_initial(rule: str) -> dict[str, str]:
    """The form's cadence fields for a stored rule: a preset when it is one, else the advanced text."""
    normalised = rule.strip().upper().removeprefix("RRULE:")
    for cadence, pattern in _PRESET_PATTERNS.items():
        match = pattern.match(normalised)
        if match:
            return {"cadence": cadence, "weekday": match.group(1) if match.groups() else "MO", "rrule": ""}
    return {"cadence": ADVANCED, "weekday": "MO", "rrule": rule}


class ChannelForm(forms.Form):
    """A channel of the plan; the stakeholder and owner lists come scoped from the selectors."""

    stakeholder: forms.ModelChoiceField[Any] = IdChoiceField(
        queryset=None, help_text="Someone with a role on this engagement."
    )
    kind = forms.ChoiceField(
        label="How you meet",
        choices=ChannelKind.choices,
        initial=ChannelKind.MEETING,
        help_text="In person, a call, a workshop, by email: how these check-ins usually happen.",
    )
    title = forms.CharField(max_length=200, help_text="e.g. Weekly sponsor one-to-one.")
    details = LongTextField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Where, how to dial in, agenda.",
    )
    cadence = forms.ChoiceField(choices=CADENCE_CHOICES, initial="weekly")
    weekday = forms.ChoiceField(choices=WEEKDAYS, initial="TU", required=False)
    rrule = forms.CharField(
        label="Advanced recurrence rule",
        required=False,
        max_length=500,
        help_text="Only for “Advanced”: an RFC 5545 RRULE such as FREQ=MONTHLY;BYMONTHDAY=15.",
    )
    starts_on = forms.DateField(
        label="Starts on",
        validators=[validate_date_in_range],
        widget=DatePicker(),
    )
    local_time = forms.TimeField(
        label="Local time",
        widget=TimePicker(),
        help_text="In the stakeholder's time zone.",
    )
    duration_minutes = forms.IntegerField(
        label="Duration (minutes)",
        min_value=SHORTEST_DURATION // timedelta(minutes=1),
        max_value=LONGEST_DURATION // timedelta(minutes=1),
        initial=DEFAULT_DURATION // timedelta(minutes=1),
        help_text="How long each check-in takes; calendar feeds show it as busy for this long.",
    )
    owner: forms.ModelChoiceField[Any] = IdChoiceField(
        queryset=None, help_text="Someone on the engagement's team."
    )
    # In hours: a daily cadence needs a grace shorter than a day (channel_create refuses one as long).
    grace_hours = forms.IntegerField(
        label="Grace period (hours)",
        min_value=0,
        max_value=LONGEST_GRACE_PERIOD // HOUR,
        initial=DEFAULT_GRACE_PERIOD // HOUR,
        help_text="How long after the due time a check-in still counts as on time: 48 is two days.",
    )
    # The version the editor opened: required when editing, so an edit cannot skip the stale-save check.
    seen_updated_at = forms.CharField(
        required=False, widget=forms.HiddenInput, error_messages={"required": SEEN_MISSING_MESSAGE}
    )

    def __init__(
        self,
        *args: Any,
        stakeholders: QuerySet[Any],
        owners: QuerySet[Any],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["seen_updated_at"].required = editing
        cast(forms.ModelChoiceField, self.fields["stakeholder"]).queryset = stakeholders
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = owners

    @classmethod
    def initial_for(cls, channel: Channel) -> dict[str, Any]:
        return {
            "stakeholder": channel.stakeholder_id,
            "kind": channel.kind,
            "title": channel.title,
            "details": channel.details,
            "starts_on": channel.starts_on,
            "local_time": channel.local_time,
            "duration_minutes": channel.duration // timedelta(minutes=1),
            "owner": channel.owner_id,
            "grace_hours": channel.grace_period // HOUR,
            "seen_updated_at": channel.updated_at.isoformat(),
            **cadence_initial(channel.recurrence),
        }

    def clean_seen_updated_at(self) -> datetime | None:
        value = self.cleaned_data.get("seen_updated_at") or ""
        if not value:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Damaged form; open the channel again.", code="bad_version") from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cadence = cleaned.get("cadence")
        if cadence == ADVANCED:
            rule = (cleaned.get("rrule") or "").strip()
            if not rule:
                self.add_error("rrule", "Write the rule, or pick one of the common cadences.")
                return cleaned
            try:
                recurrence.parse_rule(
                    rule, starts_on=cleaned.get("starts_on"), local_time=cleaned.get("local_time")
                )
            except ValidationError as exc:
                self.add_error("rrule", exc.messages)
                return cleaned
            cleaned["recurrence_rule"] = rule
        elif cadence in CADENCE_TEMPLATES:
            day = cleaned.get("weekday") or ""
            if cadence in _NEEDS_WEEKDAY and not day:
                self.add_error("weekday", "Pick the weekday for this cadence.")
                return cleaned
            cleaned["recurrence_rule"] = CADENCE_TEMPLATES[cadence].format(day=day)
        return cleaned

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "stakeholder": data["stakeholder"],
            "kind": data["kind"],
            "title": data["title"],
            "details": data["details"],
            "recurrence_rule": data["recurrence_rule"],
            "starts_on": data["starts_on"],
            "local_time": data["local_time"],
            "duration": timedelta(minutes=data["duration_minutes"]),
            "owner": data["owner"],
            "grace_period": timedelta(hours=data["grace_hours"]),
        }

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's refusal next to the fields it names, the rest above the form.

        A refused rule belongs under the cadence chooser, or under the rule typed in by hand.
        """
        names = dict(SERVICE_FIELD_NAMES)
        if self.cleaned_data.get("cadence") == ADVANCED:
            names["recurrence"] = "rrule"
        form_add_service_errors(self, error, field_names=names)


class TimelineFilterForm(forms.Form):
    """Which check-ins of the timeline to show; every field is optional."""

    stakeholder: forms.ModelChoiceField[Any] = IdChoiceField(
        queryset=None, required=False, empty_label="Everyone"
    )
    kind = forms.ChoiceField(
        label="How you talked", choices=[("", "Any way"), *ChannelKind.choices], required=False
    )

    def __init__(self, *args: Any, stakeholders: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["stakeholder"]).queryset = stakeholders
