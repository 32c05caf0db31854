"""How the API reads a JSON body: REST framework's parser, bounded in how deeply the body may nest.

A module of its own because REST framework imports it while loading its
settings, before the rest of pmaas.api can be imported.
"""

from typing import Any

from rest_framework import exceptions, parsers

# No body the API takes nests deeper than a check-in's follow-ups (three levels);
# Python's parser fails with a RecursionError somewhere near a thousand.
MAX_JSON_DEPTH = 32


def _json_depth(data: Any) -> int:
    """How deeply ``data`` nests lists and objects, counted without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    """REST framework's JSON parser, answering 400 for JSON nested deeper than MAX_JSON_DEPTH."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        too_deep = exceptions.ParseError(f"JSON parse error - nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _json_depth(data) > MAX_JSON_DEPTH:
            raise too_deep
        return data
