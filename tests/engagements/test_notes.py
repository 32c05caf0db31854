from __future__ import annotations

from engagements.templatetags.notes import render_notes


def test_a_script_in_a_summary_shows_as_text_and_never_runs():
    # Given a summary with a script tag and an inline handler
    html = render_notes('Agreed scope <script>alert("x")</script> <img src=x onerror=alert(1)>')

    # Then the markup is escaped text, not elements
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html


def test_limited_markdown_renders_emphasis_lists_and_safe_links():
    html = render_notes("**Go-live** moved\n\n- budget\n- scope\n\n[plan](https://example.org/plan)")

    assert "<strong>Go-live</strong>" in html
    assert "<li>budget</li>" in html
    assert 'href="https://example.org/plan"' in html
    assert "noopener" in html


def test_javascript_links_never_become_links():
    html = render_notes("[click](javascript:alert(1)) <a href='javascript:alert(2)'>x</a>")

    assert "<a" not in html


def test_empty_notes_render_nothing():
    assert render_notes("") == ""
    assert render_notes(None) == ""
