"""What every page's template needs from the project: which fields the viewer may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from pmaas.sharing import Shown


def sharing(request: HttpRequest) -> dict[str, Any]:
    """``shown.<model>.<field>``: false for what the client-visibility policy keeps from this viewer."""
    return {"shown": Shown(getattr(request, "user", None))}
