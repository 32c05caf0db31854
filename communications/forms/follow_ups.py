"""Forms of the follow-ups pages: re-dating one item and completing several at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from pmaas.concurrency import SEEN_MISSING_MESSAGE
from pmaas.deadlines import deadline_day, end_of_day
from pmaas.forms import DatePicker, TimePicker
from pmaas.scoping import parse_id
from pmaas.validation import validate_date_in_range

# The service takes the new due time as one value; the form asks for it as a date and a time,
# and shows the service's objections to it under the date.
REDATE_FIELD_NAMES = {"due_at": "due_on"}


class RedateForm(forms.Form):
    """A new due date, and optionally a time, in the user's time zone.

    An item due by the end of a day (pmaas/deadlines.py) stays one: its new
    date, left without a time, is a day in the same zone as before.
    """

    due_on = forms.DateField(
        label="New due date",
        validators=[validate_date_in_range],
        widget=DatePicker(),
    )
    due_time = forms.TimeField(
        label="Time (optional)",
        required=False,
        widget=TimePicker(),
        help_text="Left empty, it stays due at the same time of day, or by the end of the day.",
    )
    seen_updated_at = forms.CharField(
        widget=forms.HiddenInput, error_messages={"required": SEEN_MISSING_MESSAGE}
    )

    def __init__(self, *args: Any, current_due_at: datetime, current_due_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.current_due_at = current_due_at
        self.current_due_zone = current_due_zone

    @classmethod
    def initial_for(cls, *, due_at: datetime, due_zone: str) -> dict[str, Any]:
        """The current due date and time as the form shows them; a day alone for an item due by its end."""
        day = deadline_day(due_at, due_zone)
        if day is not None:
            return {"due_on": day, "due_time": None}
        local_due = timezone.localtime(due_at)
        return {"due_on": local_due.date(), "due_time": local_due.time().replace(second=0, microsecond=0)}

    def clean_seen_updated_at(self) -> datetime:
        value = self.cleaned_data["seen_updated_at"]
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Damaged form; open the follow-up again.", code="bad_version") from None

    def due(self) -> tuple[datetime, str]:
        """The chosen moment, and the zone of its day when it is due by the end of one (else "")."""
        chosen_time = self.cleaned_data.get("due_time")
        if chosen_time is None and deadline_day(self.current_due_at, self.current_due_zone) is not None:
            return end_of_day(self.cleaned_data["due_on"], self.current_due_zone), self.current_due_zone
        kept_time = timezone.localtime(self.current_due_at).time().replace(tzinfo=None)
        naive = datetime.combine(self.cleaned_data["due_on"], chosen_time or kept_time)
        return timezone.make_aware(naive, timezone.get_current_timezone()), ""


class IntegerListField(forms.Field):
    """Several whole numbers under one name, as checkboxes send them."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        ids = [parse_id(item) for item in (value if isinstance(value, list | tuple) else [value])]
        if None in ids:
            raise ValidationError("Pick follow-ups from the list.", code="invalid")
        return [pk for pk in ids if pk is not None]


class BulkCompleteForm(forms.Form):
    follow_up_ids = IntegerListField(error_messages={"required": "Tick at least one follow-up to complete."})
    next = forms.CharField(required=False)
