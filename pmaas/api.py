"""REST framework plumbing shared by every app's API.

Paging, error translation, the documented error responses, and the relation
field that looks ids up only within the caller's scope.
"""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from pmaas.errors import RuleViolation


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Services raise Django's ValidationError and RuleViolation; the API answers 400 with field errors."""
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail: Any = exc.message_dict
        else:
            detail = {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, RuleViolation):
        exc = exceptions.ValidationError(detail={"non_field_errors": [str(exc)]})
    return drf_exception_handler(exc, context)


FIELD_ERRORS = OpenApiResponse(
    response={
        "type": "object",
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
    },
    description=(
        "The body is malformed or a rule refuses it. Each key names a field (nested ones as "
        '"follow_ups[0].due_at"; problems with no single field under "non_field_errors") '
        "and maps to its messages."
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
