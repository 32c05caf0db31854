"""REST framework plumbing shared by every app's API.

The router, paging, error translation, the documented error
responses, the relation field and filter that look ids up only within the
caller's scope (and refuse ids that name no row), and the model serializer
that shows a client user only the fields shared with clients.
"""

from collections.abc import Callable
from typing import Any, TypeVar

import django_filters.fields
import django_filters.rest_framework
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, routers, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
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


class Pagination(PageNumberPagination):
    """Pages of 50 by default; ``page_size`` from 1 to 200, anything else is refused with 400.

    A page past the last answers 404, as REST framework does.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        # Digits only: int() would also take " 5", "+5" and "٥".
        if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise exceptions.ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

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
    response=ErrorDetailSerializer, description="No such page: past the last one."
)
THROTTLED = OpenApiResponse(
    response=ErrorDetailSerializer,
    description="Too many requests from this user; the Retry-After header says how many seconds to wait.",
)
TOO_LARGE = OpenApiResponse(response=ErrorDetailSerializer, description="The request body is too large.")


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


class SharedModelSerializer(serializers.ModelSerializer[_MT]):
    """The API shape of a model; to a client user, only its fields that pmaas.sharing shares.

    Every model serializer of the API derives from this, nested ones too, so a
    field added later is absent for client users until the policy shares it.
    """

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
