"""Shapes of the sponsor-update forms: the team's subscription form, the recipient's preferences."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django import forms

from communications.models import SponsorSubscription
from pmaas.forms import DatePicker, TimePicker, TimeZoneField
from pmaas.validation import validate_date_in_range
from sponsor_updates.schedule import pause_in_force
from sponsor_updates.services import SubscriptionSchedule
from stakeholders.models import Stakeholder


class ScheduleForm(forms.Form):
    """How often, on which local weekday and time, in which zone, and paused until when."""

    cadence = forms.ChoiceField(choices=SponsorSubscription.Cadence.choices, label="How often")
    weekday = forms.TypedChoiceField(
        coerce=int,
        choices=SponsorSubscription.Weekday.choices,
        label="Day",
        help_text="Monthly updates go on the first such day of the month.",
    )
    local_time = forms.TimeField(
        label="Local time",
        widget=TimePicker(),
        help_text="In the time zone below.",
    )
    time_zone = TimeZoneField(label="Time zone")
    paused_until = forms.DateField(
        required=False,
        label="Paused until",
        validators=[validate_date_in_range],
        widget=DatePicker(),
        help_text="No update goes out up to and including this day. Leave empty for none.",
    )

    def schedule(self) -> SubscriptionSchedule:
        data = self.cleaned_data
        return SubscriptionSchedule(
            cadence=data["cadence"],
            weekday=data["weekday"],
            local_time=data["local_time"],
            time_zone=data["time_zone"],
            paused_until=data.get("paused_until"),
            needs_approval=data.get("needs_approval"),
        )

    @staticmethod
    def initial_for(subscription: SponsorSubscription, *, as_of: datetime) -> dict[str, Any]:
        """The stored schedule; a pause that ended before today shows empty, as it no longer holds."""
        return {
            "cadence": subscription.cadence,
            "weekday": subscription.weekday,
            "local_time": subscription.local_time,
            "time_zone": subscription.time_zone,
            "paused_until": pause_in_force(subscription, as_of=as_of),
            "is_active": subscription.is_active,
            "needs_approval": APPROVAL_NEEDED if subscription.needs_approval else APPROVAL_NOT_NEEDED,
        }


APPROVAL_NEEDED = "needed"
APPROVAL_NOT_NEEDED = "not_needed"


def _approval_field() -> forms.TypedChoiceField:
    """The team's choice per subscription; the recipient's preferences never show it.

    A post without it (an older form, a script) gives None: not needed for a
    new subscription, unchanged for an existing one.
    """
    return forms.TypedChoiceField(
        label="Approval",
        choices=[
            (
                APPROVAL_NOT_NEEDED,
                "Send without approval: each update goes at its time, with the lead's summary "
                "if they wrote one, else the drafted one",
            ),
            (
                APPROVAL_NEEDED,
                "Needs approval: the engagement lead approves each update; one not approved by "
                "its time waits, and the lead is told at once",
            ),
        ],
        coerce=lambda value: value == APPROVAL_NEEDED,
        empty_value=None,
        required=False,
        widget=forms.RadioSelect,
        initial=APPROVAL_NOT_NEEDED,
    )


class SubscriptionEditForm(ScheduleForm):
    is_active = forms.BooleanField(required=False, label="Send these updates")


class TeamSubscriptionEditForm(SubscriptionEditForm):
    """The team's edit; with ``approval`` (those who approve updates) it also sets whether they need it."""

    def __init__(self, *args: Any, approval: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if approval:
            self.fields["needs_approval"] = _approval_field()


class SubscriptionAddForm(ScheduleForm):
    stakeholder = forms.TypedChoiceField(
        coerce=int,
        label="Stakeholder",
        error_messages={"required": "Choose a stakeholder of this engagement."},
    )

    field_order = ["stakeholder"]

    def __init__(
        self, *args: Any, stakeholders: Sequence[Stakeholder], approval: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if approval:
            self.fields["needs_approval"] = _approval_field()
        self._stakeholders = {stakeholder.pk: stakeholder for stakeholder in stakeholders}
        self.fields["stakeholder"].choices = [  # type: ignore[attr-defined]
            ("", "Choose a stakeholder"),
            *((stakeholder.pk, str(stakeholder)) for stakeholder in stakeholders),
        ]

    def clean_stakeholder(self) -> Stakeholder:
        return self._stakeholders[self.cleaned_data["stakeholder"]]


class SendNowForm(forms.Form):
    # Names this request, so a double submit sends once.
    request_key = forms.CharField(max_length=64, widget=forms.HiddenInput)


class SummaryForm(forms.Form):
    """The lead's summary of one update; the rules (not empty, not too long) are the service's."""

    summary = forms.CharField(
        label="Summary",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="A few sentences at the top of the update. Only write what the client may see.",
    )


class NewLinkForm(forms.Form):
    email = forms.EmailField(label="Your email address", required=False)
    # An expired link's own token, when there was one: the new link goes to what it named.
    token = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(
        required=False,
        label="A comment for the team (optional)",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    wants_call = forms.BooleanField(required=False, label="I would like a call")
