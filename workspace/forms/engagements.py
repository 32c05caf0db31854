"""Shapes of the engagement pages' input; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from communications.forms.obligations import who_must_be_told_field
from engagements.models import ChangeRequest, Client, Engagement, Health
from pmaas.concurrency import SEEN_MISSING_MESSAGE
from pmaas.forms import DatePicker, IdChoiceField, LongTextField
from pmaas.validation import validate_date_in_range
from stakeholders.models import Stakeholder


class EngagementFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Engagement.Status.choices], required=False, label="Status"
    )
    client = IdChoiceField(
        queryset=Client.objects.none(), required=False, empty_label="Any client", label="Client"
    )

    def __init__(self, *args: Any, clients: QuerySet[Client], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["client"].queryset = clients  # type: ignore[attr-defined]


class _SeenMixin(forms.Form):
    # The row's updated_at when the editor opened it, for the optimistic concurrency check;
    # an edit without it is refused, a form that creates a row has none to carry.
    seen_updated_at = forms.DateTimeField(
        widget=forms.HiddenInput, error_messages={"required": SEEN_MISSING_MESSAGE}
    )
    creates = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["seen_updated_at"].required = not self.creates


class HealthOverrideForm(_SeenMixin):
    health = forms.ChoiceField(
        choices=[("", "Use the computed health"), *Health.choices], required=False, label="Health"
    )
    reason = LongTextField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Reason",
        help_text="Required when overriding: the dashboard shows it next to the health.",
    )
    until = forms.DateField(
        required=False,
        label="Until",
        widget=DatePicker(),
        validators=[validate_date_in_range],
        help_text="Required when overriding: its last day; the computed health returns after it.",
    )
    shared_with_client = forms.BooleanField(
        required=False,
        label="Show the health to the client's users",
        help_text="They see the colour only, never the reason for an override.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("health") and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Say why the computed health is overridden.")
        if cleaned.get("health") and not cleaned.get("until") and "until" not in self.errors:
            self.add_error("until", "Say until when the override holds.")
        return cleaned


class MilestoneForm(_SeenMixin):
    name = forms.CharField(max_length=200, label="Name")
    due_on = forms.DateField(label="Due on", widget=DatePicker(), validators=[validate_date_in_range])
    description = LongTextField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Description",
    )


class MilestoneCreateForm(MilestoneForm):
    creates = True


class ChangeRequestForm(_SeenMixin):
    title = forms.CharField(max_length=200, label="Title")
    kind = forms.ChoiceField(choices=ChangeRequest.Kind.choices, label="Kind")
    raised_on = forms.DateField(label="Raised on", widget=DatePicker(), validators=[validate_date_in_range])
    budget_impact = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        initial=0,
        label="Budget impact",
        help_text="Positive adds cost, negative saves; 0 when none.",
    )
    schedule_impact_days = forms.IntegerField(
        initial=0, label="Schedule impact (days)", help_text="Positive delays, negative brings forward."
    )
    description = LongTextField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Description",
    )


class ChangeRequestCreateForm(ChangeRequestForm):
    creates = True
    notify_stakeholders = who_must_be_told_field()

    def __init__(self, *args: Any, stakeholders: QuerySet[Stakeholder], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["notify_stakeholders"].queryset = stakeholders  # type: ignore[attr-defined]


class ChangeRequestDecisionForm(_SeenMixin):
    to_status = forms.ChoiceField(label="New status")
    decision = LongTextField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Decision",
        help_text="Required to approve or reject: what was decided, by whom, and why.",
    )

    def __init__(self, *args: Any, change_request: ChangeRequest, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = ChangeRequest.TRANSITIONS.targets(change_request.status)
        # Offer the moves the model declares; the service checks them again.
        self.fields["to_status"].choices = [  # type: ignore[attr-defined]
            (value, label) for value, label in ChangeRequest.Status.choices if value in allowed
        ]
