"""The API's OpenAPI schema: the errors each kind of operation may answer, and local times.

A module of its own because REST framework loads the schema class named in
its settings while its views module is still being imported.
"""

from __future__ import annotations

import re
from typing import Any

import django_filters
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse

from pmaas.api import (
    FIELD_ERRORS,
    FORBIDDEN,
    NOT_FOUND,
    PAGE_NOT_FOUND,
    THROTTLED,
    TOO_LARGE,
    UNSUPPORTED_MEDIA,
)

# A time of day as the API writes it (DRF's TimeField: isoformat, no offset).
# JSON Schema's "time" format demands an offset, which a local time has not.
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the errors every operation of its kind may answer.

    A view's own ``extend_schema(responses=...)`` wins for a code it names;
    the rest are added here, so a new endpoint is documented the day it is added.
    """

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code, response in self._errors().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        return responses

    def _errors(self) -> dict[str, OpenApiResponse]:
        errors = {"403": FORBIDDEN, "429": THROTTLED}
        if self.method != "GET":
            # A body or a state the rules refuse.
            errors["400"] = FIELD_ERRORS
        if self.method in ("POST", "PUT", "PATCH"):
            errors["413"] = TOO_LARGE
            errors["415"] = UNSUPPORTED_MEDIA
        if self.method == "GET" and self._is_list_view():
            # A filter naming a row the caller cannot see, or a bad page size; a page past the last.
            errors["400"] = FIELD_ERRORS
            errors["404"] = PAGE_NOT_FOUND
        if re.search(r"{\w+}", self.path):
            errors["404"] = NOT_FOUND
        return errors


def _rewrite(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "string" and node.get("format") == "time":
            del node["format"]
            node["pattern"] = LOCAL_TIME_PATTERN
            node.setdefault("example", "09:30:00")
        for value in node.values():
            _rewrite(value)
    elif isinstance(node, list):
        for value in node:
            _rewrite(value)


def _choice_filters(view: Any) -> set[str]:
    filterset = getattr(getattr(view, "cls", None), "filterset_class", None)
    if filterset is None:
        return set()
    return {
        name
        for name, field in filterset.base_filters.items()
        if isinstance(field, django_filters.ChoiceFilter)
    }


def _empty_choice_documented(result: dict[str, Any], generator: Any) -> None:
    # A list's choice filter left empty (``?kind=``, as a form sends an unchosen select) filters
    # nothing, as an absent one; the schema listed only the choices, so the answer broke it.
    for path, _, method, view in getattr(generator, "endpoints", None) or []:
        names = _choice_filters(view)
        operation = result.get("paths", {}).get(path, {}).get(method.lower(), {})
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter.get("in") == "query" and parameter.get("name") in names and "enum" in schema:
                if "" not in schema["enum"]:
                    schema["enum"].append("")
                parameter["description"] = (
                    parameter.get("description", "") + "\n\nEmpty: every value."
                ).strip()


def postprocess_schema(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Times of day as a pattern (HH:MM[:SS[.ffffff]]), Retry-After on every 429, and the empty value
    of a list's choice filter."""
    _rewrite(result)
    _empty_choice_documented(result, generator)
    for path in result.get("paths", {}).values():
        for operation in path.values():
            throttled = operation.get("responses", {}).get("429")
            if throttled is not None:
                throttled["headers"] = {
                    "Retry-After": {
                        "schema": {"type": "integer", "minimum": 0},
                        "description": "Seconds to wait before the next request.",
                    }
                }
    return result
