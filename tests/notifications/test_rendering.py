"""Mail content: plain parts read as typed, the HTML part escapes."""

from __future__ import annotations

from notifications.rendering import email_render


def test_the_subject_and_text_read_as_typed_while_the_html_escapes() -> None:
    # Given an escalation about an item whose title has an apostrophe, an ampersand and markup
    item = {"title": "Share the department's R&D plan <b>now</b>", "engagement": {"code": "ERP-S4"}}

    # When the escalation mail is rendered
    rendered = email_render(
        template="communications/email/escalation",
        context={"item": item, "level_text": "engagement lead", "recipient": {"username": "daniel"}},
        time_zone="Europe/Berlin",
    )

    # Then the subject and the text say it as typed, and the HTML shows the markup as text
    assert rendered.subject == "Escalated: Share the department's R&D plan <b>now</b> (ERP-S4) is overdue"
    assert "department's R&D plan" in rendered.text
    assert "&#x27;" not in rendered.subject + rendered.text
    assert "&lt;b&gt;now&lt;/b&gt;" in rendered.html
