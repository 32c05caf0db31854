"""The select that id choice fields draw offers what Django's own would, in the same markup."""

from __future__ import annotations

from html.parser import HTMLParser

from django import forms

from pmaas.forms import FastSelect

CHOICES = [
    ("", "Choose an engagement"),
    (1, "EHR-A · Hospital <rollout> & training"),
    ("Contoso", [(2, "ERP-B · Finance"), (3, "DATA-B · Warehouse")]),
]


class _Outline(HTMLParser):
    """Each element's name and attributes, and each option's text, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, tuple[tuple[str, str | None], ...]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.items.append((tag, tuple(sorted(attrs))))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(data.strip())


def _outline(html: str) -> tuple[list[tuple[str, tuple[tuple[str, str | None], ...]]], list[str]]:
    parser = _Outline()
    parser.feed(html)
    return parser.items, parser.texts


def test_it_draws_the_options_groups_choice_and_attributes_of_djangos_select() -> None:
    attrs = {"id": "id_engagement", "required": True, "aria-describedby": "id_engagement_helptext"}
    for value in (None, "", "1", 2):
        ours = FastSelect(choices=CHOICES).render("engagement", value, attrs=attrs)
        django = forms.Select(choices=CHOICES).render("engagement", value, attrs=attrs)
        assert _outline(ours) == _outline(django)


def test_labels_are_escaped() -> None:
    html = FastSelect(choices=CHOICES).render("engagement", None)
    assert "Hospital &lt;rollout&gt; &amp; training" in html
    assert "<rollout>" not in html
