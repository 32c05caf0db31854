"""Model validation that reports every problem at once, under the field it concerns; the accepted dates."""

from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db.models import Model


def clean_instance(instance: Model, errors: dict[str, Any] | None = None) -> None:
    """Run full_clean() together with rule errors a service found itself.

    Fields the service already complained about are left out of full_clean(),
    so a database constraint over them does not repeat the message without a
    field name.
    """
    collected: dict[str, Any] = {
        field: list(e) if isinstance(e, list) else [e] for field, e in (errors or {}).items()
    }
    try:
        instance.full_clean(exclude=list(collected))
    except ValidationError as exc:
        collected = exc.update_error_dict(collected)
    if collected:
        raise ValidationError(collected)


# Every date the tracker accepts, in pages, API and services alike. An engagement
# is planned, held and reported within these years; outside them a date is a typo,
# and near the ends of the calendar a time-zone conversion overflows.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)
DATE_RANGE_MESSAGE = f"Choose a date between {EARLIEST_DATE.year} and {LATEST_DATE.year}."


def validate_date_in_range(value: date | datetime) -> None:
    """Refuse a date, or a moment's local date, outside EARLIEST_DATE–LATEST_DATE."""
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")


# The longest text a person may type into one field: a summary, decisions,
# notes, a description, a comment. Ten pages of prose is more than any meeting
# needs; without a bound, one request could store megabytes in a row every
# list page and mail then carries.
LONG_TEXT_MAX_LENGTH = 20_000
# For a model's TextField: the limit is shown by forms built from the model and
# checked by full_clean(); TextField itself checks no max_length.
LONG_TEXT: dict[str, Any] = {
    "max_length": LONG_TEXT_MAX_LENGTH,
    "validators": [MaxLengthValidator(LONG_TEXT_MAX_LENGTH)],
}
