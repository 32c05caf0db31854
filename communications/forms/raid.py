"""Forms of the RAID log: an item of each kind, the tab's filters, reviews, validations, change requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import User
from communications import selectors
from communications.forms.obligations import who_must_be_told_field
from communications.models import RaidItem, RaidKind, RaidSeverity, RaidTrend
from communications.obligations import obligation_default_stakeholder_ids
from communications.raid import KIND_FIELDS, RaidFields
from engagements.models import ChangeRequest, Engagement
from pmaas.concurrency import SEEN_MISSING_MESSAGE
from pmaas.forms import DatePicker, IdChoiceField, IdMultipleChoiceField, LongTextField
from pmaas.scoping import parse_id
from pmaas.validation import validate_date_in_range
from stakeholders.models import Stakeholder

_SCALE = [("", "—"), *((str(n), str(n)) for n in range(1, 6))]
_KIND_SPECIFIC = frozenset().union(*KIND_FIELDS.values())


def _date(label: str, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        validators=[validate_date_in_range],
        widget=DatePicker(),
        help_text=help_text,
        error_messages={"invalid": "Give a real date."},
    )


def _scale(label: str, help_text: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=_SCALE, coerce=int, empty_value=None, required=False, help_text=help_text
    )


class RaidItemForm(forms.Form):
    """One item of a given kind: only the fields that kind uses are on the form.

    The kind is chosen before the form is drawn (a link per kind), so the page
    works without JavaScript; the service decides what is required.
    """

    title = forms.CharField(label="Title", max_length=300)
    description = LongTextField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    owner = IdChoiceField(
        queryset=User.objects.none(), required=False, label="Owner", empty_label="The engagement lead"
    )
    stakeholders = IdMultipleChoiceField(
        queryset=Stakeholder.objects.none(),
        required=False,
        label="Stakeholders concerned",
        widget=forms.CheckboxSelectMultiple,
    )
    raised_by = IdChoiceField(
        queryset=Stakeholder.objects.none(),
        required=False,
        label="Raised by",
        empty_label="Nobody at the client",
    )
    likelihood = _scale("Likelihood", "1 rare … 5 almost certain.")
    impact = _scale("Impact", "1 minor … 5 severe.")
    trend = forms.ChoiceField(label="Trend", choices=[("", "—"), *RaidTrend.choices], required=False)
    mitigation = LongTextField(
        label="Mitigation or action plan", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    review_on = _date("Next review")
    validate_by = _date("Validate by")
    severity = forms.ChoiceField(label="Severity", choices=[("", "—"), *RaidSeverity.choices], required=False)
    due_on = _date("Due")
    decided_by = forms.CharField(
        label="Decided by", max_length=200, required=False, help_text="A person or a board."
    )
    decided_on = _date("Decided on")
    change_request = IdChoiceField(
        queryset=ChangeRequest.objects.none(),
        required=False,
        label="From change request",
        empty_label="None",
    )
    shared_with_client = forms.BooleanField(
        label="Share with the client", required=False, help_text="The client's users see this item."
    )
    seen_updated_at = forms.CharField(
        required=False, widget=forms.HiddenInput, error_messages={"required": SEEN_MISSING_MESSAGE}
    )

    def __init__(
        self, *args: Any, user: Any, engagement: Engagement, kind: str, editing: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in _KIND_SPECIFIC - KIND_FIELDS[kind]:
            del self.fields[name]
        if kind == RaidKind.ISSUE:
            self.fields["mitigation"].label = "Action plan"
        self.fields["owner"].queryset = selectors.check_in_team_choices(user=user, engagement=engagement)  # type: ignore[attr-defined]
        people = selectors.check_in_attendee_choices(user=user, engagement=engagement)
        self.fields["stakeholders"].queryset = people  # type: ignore[attr-defined]
        self.fields["raised_by"].queryset = people  # type: ignore[attr-defined]
        if "change_request" in self.fields:
            self.fields["change_request"].queryset = ChangeRequest.objects.visible_to(user).filter(  # type: ignore[attr-defined]
                engagement=engagement
            )
        if editing:
            self.fields["seen_updated_at"].required = True

    def clean_seen_updated_at(self) -> datetime | None:
        value = self.cleaned_data.get("seen_updated_at")
        if not value:
            return None
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Damaged form; open the item again.", code="bad_version") from None

    def values(self) -> RaidFields:
        data = self.cleaned_data
        return RaidFields(
            title=data["title"],
            description=data.get("description", ""),
            owner=data.get("owner"),
            stakeholders=list(data.get("stakeholders") or []),
            raised_by=data.get("raised_by"),
            likelihood=data.get("likelihood"),
            impact=data.get("impact"),
            trend=data.get("trend", ""),
            mitigation=data.get("mitigation", ""),
            review_on=data.get("review_on"),
            validate_by=data.get("validate_by"),
            severity=data.get("severity", ""),
            due_on=data.get("due_on"),
            decided_by=data.get("decided_by", ""),
            decided_on=data.get("decided_on"),
            change_request=data.get("change_request"),
            shared_with_client=data.get("shared_with_client", False),
        )

    @staticmethod
    def initial_from(item: RaidItem) -> dict[str, Any]:
        names = ["title", "description", "owner", "raised_by", "shared_with_client", *_KIND_SPECIFIC]
        initial = {name: getattr(item, f"{name}_id" if name in _FK else name) for name in names}
        initial["stakeholders"] = [s.pk for s in item.stakeholders.all()]
        initial["seen_updated_at"] = item.updated_at.isoformat()
        return initial


_FK = {"owner", "raised_by", "change_request"}


class RaidFilterForm(forms.Form):
    """The RAID tab's filters, read from the query string; an unknown value is simply no filter."""

    kind = forms.ChoiceField(label="Kind", choices=[("", "All kinds"), *RaidKind.choices], required=False)
    status = forms.ChoiceField(
        label="Status", choices=[("", "Any status"), *RaidItem.Status.choices], required=False
    )
    owner = forms.ChoiceField(label="Owner", required=False)
    stakeholder = forms.ChoiceField(label="Stakeholder", required=False)

    def __init__(
        self, *args: Any, owners: list[User], stakeholders: list[Stakeholder], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Anyone"), *((str(u.pk), str(u)) for u in owners)]  # type: ignore[attr-defined]
        self.fields["stakeholder"].choices = [("", "Anyone"), *((str(s.pk), s.name) for s in stakeholders)]  # type: ignore[attr-defined]

    def filters(self) -> selectors.RaidFilter:
        if not self.is_valid():
            return selectors.RaidFilter()
        data = self.cleaned_data
        return selectors.RaidFilter(
            kind=data["kind"],
            status=data["status"],
            owner=parse_id(data["owner"]),
            stakeholder=parse_id(data["stakeholder"]),
        )


class RiskReviewForm(forms.Form):
    likelihood = forms.TypedChoiceField(label="Likelihood", choices=_SCALE[1:], coerce=int)
    impact = forms.TypedChoiceField(label="Impact", choices=_SCALE[1:], coerce=int)
    trend = forms.ChoiceField(label="Trend", choices=RaidTrend.choices)
    next_review_on = forms.DateField(
        label="Next review",
        validators=[validate_date_in_range],
        widget=DatePicker(),
        error_messages={"invalid": "Give a real date.", "required": "Say when to look again."},
    )
    mitigation = LongTextField(label="Mitigation", required=False, widget=forms.Textarea(attrs={"rows": 3}))


class AssumptionValidateForm(forms.Form):
    holds = forms.TypedChoiceField(
        label="Did it hold?",
        choices=[("yes", "It held true"), ("no", "It proved wrong")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=RaidItem.Status.choices)


class IssueToChangeRequestForm(forms.Form):
    title = forms.CharField(label="Title of the change request", max_length=200)
    description = LongTextField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What changes and why, as the client's people will read it.",
    )
    kind = forms.ChoiceField(label="Kind of change", choices=ChangeRequest.Kind.choices)
    budget_impact = forms.DecimalField(
        label="Budget impact", max_digits=14, decimal_places=2, initial=0, help_text="Positive adds cost."
    )
    schedule_impact_days = forms.IntegerField(
        label="Schedule impact (days)",
        initial=0,
        min_value=-3650,
        max_value=3650,
        help_text="Positive delays.",
    )
    notify_stakeholders = who_must_be_told_field()

    def __init__(self, *args: Any, stakeholders: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["notify_stakeholders"].queryset = stakeholders  # type: ignore[attr-defined]

    @classmethod
    def initial_for(cls, item: RaidItem) -> dict[str, Any]:
        """Who is told by default; the words of an issue the client reads, none of an internal one's."""
        told = {"notify_stakeholders": obligation_default_stakeholder_ids(engagement=item.engagement)}
        if not item.shared_with_client:
            return told
        return told | {
            "title": item.title[:200],
            "description": f"{item.description}\n\n{item.mitigation}".strip(),
        }
