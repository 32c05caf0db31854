"""The API's renderers: JSON, and REST framework's HTML view under the site's CSP.

A module of its own because REST framework loads the classes named in its
settings while its views module is still being imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from csp.constants import UNSAFE_INLINE
from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """REST framework's HTML view of the API, whose templates carry style attributes.

    Its pages alone widen style-src (the CSP middleware reads ``_csp_update``
    from the response); scripts stay our own files.
    """

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> Any:
        response = (renderer_context or {}).get("response")
        if response is not None:
            response._csp_update = {"style-src": [UNSAFE_INLINE]}
        return super().render(data, accepted_media_type, renderer_context)

    def get_filter_form(self, data: Any, view: Any, request: Any) -> Any:
        # A view without filter backends has no filter form, and may have no queryset to build one
        # from (compliance sums its groups itself): REST framework would ask for one and fail.
        if not getattr(view, "filter_backends", None):
            return None
        return super().get_filter_form(data, view, request)
