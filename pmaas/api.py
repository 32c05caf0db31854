"""REST framework plumbing shared by every app's API.

The router, paging, error translation, the documented error
responses, the relation field and filter that look ids up only within the
caller's scope (and refuse ids that name no row), and the model serializer
that shows a client user only the fields shared with clients.
"""

from __future__ import annotations

from base64 import b64decode, b64encode
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, cast
from urllib import parse

import django_filters.fields
import django_filters.rest_framework
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Field, Model, Q, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, routers, serializers
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import exception_handler as drf_exception_handler

from pmaas.errors import NotAllowed, NotFound, RuleViolation
from pmaas.scoping import parse_id
from pmaas.sharing import client_sees_field, client_share, is_client_user

_MT = TypeVar("_MT", bound=Model)


class Router(routers.DefaultRouter):
    """The API's router: an object's id in a path is at most 18 digits.

    Anything else names no row and answers 404 from the URL resolver, rather
    than reaching a database that cannot hold the number (SQLite raises on
    ids past 64 bits). A viewset that looks rows up by something else says so
    with its own ``lookup_value_regex``.
    """

    def get_lookup_regex(self, viewset: Any, lookup_prefix: str = "") -> str:
        if getattr(viewset, "lookup_value_regex", None) is not None:
            return super().get_lookup_regex(viewset, lookup_prefix)
        name = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        return f"(?P<{lookup_prefix}{name}>[0-9]{{1,18}})"


def _page_size(request: Request, *, param: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(param)
    if raw is None:
        return default
    # Digits only: int() would also take " 5", "+5" and "٥".
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= maximum):
        raise exceptions.ValidationError({param: [f"A whole number from 1 to {maximum}."]})
    return int(raw)


# A key value past what a 64-bit column holds would make SQLite raise rather than find nothing.
_LARGEST_KEY = 2**63 - 1


def _key_value(field: Field[Any, Any], raw: str) -> Any:
    value = field.to_python(raw)
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("A time in a cursor carries its offset.")
    if isinstance(value, int) and abs(value) > _LARGEST_KEY:
        raise ValueError("No row has such a key.")
    return value


def _reversed(name: str) -> str:
    return name[1:] if name.startswith("-") else f"-{name}"


def _rows_after(ordering: Sequence[str], key: Sequence[Any]) -> Q:
    """The rows after ``key`` in ``ordering``: beyond it on the first column, or level and beyond on the next.

    The first column's range is stated once more on its own, so that an index
    led by the ordering's columns is entered at the key instead of scanned.
    """
    following = Q()
    equal_so_far = Q()
    for name, value in zip(ordering, key, strict=True):
        column = name.lstrip("-")
        beyond = "lt" if name.startswith("-") else "gt"
        following |= equal_so_far & Q(**{f"{column}__{beyond}": value})
        equal_so_far &= Q(**{column: value})
    if len(ordering) > 1:
        first = ordering[0]
        following &= Q(**{f"{first.lstrip('-')}__{'lte' if first.startswith('-') else 'gte'}": key[0]})
    return following


class _At(NamedTuple):
    """Where a page starts: after ``key`` going forwards, or before it going backwards."""

    backwards: bool
    key: list[Any]


class Pagination(CursorPagination):
    """Keyset pages in the order each list declares, without a COUNT: page 1,000 costs what page 1 does.

    A list view declares ``ordering``: columns of its model that are never
    null, ending with the id, so rows with equal times neither repeat nor
    vanish between pages, whatever is added or removed meanwhile. The cursor
    carries the whole key of the row at the page's edge; the next page is the
    rows after that key, read from an index over the ordering's columns.
    Pages of 50 by default; ``page_size`` from 1 to 200, anything else is
    refused with 400. A cursor that was not handed out answers 404.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_description = "Where the page starts: the `next` or `previous` link of the page before."

    def get_page_size(self, request: Request) -> int:
        return _page_size(
            request, param=self.page_size_query_param, default=self.page_size, maximum=self.max_page_size
        )

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        ordering = tuple(getattr(view, "ordering", None) or ())
        if not ordering or ordering[-1].lstrip("-") not in ("id", "pk"):
            raise ImproperlyConfigured(f"{type(view).__name__}.ordering must end with the id.")
        return ordering

    def _fields(self, model: type[Model]) -> list[Field[Any, Any]]:
        meta = model._meta
        return [
            cast("Field[Any, Any]", meta.pk if name.lstrip("-") == "pk" else meta.get_field(name.lstrip("-")))
            for name in self.ordering
        ]

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any]:
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, queryset, view)
        self.key_fields = self._fields(queryset.model)
        self.at = self._read_cursor(request)
        backwards = self.at is not None and self.at.backwards
        order = tuple(_reversed(name) for name in self.ordering) if backwards else self.ordering
        rows = queryset.order_by(*order)
        if self.at is not None:
            rows = rows.filter(_rows_after(order, self.at.key))
        # One row more than the page tells whether another page follows, with no COUNT.
        found = list(rows[: self.page_size + 1])
        further = len(found) > self.page_size
        self.page = found[: self.page_size]
        if backwards:
            self.page.reverse()
            self.has_previous, self.has_next = further, True
        else:
            self.has_previous, self.has_next = self.at is not None, further
        self.display_page_controls = self.has_previous or self.has_next
        return self.page

    def _edge(self, row: Model | None) -> list[Any]:
        if row is None:
            # An empty page beyond either end: the way back starts where this one was asked for.
            return self.at.key if self.at is not None else []
        return [field.value_to_string(row) for field in self.key_fields]

    def _link(self, *, backwards: bool, key: list[Any]) -> str:
        tokens: dict[str, Any] = {"p": [str(value) for value in key]}
        if backwards:
            tokens["r"] = "1"
        encoded = b64encode(parse.urlencode(tokens, doseq=True).encode("ascii")).decode("ascii")
        return replace_query_param(str(self.base_url), self.cursor_query_param, encoded)

    def get_next_link(self) -> str | None:
        if not self.has_next:
            return None
        return self._link(backwards=False, key=self._edge(self.page[-1] if self.page else None))

    def get_previous_link(self) -> str | None:
        if not self.has_previous:
            return None
        return self._link(backwards=True, key=self._edge(self.page[0] if self.page else None))

    def _read_cursor(self, request: Request) -> _At | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(text, keep_blank_values=True, strict_parsing=True)
            raw = tokens.pop("p")
            backwards = tokens.pop("r", ["0"])
            if tokens or backwards not in (["0"], ["1"]) or len(raw) != len(self.key_fields):
                raise ValueError("Not a cursor of this list.")
            key = [_key_value(field, value) for field, value in zip(self.key_fields, raw, strict=True)]
        except (KeyError, ValueError, DjangoValidationError) as exc:
            raise exceptions.NotFound(self.invalid_cursor_message) from exc
        return _At(backwards=backwards == ["1"], key=key)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters


class NumberedPagination(PageNumberPagination):
    """Numbered pages over a summary computed in memory (compliance groups), where a count costs nothing.

    ``page_size`` from 1 to 200 as on every list; a page past the last answers 404.
    """

    page_size = Pagination.page_size
    page_size_query_param = Pagination.page_size_query_param
    max_page_size = Pagination.max_page_size

    def get_page_size(self, request: Request) -> int:
        return _page_size(
            request, param=self.page_size_query_param, default=self.page_size, maximum=self.max_page_size
        )

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
            elif parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size, default=self.page_size)
        return parameters


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The API's one translation of the services' errors.

    Django's ValidationError and RuleViolation answer 400 with field errors
    (a RuleViolation under its ``field``, else "non_field_errors"); NotFound
    answers 404 and NotAllowed 403 with the ``detail`` body REST framework
    gives Http404 and PermissionDenied.
    """
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail: Any = exc.message_dict
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, RuleViolation):
        exc = exceptions.ValidationError(detail={exc.field or "non_field_errors": [exc.message]})
    elif isinstance(exc, NotFound):
        exc = Http404(*exc.args)
    elif isinstance(exc, NotAllowed):
        exc = PermissionDenied(*exc.args)
    return drf_exception_handler(exc, context)


FIELD_ERRORS = OpenApiResponse(
    response={
        "oneOf": [
            {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
            },
            {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
                "additionalProperties": False,
            },
        ],
    },
    description=(
        "The body is malformed or a rule refuses it. Each key names a field (nested ones as "
        '"follow_ups[0].due_at"; problems with no single field under "non_field_errors") '
        'and maps to its messages. A body that is not JSON at all is answered {"detail": "…"}.'
    ),
)


class ErrorDetailSerializer(serializers.Serializer[Any]):
    detail = serializers.CharField()


FORBIDDEN = OpenApiResponse(
    response=ErrorDetailSerializer,
    description="Not logged in, or the object is visible to the caller but not theirs to change.",
)
NOT_FOUND = OpenApiResponse(
    response=ErrorDetailSerializer,
    description="No such object, or it lies outside the caller's scope (the two are not told apart).",
)
PAGE_NOT_FOUND = OpenApiResponse(
    response=ErrorDetailSerializer,
    description="No such page: a cursor this list did not hand out, or a page number past the last.",
)
THROTTLED = OpenApiResponse(
    response=ErrorDetailSerializer,
    description="Too many requests from this user; the Retry-After header says how many seconds to wait.",
)
TOO_LARGE = OpenApiResponse(response=ErrorDetailSerializer, description="The request body is too large.")
UNSUPPORTED_MEDIA = OpenApiResponse(
    response=ErrorDetailSerializer,
    description="The body is not JSON, a form or multipart, or its type cannot be read (a broken multipart).",
)


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField[Any]):
    """A primary key looked up only among the rows the caller may see.

    ``selector`` is a ``<entity>_list(*, user)`` function. An id outside the
    caller's scope is refused exactly like one that does not exist.
    """

    def __init__(self, *, selector: Callable[..., QuerySet[Any]], **kwargs: Any) -> None:
        self.selector = selector
        # Names the model for the schema without matching any row; lookups use get_queryset().
        kwargs.setdefault("queryset", selector(user=None))
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        return self.selector(user=getattr(request, "user", None))

    def to_internal_value(self, data: Any) -> Any:
        # REST framework would look up 1.5 as row 1, and pass 2**64 to a database that cannot hold it.
        if parse_id(data) is None:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class IdChoiceFilterField(django_filters.fields.ModelChoiceField):
    """The form field of an id filter in a query string: an id that names no row is invalid, not a 500."""

    def to_python(self, value: Any) -> Any:
        if value not in self.empty_values and value != self.null_value and parse_id(value) is None:
            raise DjangoValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class IdChoiceFilter(django_filters.rest_framework.ModelChoiceFilter):
    """``?engagement=<id>`` among the rows the queryset callable allows; malformed ids answer 400."""

    field_class = IdChoiceFilterField


class ChoiceLabelField(serializers.CharField):
    """The label of one of the model's choice fields, as ``get_<field>_display()`` gives it.

    Read from the field's choices directly: a ``source="get_<field>_display"``
    makes REST framework inspect the method's signature on every row, which
    was a fifth of a long list's time.
    """

    def __init__(self, choice_field: str, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)
        self.choice_field = choice_field
        self._labels: dict[Any, str] | None = None

    def to_representation(self, value: Any) -> Any:
        if self._labels is None:
            field = value._meta.get_field(self.choice_field)
            self._labels = {choice: str(label) for choice, label in field.flatchoices}
        raw = getattr(value, self.choice_field)
        if raw in self._labels:
            return self._labels[raw]
        return None if raw is None else str(raw)


class DateTimeOutField(serializers.DateTimeField):
    """REST framework's date-time field, reading the active time zone once per serializer.

    The stock field looks the zone up for every value it writes; a page of 50
    rows with five moments each did so 250 times, a tenth of its time.
    Serializer fields are copied for each serializer instance, so the zone read
    is the one active for the request being answered.
    """

    _active_zone: Any

    def default_timezone(self) -> Any:
        try:
            return self._active_zone
        except AttributeError:
            self._active_zone = super().default_timezone()
            return self._active_zone


class SharedModelSerializer(serializers.ModelSerializer[_MT]):
    """The API shape of a model; to a client user, only its fields that pmaas.sharing shares.

    Every model serializer of the API derives from this, nested ones too, so a
    field added later is absent for client users until the policy shares it.
    """

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: DateTimeOutField,
    }

    def _for_client(self) -> bool:
        request = self.context.get("request")
        return is_client_user(getattr(request, "user", None))

    def _model_label(self) -> str:
        model: type[Model] = self.Meta.model
        return model._meta.label

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        if not self._for_client():
            return fields
        label = self._model_label()
        return {name: field for name, field in fields.items() if client_sees_field(label, name)}

    def to_representation(self, instance: _MT) -> Any:
        data = super().to_representation(instance)
        if self._for_client():
            label = self._model_label()
            for name in [name for name in data if not client_sees_field(label, name, instance)]:
                del data[name]
        return data


def _shared_serializers() -> list[type[SharedModelSerializer[Any]]]:
    found: list[type[SharedModelSerializer[Any]]] = []
    pending: list[type[SharedModelSerializer[Any]]] = list(SharedModelSerializer.__subclasses__())
    while pending:
        serializer = pending.pop()
        found.append(serializer)
        pending.extend(serializer.__subclasses__())
    return found


def client_fields_optional(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A drf-spectacular post-processing hook: fields kept from client users are not required.

    The schema describes one shape per resource; a client user's responses leave
    out what pmaas/sharing.py does not share with clients, so those fields are
    declared optional and say so.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for serializer in _shared_serializers():
        component = schemas.get(serializer.__name__.removesuffix("Serializer"))
        if component is None:
            continue
        model: type[Model] = serializer.Meta.model
        label = model._meta.label
        share = client_share(label)
        hidden = {
            name
            for name in component.get("properties", {})
            if not client_sees_field(label, name) or name in share.only_when
        }
        if not hidden:
            continue
        component["required"] = [name for name in component.get("required", []) if name not in hidden]
        if not component["required"]:
            del component["required"]
        for name in hidden:
            prop = component["properties"][name]
            note = "Absent for client users."
            if name in share.only_when:
                note = f"Absent for client users unless {share.only_when[name]} is true."
            prop["description"] = f"{prop.get('description', '')}\n\n{note}".strip()
    return result
