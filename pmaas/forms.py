"""How every page's form shows and reads ids and zones: the renderer, the fields, a service's refusal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.forms import BaseForm
from django.forms.renderers import TemplatesSetting
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from pmaas.errors import RuleViolation
from pmaas.scoping import parse_id
from pmaas.timezones import available_time_zones, time_zone_choices
from pmaas.validation import LONG_TEXT_MAX_LENGTH


class FormRenderer(TemplatesSetting):
    """Renders form templates through the project's TEMPLATES, so ``templates/forms/`` can hold them.

    ``{{ field.as_field_group }}`` draws one field the same way on every page:
    label, control, help text and the field's errors right beside it.
    """

    field_template_name = "forms/field.html"


def form_add_service_errors(
    form: BaseForm, error: ValidationError | RuleViolation, *, field_names: Mapping[str, str] | None = None
) -> None:
    """Show a service's refusal on the form that collected its input.

    Errors a ValidationError names a field for go beside that field of the
    form (``field_names`` maps a service's name to the form's where they
    differ, such as ``due_at`` to ``due_on``), and so does a RuleViolation
    about a field the form has; the others, and a ValidationError without
    fields, go above the form. The form keeps what
    was typed, so it can be corrected and sent again.
    """
    if isinstance(error, RuleViolation):
        field = (field_names or {}).get(error.field or "", error.field)
        form.add_error(field if field in form.fields else None, error.message)
        return
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    names = field_names or {}
    # The errors themselves, not their messages, so their codes (such as ``stale``) stay readable.
    for name, errors in error.error_dict.items():
        field = names.get(name, name)
        form.add_error(field if field in form.fields else None, errors)


class FastSelect(forms.Select):
    """A single select whose options are written in Python rather than through one template each.

    The same markup as Django's Select; a practice lead's choice of 2,000
    engagements renders in milliseconds instead of over half a second.
    Option groups are written as ``<optgroup>``.
    """

    def choices_for(self, chosen: set[str]) -> Iterable[Any]:
        """The choices drawn for these chosen values: the widget's own."""
        return self.choices

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        final = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        chosen = {str(v) for v in self.format_value(value)}

        def options(choices: Iterable[Any]) -> SafeString:
            return format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                (
                    (option, mark_safe(" selected") if str(option) in chosen else "", label)
                    for option, label in choices
                ),
            )

        parts = []
        for group, label in self.choices_for(chosen):
            if isinstance(label, list | tuple):
                parts.append(format_html('<optgroup label="{}">{}</optgroup>', group, options(label)))
            else:
                parts.append(options([(group, label)]))
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(parts)))  # noqa: S308


class TimeZoneSelect(FastSelect):
    """The zones by region; a chosen zone the list leaves out (a saved alias) comes first, selected."""

    def choices_for(self, chosen: set[str]) -> Iterable[Any]:
        offered: set[str] = set()
        for value, label in self.choices:
            if isinstance(label, list | tuple):
                offered.update(str(zone) for zone, _ in label)
            else:
                offered.add(str(value))
        kept = sorted(zone for zone in chosen - offered if zone in available_time_zones())
        return [*((zone, zone) for zone in kept), *self.choices]


class TimeZoneField(forms.ChoiceField):
    """An IANA zone name, chosen from UTC and the places of each region.

    The list leaves out aliases ("US/Eastern", "GB") and fixed offsets, yet
    any name the zone database knows is accepted, as the models accept it:
    a person whose saved zone is an alias sees it selected and can save the
    form again without being told to choose anew.
    """

    widget = TimeZoneSelect

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("choices", time_zone_choices)
        super().__init__(**kwargs)

    def valid_value(self, value: Any) -> bool:
        return str(value) in available_time_zones()


class IdChoiceField(forms.ModelChoiceField):
    """A row chosen by id among the queryset's; an id that names no row ("1.5", 2**64) is not a choice.

    Django's own field hands such values to the database, which rounds a
    decimal onto a row and, on SQLite, fails on a number past 64 bits.
    """

    widget = FastSelect

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values or isinstance(value, Model):
            return super().to_python(value)
        if parse_id(value) is None:
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Rows chosen by id among the queryset's, refusing ids that name no row, as IdChoiceField does."""

    def _check_values(self, value: Iterable[Any]) -> QuerySet[Any]:
        for item in value:
            if not isinstance(item, Model) and parse_id(item) is None:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": item}
                )
        return super()._check_values(value)  # type: ignore[misc]


class LongTextField(forms.CharField):
    """Prose a person types (a summary, notes, a reason), up to LONG_TEXT_MAX_LENGTH characters.

    The widget gets no ``maxlength``: a browser would cut a longer paste short
    without a word, and the rest would be saved as if complete. The server
    refuses it instead, with the count, and the form keeps every character.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", LONG_TEXT_MAX_LENGTH)
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.pop("maxlength", None)
        return attrs


# What a browser's date, time and date-and-time inputs read and write, whatever the locale
# they show the value in: so labels and help texts never promise a format of their own.
DATE_FORMAT = "%Y-%m-%d"
TIME_FORMAT = "%H:%M"
DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class DatePicker(forms.DateInput):
    """Every date field's widget: the browser's date picker, in the browser's own format."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=DATE_FORMAT)


class TimePicker(forms.TimeInput):
    """Every time field's widget: the browser's time picker."""

    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=TIME_FORMAT)


class DateTimePicker(forms.DateTimeInput):
    """Every date-and-time field's widget: the browser's date-and-time picker, local time, no zone."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=DATETIME_LOCAL_FORMAT)
