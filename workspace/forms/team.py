"""The shape of what the team page accepts; the rules live in the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from accounts.models import User


class TeamMemberAddForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(), label="Person", empty_label="Choose someone of the firm"
    )

    def __init__(self, *args: Any, candidates: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = candidates  # type: ignore[attr-defined]


class TeamMemberRemoveForm(forms.Form):
    reassign_to = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Hand their work to",
        empty_label="Nobody",
        help_text="Takes over their open follow-ups, channels and relationships on this engagement.",
    )

    def __init__(self, *args: Any, members: QuerySet[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reassign_to"].queryset = members  # type: ignore[attr-defined]
