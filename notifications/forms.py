"""The forms of the notification pages: the list's filter and actions, and the preferences."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from notifications.models import (
    DIGESTIBLE_EVENTS,
    IN_APP_ONLY_EVENTS,
    NotificationEvent,
    NotificationPreference,
)
from notifications.services import PREFERENCE_FIELDS
from pmaas.forms import TimePicker
from pmaas.sharing import NOTHING, client_share, is_client_user


class NotificationFilterForm(forms.Form):
    show = forms.ChoiceField(
        label="Show",
        choices=[("all", "All"), ("unread", "Unread only")],
        required=False,
    )

    def unread_only(self) -> bool:
        return self.is_valid() and self.cleaned_data["show"] == "unread"


class NotificationActionForm(forms.Form):
    """What a button on the list asks for: one notification read (and opened), or all of them."""

    notification = forms.IntegerField(required=False, min_value=1)
    open = forms.BooleanField(required=False)
    all = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("all") and cleaned.get("notification") is None:
            raise forms.ValidationError("Say which notification to mark read, or all of them.")
        return cleaned


@dataclass(frozen=True)
class EventRow:
    label: str
    in_app: forms.BoundField
    email: forms.BoundField | None
    # For the events the digest reports; a reminder is always mailed on its own.
    at_once: forms.BoundField | None


# The model each event reports on, where the client-visibility policy (pmaas/sharing.py) may keep it internal.
EVENT_ABOUT = {
    NotificationEvent.CHECK_IN_REMINDER: "communications.Occurrence",
    NotificationEvent.CHECK_IN_MISSED: "communications.Occurrence",
    NotificationEvent.FOLLOW_UP_OVERDUE: "communications.FollowUp",
    NotificationEvent.FOLLOW_UP_ESCALATED: "communications.FollowUp",
    NotificationEvent.SPONSOR_SILENT: "communications.SilenceFlag",
    NotificationEvent.UPDATE_ACKNOWLEDGED: "communications.SponsorSubscription",
    NotificationEvent.UPDATE_FAILED: "communications.SponsorSubscription",
    NotificationEvent.UPDATE_APPROVAL_NEEDED: "communications.SponsorSubscription",
    NotificationEvent.RAID_REVIEW_DUE: "communications.RaidItem",
}


class NotificationPreferenceForm(forms.Form):
    """Which events arrive how, the reminder lead, the digest time, quiet hours and weekends.

    Checks the shape of the input only; the rules (both ends of the quiet hours
    or neither) are the service's.
    """

    reminder_lead = forms.ChoiceField(
        label="Remind me of a planned check-in",
        choices=NotificationPreference.ReminderLead.choices,
    )
    digest_time = forms.TimeField(
        label="Daily digest at",
        widget=TimePicker(),
        help_text="The digest of the day's notifications arrives then.",
    )
    quiet_hours_start = forms.TimeField(label="Quiet hours from", required=False, widget=TimePicker())
    quiet_hours_end = forms.TimeField(
        label="Quiet hours until",
        required=False,
        widget=TimePicker(),
        help_text="No email in between; a reminder comes before they begin. Leave both empty for none.",
    )
    email_on_weekends = forms.BooleanField(
        label="Email me on weekends too",
        required=False,
        help_text="Otherwise email that falls on a Saturday or Sunday waits until Monday.",
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        for event in NotificationEvent:
            self.fields[f"{event.value}_in_app"] = forms.BooleanField(
                label=f"{event.label}: in the app", required=False
            )
            if event not in IN_APP_ONLY_EVENTS:
                self.fields[f"{event.value}_email"] = forms.BooleanField(
                    label=f"{event.label}: by email", required=False
                )
            if event in DIGESTIBLE_EVENTS:
                self.fields[f"{event.value}_at_once"] = forms.BooleanField(
                    label=f"{event.label}: email at once, not in the daily digest", required=False
                )

    @staticmethod
    def initial_from(preference: NotificationPreference) -> dict[str, Any]:
        return {name: getattr(preference, name) for name in PREFERENCE_FIELDS}

    def event_rows(self) -> list[EventRow]:
        """A switch per event the user can be told about: not the plan's or silence's, for a client user."""
        return [
            EventRow(
                label=event.label,
                in_app=self[f"{event.value}_in_app"],
                email=self[f"{event.value}_email"] if event not in IN_APP_ONLY_EVENTS else None,
                at_once=self[f"{event.value}_at_once"] if event in DIGESTIBLE_EVENTS else None,
            )
            for event in NotificationEvent
            if not is_client_user(self.user) or client_share(EVENT_ABOUT.get(event, "")) is not NOTHING
        ]
