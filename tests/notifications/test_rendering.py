"""Mail content: plain parts read as typed, the HTML part escapes."""

from __future__ import annotations

from notifications.rendering import email_render


def test_the_subject_and_text_read_as_typed_while_the_html_escapes() -> None:
    # Given an at-once mail of an escalation whose title has an apostrophe, an ampersand and markup
    message = '"Share the department\'s R&D plan <b>now</b>" on ERP-S4 is escalated to you.'

    # When the mail is rendered
    rendered = email_render(
        template="communications/email/at_once",
        context={
            "escalated": [{"message": message, "url": "/engagements/1/follow-ups/"}],
            "summary": "1 escalated to you, R&D's <b>",
            "recipient": {"username": "daniel"},
        },
        time_zone="Europe/Berlin",
    )

    # Then the subject and the text say it as typed, and the HTML shows the markup as text
    assert rendered.subject == "Just now: 1 escalated to you, R&D's <b>"
    assert "department's R&D plan <b>now</b>" in rendered.text
    assert "&#x27;" not in rendered.subject + rendered.text
    assert "&lt;b&gt;now&lt;/b&gt;" in rendered.html
