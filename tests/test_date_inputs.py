"""Every date, time and moment a person picks uses the browser's own picker, filled in ISO.

Browsers accept only ISO values (2027-03-28, 09:05, 2027-03-28T09:05) in
date, time and datetime-local inputs and show them in the reader's own
locale format, so no label or help text may promise a format of its own.
"""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
import re

import pytest
from django import forms
from django.urls import reverse

from pmaas.forms import DatePicker, DateTimePicker, TimePicker
from tests.factories import World

ISO_DATE_VALUE = re.compile(
    r'type="date"[^>]*value="\d{4}-\d{2}-\d{2}"|value="\d{4}-\d{2}-\d{2}"[^>]*type="date"'
)


@pytest.mark.parametrize(
    ("route", "attr"),
    [
        ("channel_edit", "channel"),
        ("milestone_edit", "milestone"),
        ("change_request_edit", "change_request"),
        ("follow_up_redate", "follow_up"),
    ],
)
def test_edit_forms_fill_date_inputs_in_iso_format(client, world: World, route: str, attr: str) -> None:
    # Given the lead of the engagement editing an existing row with a date
    client.force_login(world.lead)

    # When the edit form opens
    response = client.get(reverse(route, kwargs={"pk": getattr(world.mine, attr).pk}))

    # Then its date input carries the stored date in the only format a browser accepts
    assert response.status_code == 200
    assert ISO_DATE_VALUE.search(response.content.decode()), "date input not pre-filled as YYYY-MM-DD"


# The project's own apps: every form they declare is walked below.
PROJECT_APPS = (
    "accounts",
    "communications",
    "engagements",
    "notifications",
    "search",
    "sponsor_updates",
    "stakeholders",
    "workspace",
)
# A format spelt out in words ("YYYY-MM-DD", "dd/mm/yyyy", "HH:MM"): the browser shows its own.
PROMISED_FORMAT = re.compile(r"\b(?:y{2,4}|m{1,2}|d{1,2}|h{1,2})\s*[-/.:]\s*(?:y{2,4}|m{1,2}|d{1,2})\b", re.I)
PICKERS: dict[type[forms.Field], tuple[type[forms.Widget], str, object, str]] = {
    forms.DateTimeField: (
        DateTimePicker,
        "datetime-local",
        dt.datetime(2027, 3, 28, 9, 5, tzinfo=dt.UTC),
        "2027-03-28T09:05",
    ),
    forms.DateField: (DatePicker, "date", dt.date(2027, 3, 28), "2027-03-28"),
    forms.TimeField: (TimePicker, "time", dt.time(9, 5), "09:05"),
}


def _project_forms() -> list[type[forms.BaseForm]]:
    for app in PROJECT_APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{app}."):
            if ".migrations" not in module.name and not module.name.endswith(".admin"):
                importlib.import_module(module.name)
    found: list[type[forms.BaseForm]] = []
    waiting: list[type[forms.BaseForm]] = [forms.BaseForm]
    while waiting:
        cls = waiting.pop()
        waiting.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in PROJECT_APPS and not cls.__module__.endswith(".admin"):
            found.append(cls)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def _date_like_fields() -> list[tuple[str, forms.Field, type[forms.Field]]]:
    fields = []
    for form in _project_forms():
        # Declared fields: no form of the project adds a date field in __init__.
        for name, field in getattr(form, "base_fields", {}).items():
            if isinstance(field.widget, forms.HiddenInput):
                continue  # not a date a person picks (a version stamp the page carries)
            # DateTimeField first: it is not a DateField, but listed first for clarity either way.
            kind = next((kind for kind in PICKERS if isinstance(field, kind)), None)
            if kind is not None:
                fields.append((f"{form.__module__}.{form.__qualname__}.{name}", field, kind))
    return fields


def _cases() -> list[object]:
    # Named by form and field, so both test processes collect the same ids.
    return [pytest.param(*case, id=case[0]) for case in _date_like_fields()]


def test_the_walk_reaches_the_forms_people_fill_in() -> None:
    names = {label for label, _, _ in _date_like_fields()}

    # A walk that found nothing would pass every check below
    assert "communications.forms.plan.ChannelForm.starts_on" in names
    assert "communications.forms.plan.ChannelForm.local_time" in names
    assert "communications.forms.check_ins.CheckInForm.occurred_at" in names
    assert "notifications.forms.NotificationPreferenceForm.digest_time" in names
    assert len(names) >= 15


@pytest.mark.parametrize(("label", "field", "kind"), _cases())
def test_every_date_time_and_moment_field_uses_the_one_picker_and_iso_values(
    label: str, field: forms.Field, kind: type[forms.Field]
) -> None:
    widget_class, input_type, value, rendered = PICKERS[kind]

    # Then the field draws the browser's own picker, filled in the only format it reads
    assert isinstance(field.widget, widget_class), f"{label} uses {type(field.widget).__name__}"
    html = field.widget.render("field", value)
    assert f'type="{input_type}"' in html
    assert f'value="{rendered}"' in html


@pytest.mark.parametrize(("label", "field", "kind"), _cases())
def test_no_label_help_text_or_message_promises_a_format_of_its_own(
    label: str, field: forms.Field, kind: type[forms.Field]
) -> None:
    words = [str(field.label or ""), str(field.help_text or ""), *map(str, field.error_messages.values())]

    assert not [text for text in words if PROMISED_FORMAT.search(text)], label


@pytest.mark.parametrize(
    "text", ["Format: YYYY-MM-DD.", "dd/mm/yyyy", "Give the date and time as YYYY-MM-DD HH:MM.", "mm/dd"]
)
def test_a_promised_format_is_recognised(text: str) -> None:
    assert PROMISED_FORMAT.search(text)
