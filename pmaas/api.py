"""REST framework plumbing shared by every app's API.

Paging, error translation, the documented error responses, and the relation
field that looks ids up only within the caller's scope.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pmaas.errors import NotAllowed, NotFound, RuleViolation


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
