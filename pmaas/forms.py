"""How every page's form shows: the project's form renderer, and a service's refusal put onto the form."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.forms.renderers import TemplatesSetting

from pmaas.errors import RuleViolation


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
