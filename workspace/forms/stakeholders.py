"""The shape of what the stakeholder pages accept; the rules live in stakeholders/services.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from accounts.models import User
from pmaas.forms import IdChoiceField, LongTextField, TimeZoneField
from stakeholders.models import Level, Scale, Stakeholder, StakeholderRole


class SeenVersionField(forms.CharField):
    """The row's updated_at as the editor saw it, carried in a hidden input for the stale-save check."""

    widget = forms.HiddenInput

    def to_python(self, value: Any) -> datetime | None:  # type: ignore[override]
        text = super().to_python(value)
        if not text:
            return None
        try:
            seen = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError("This form is damaged; reload the page and try again.") from None
        if seen.tzinfo is None:
            raise ValidationError("This form is damaged; reload the page and try again.")
        return seen


def seen_version(updated_at: datetime) -> str:
    return updated_at.isoformat()


class RoleFieldsForm(forms.Form):
    """Where a relationship stands: shared by adding someone and editing their role."""

    kind = forms.ChoiceField(label="Role", choices=StakeholderRole.Kind.choices)
    influence = forms.TypedChoiceField(label="Influence", choices=Scale.choices, coerce=int)
    interest = forms.TypedChoiceField(label="Interest", choices=Scale.choices, coerce=int)
    current_level = forms.ChoiceField(label="Current engagement level", choices=Level.choices)
    desired_level = forms.ChoiceField(label="Desired engagement level", choices=Level.choices)
    relationship_owner = IdChoiceField(
        label="Relationship owner",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody yet",
    )
    notes = LongTextField(
        label="Notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Plain text or limited Markdown.",
    )

    def __init__(self, *args: Any, owners: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["relationship_owner"]).queryset = owners

    def role_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "influence": data["influence"],
            "interest": data["interest"],
            "current_level": data["current_level"],
            "desired_level": data["desired_level"],
            "relationship_owner": data["relationship_owner"],
            "notes": data["notes"],
        }


class StakeholderRoleCreateForm(RoleFieldsForm):
    """Add someone to the register: a person already known at the client, or a new one."""

    stakeholder = IdChoiceField(
        label="Someone already known at the client",
        queryset=Stakeholder.objects.none(),
        required=False,
        empty_label="Someone new (enter below)",
        error_messages={
            "invalid_choice": "This person is already on this engagement's register, "
            "or is not someone you can add here. Edit their role in the register instead."
        },
    )
    name = forms.CharField(label="Name", max_length=200, required=False)
    email = forms.EmailField(label="Email", required=False)
    title = forms.CharField(label="Job title", max_length=200, required=False)
    department = forms.CharField(label="Department", max_length=200, required=False)
    phone = forms.CharField(label="Phone", max_length=50, required=False)
    time_zone = TimeZoneField(
        label="Time zone",
        required=False,
        help_text="Defaults to the client's.",
    )

    field_order = ["stakeholder", "name", "email", "title", "department", "phone", "time_zone"]

    def __init__(self, *args: Any, candidates: QuerySet[Stakeholder], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["stakeholder"]).queryset = candidates

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        picked = data.get("stakeholder")
        typed = (data.get("name") or "").strip()
        if picked is None and not typed and "stakeholder" not in self.errors:
            self.add_error("name", "Pick someone already known at the client, or enter a new person's name.")
        elif picked is not None and typed:
            self.add_error("name", "Either pick someone already known or enter a new person, not both.")
        return data

    def person_values(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "email": data["email"],
            "title": data["title"],
            "department": data["department"],
            "phone": data["phone"],
            "time_zone": data["time_zone"],
        }


class StakeholderRoleForm(RoleFieldsForm):
    """Edit a role; carries the version the editor saw."""

    updated_at = SeenVersionField()


class StakeholderForm(forms.Form):
    """Edit a person; carries the version the editor saw."""

    name = forms.CharField(label="Name", max_length=200)
    email = forms.EmailField(label="Email", required=False)
    title = forms.CharField(label="Job title", max_length=200, required=False)
    department = forms.CharField(label="Department", max_length=200, required=False)
    phone = forms.CharField(label="Phone", max_length=50, required=False)
    time_zone = TimeZoneField(label="Time zone")
    notes = LongTextField(
        label="Notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Plain text or limited Markdown.",
    )
    updated_at = SeenVersionField()


def role_initial(role: StakeholderRole) -> dict[str, Any]:
    return {
        "kind": role.kind,
        "influence": role.influence,
        "interest": role.interest,
        "current_level": role.current_level,
        "desired_level": role.desired_level,
        "relationship_owner": role.relationship_owner_id,
        "notes": role.notes,
        "updated_at": seen_version(role.updated_at),
    }


def stakeholder_initial(stakeholder: Stakeholder) -> dict[str, Any]:
    return {
        "name": stakeholder.name,
        "email": stakeholder.email,
        "title": stakeholder.title,
        "department": stakeholder.department,
        "phone": stakeholder.phone,
        "time_zone": stakeholder.time_zone,
        "notes": stakeholder.notes,
        "updated_at": seen_version(stakeholder.updated_at),
    }
