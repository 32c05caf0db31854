"""Render what people type (summaries, decisions, notes) as limited, safe Markdown."""

from __future__ import annotations

import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# "js-default" escapes raw HTML instead of passing it through; nh3 then keeps
# only the tags limited Markdown produces, so a <script> shows as text.
_markdown = MarkdownIt("js-default", {"linkify": False, "typographer": False, "breaks": True}).disable(
    ["image", "table"]
)
_ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "code", "pre", "blockquote", "a", "h3", "h4"}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


@register.filter(name="notes")
def render_notes(text: str | None) -> SafeString:
    if not text:
        return mark_safe("")  # noqa: S308 - an empty string
    html = _markdown.render(text)
    cleaned = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(cleaned)  # noqa: S308 - sanitised by nh3 just above
