"""The time zone list forms offer: places grouped by region; an alias saved before stays accepted."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from django import forms

from pmaas import timezones
from pmaas.forms import TimeZoneField


class _Select(HTMLParser):
    """Each option's value, label, group and whether it is selected, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict[str, str | bool | None]] = []
        self._group: str | None = None
        self._in_option = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "optgroup":
            self._group = named["label"]
        elif tag == "option":
            self.options.append(
                {"value": named["value"], "group": self._group, "selected": "selected" in named, "label": ""}
            )
            self._in_option = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "optgroup":
            self._group = None
        elif tag == "option":
            self._in_option = False

    def handle_data(self, data: str) -> None:
        if self._in_option:
            self.options[-1]["label"] = str(self.options[-1]["label"]) + data


class _Form(forms.Form):
    time_zone = TimeZoneField(label="Time zone")


def _options(form: forms.Form) -> list[dict[str, str | bool | None]]:
    parser = _Select()
    parser.feed(str(form["time_zone"]))
    return parser.options


def _by_value(form: forms.Form) -> dict[str, dict[str, str | bool | None]]:
    return {str(option["value"]): option for option in _options(form)}


def test_the_list_offers_utc_then_places_grouped_by_region_with_readable_names():
    options = _options(_Form())
    by_value = {option["value"]: option for option in options}

    assert options[0] == {"value": "UTC", "group": None, "selected": False, "label": "UTC"}
    groups = list(dict.fromkeys(option["group"] for option in options[1:]))
    assert groups[:3] == ["Africa", "America", "Antarctica"]
    assert {"Asia", "Europe", "Indian Ocean", "Pacific Ocean"} <= set(groups)
    assert by_value["America/New_York"] == {
        "value": "America/New_York",
        "group": "America",
        "selected": False,
        "label": "New York",
    }
    assert by_value["America/Argentina/Buenos_Aires"]["label"] == "Argentina / Buenos Aires"
    # Places the database spells without their marks read as people write them
    assert by_value["Antarctica/DumontDUrville"]["label"] == "Dumont d'Urville"
    assert by_value["America/St_Johns"]["label"] == "St John's"
    europe = [str(option["label"]) for option in options if option["group"] == "Europe"]
    assert europe == sorted(europe) and "Berlin" in europe


def test_the_list_leaves_out_aliases_old_names_and_fixed_offsets_but_keeps_each_countrys_places():
    offered = set(_by_value(_Form()))

    assert not offered & {"US/Eastern", "Etc/GMT+5", "GB", "Japan", "Asia/Calcutta", "Europe/Kiev", "Factory"}
    # Oslo is the database's link to Berlin now, yet a Norwegian looks for Oslo.
    assert {"Europe/Kyiv", "Asia/Kolkata", "Europe/Oslo", "Europe/Berlin"} <= offered
    assert len(offered) < 450


def test_a_saved_alias_shows_selected_and_is_accepted_again():
    # Given a person whose zone was saved as an alias before the list left aliases out
    unbound = _Form(initial={"time_zone": "US/Eastern"})

    # Then their form shows it chosen, the one option selected, first in the list
    options = _options(unbound)
    assert options[0] == {"value": "US/Eastern", "group": None, "selected": True, "label": "US/Eastern"}
    assert [option["value"] for option in options if option["selected"]] == ["US/Eastern"]

    # And saving the form again keeps it
    bound = _Form(data={"time_zone": "US/Eastern"})
    assert bound.is_valid(), bound.errors
    assert bound.cleaned_data["time_zone"] == "US/Eastern"
    assert [option["value"] for option in _options(bound) if option["selected"]] == ["US/Eastern"]


def test_a_place_in_the_list_is_selected_in_its_group_and_not_repeated():
    options = _options(_Form(initial={"time_zone": "Europe/Lisbon"}))

    chosen = [option for option in options if option["selected"]]
    assert chosen == [{"value": "Europe/Lisbon", "group": "Europe", "selected": True, "label": "Lisbon"}]
    assert [option["value"] for option in options].count("Europe/Lisbon") == 1


def test_a_name_the_zone_database_does_not_know_is_refused_and_not_offered():
    form = _Form(data={"time_zone": "Europe/Atlantis"})

    assert not form.is_valid()
    assert "Select a valid choice" in str(form.errors["time_zone"])
    assert "Europe/Atlantis" not in _by_value(form)
    assert not any(option["selected"] for option in _options(form))


@pytest.fixture
def without_the_zone_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(timezones, "_zone_table", lambda: None)
    timezones.chosen_time_zones.cache_clear()
    timezones.time_zone_choices.cache_clear()
    yield
    timezones.chosen_time_zones.cache_clear()
    timezones.time_zone_choices.cache_clear()


def test_without_the_zone_table_the_names_are_filtered_to_places(without_the_zone_table: None):
    offered = set(_by_value(_Form()))

    assert {"UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"} <= offered
    assert not offered & {"US/Eastern", "Etc/GMT+5", "GB", "Japan", "Canada/Pacific", "Factory"}


def test_a_zones_place_is_spelled_as_in_the_list():
    assert timezones.time_zone_place("Europe/Berlin") == "Berlin"
    assert timezones.time_zone_place("America/Argentina/Buenos_Aires") == "Buenos Aires"
    assert timezones.time_zone_place("America/St_Johns") == "St John's"
