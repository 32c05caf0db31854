"""The window cadence compliance is measured over: the last 30, 90 or 180 days, or two dates."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from communications.compliance import (
    DEFAULT_WINDOW_DAYS,
    WINDOW_DAYS,
    ComplianceWindow,
    window_date_errors,
)
from pmaas.forms import DatePicker
from pmaas.validation import validate_date_in_range

_FIELD_OF = {"first": "start", "last": "end"}


class ComplianceWindowForm(forms.Form):
    """A preset window, or two dates read in the user's time zone; the dates win when given."""

    days = forms.TypedChoiceField(
        label="Window",
        choices=[(days, f"Last {days} days") for days in WINDOW_DAYS],
        coerce=int,
        required=False,
        empty_value=None,
        initial=DEFAULT_WINDOW_DAYS,
    )
    start = forms.DateField(
        label="From",
        validators=[validate_date_in_range],
        required=False,
        widget=DatePicker(),
    )
    end = forms.DateField(
        # Said in the label: a hint under one field of a filter row pushed that field above the others.
        label="To (included)",
        validators=[validate_date_in_range],
        required=False,
        widget=DatePicker(),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "start" in cleaned and "end" in cleaned:
            for which, message in window_date_errors(cleaned["start"], cleaned["end"]).items():
                self.add_error(_FIELD_OF[which], ValidationError(message, code="window"))
        return cleaned

    def window(self, *, as_of: datetime, zone: tzinfo) -> ComplianceWindow:
        """The chosen window; on a bound form call it after is_valid(). Unbound: the default."""
        if not self.is_bound:
            return ComplianceWindow.last_days(days=DEFAULT_WINDOW_DAYS, as_of=as_of)
        first, last = self.cleaned_data.get("start"), self.cleaned_data.get("end")
        if first is not None and last is not None:
            return ComplianceWindow.between(first=first, last=last, zone=zone)
        return ComplianceWindow.last_days(days=self.cleaned_data["days"] or DEFAULT_WINDOW_DAYS, as_of=as_of)


def window_form(query: Any) -> ComplianceWindowForm:
    """Bound to the query string when it names a window, so a plain visit shows the default."""
    if any(name in query for name in ("days", "start", "end")):
        return ComplianceWindowForm(query)
    return ComplianceWindowForm()


def window_context(request: HttpRequest, form: ComplianceWindowForm) -> dict[str, Any]:
    """What a page that measures over a window shows of it: the form, and the chosen window.

    The window is None while the form has errors (the page then shows them, not
    figures). Shared by the plan and the portfolio page.
    """
    if form.is_bound and not form.is_valid():
        return {"form": form, "window": None, "window_query": ""}
    window = form.window(as_of=timezone.now(), zone=timezone.get_current_timezone())
    # Carried by links and htmx actions on the page, so they keep the chosen window.
    query = request.GET.urlencode() if form.is_bound else ""
    return {"form": form, "window": window, "window_query": query}
