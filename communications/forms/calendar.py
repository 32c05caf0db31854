"""The form that opens a calendar feed."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet

from engagements.models import Engagement
from pmaas.forms import IdChoiceField


class EngagementChoiceField(IdChoiceField):
    def label_from_instance(self, obj: Engagement) -> str:
        return f"{obj.code} · {obj.name}"


class CalendarFeedForm(forms.Form):
    """Which feed to open: personal (no engagement) or one engagement's, among those in scope."""

    engagement = EngagementChoiceField(
        label="Feed",
        queryset=Engagement.objects.none(),
        required=False,
        empty_label="Personal: the check-ins you own, on every engagement",
        help_text="A new feed replaces an earlier one of the same kind; the old address stops working.",
    )

    def __init__(self, *args: Any, engagements: QuerySet[Engagement], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(EngagementChoiceField, self.fields["engagement"]).queryset = engagements
