"""IANA time zone names: the validator every time zone field uses, and the list forms offer."""

import zoneinfo
from functools import cache
from importlib import resources

from django.core.exceptions import ValidationError


@cache
def available_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in available_time_zones():
        raise ValidationError(
            "%(value)s is not a known time zone; use an IANA name such as Europe/Berlin.",
            code="invalid_time_zone",
            params={"value": value},
        )


# Old aliases of canonical names ("US/Eastern" is America/New_York), fixed offsets (Etc/GMT+5)
# and the files a system's zone database keeps beside the zones: valid to store, clutter in a
# list people choose from. Used only where the zone table below cannot be read.
_ALIAS_AREAS = frozenset({"Brazil", "Canada", "Chile", "Etc", "Mexico", "US", "SystemV", "posix", "right"})


def _zone_table() -> str | None:
    """The tzdata package's zone.tab, or None where it is not installed or no longer ships one."""
    try:
        return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return None


@cache
def chosen_time_zones() -> tuple[str, ...]:
    """The zones a form offers: UTC and the places of the zone table, without aliases.

    zone.tab lists each country's own places, the list the time zone database
    keeps for people to choose from: Europe/Oslo is there although the
    database now makes it a link to Europe/Berlin, while backward names
    (Asia/Calcutta, Europe/Kiev), regional aliases (US/Eastern, GB) and fixed
    offsets (Etc/GMT+5) are not. Where the table cannot be read, the names
    are filtered instead: ``Area/Location`` names outside the alias areas.
    """
    table = _zone_table()
    if table is None:
        places = {
            name
            for name in available_time_zones()
            if "/" in name and name.split("/", 1)[0] not in _ALIAS_AREAS
        }
    else:
        rows = (line.split("\t") for line in table.splitlines() if line and not line.startswith("#"))
        places = {row[2] for row in rows if len(row) > 2} & available_time_zones()
    return ("UTC", *sorted(places))


# Names the database spells without the marks a reader expects.
_PLACE_NAMES = {
    "DumontDUrville": "Dumont d'Urville",
    "Lower_Princes": "Lower Prince's Quarter",
    "St_Johns": "St John's",
}
# Regions named by one word where a person says two.
_REGION_NAMES = {"Indian": "Indian Ocean", "Atlantic": "Atlantic Ocean", "Pacific": "Pacific Ocean"}


def _place_name(part: str) -> str:
    return _PLACE_NAMES.get(part, part.replace("_", " "))


def time_zone_label(name: str) -> str:
    """How a zone reads within its region: "America/Argentina/Buenos_Aires" is "Argentina / Buenos Aires"."""
    return " / ".join(_place_name(part) for part in name.split("/")[1:]) or name


def time_zone_place(name: str) -> str:
    """The place a zone is named after: "Europe/Berlin" is "Berlin", "America/St_Johns" "St John's"."""
    return _place_name(name.rsplit("/", 1)[-1])


def time_zone_region_label(region: str) -> str:
    """ "Indian" reads "Indian Ocean"; other regions as they are."""
    return _REGION_NAMES.get(region, region)


TimeZoneChoices = tuple[tuple[str, str] | tuple[str, tuple[tuple[str, str], ...]], ...]


@cache
def time_zone_choices() -> TimeZoneChoices:
    """UTC, then a group per region (Africa, America, Asia, Europe, ...) of its places, by name."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in chosen_time_zones():
        if "/" in name:
            groups.setdefault(name.split("/", 1)[0], []).append((name, time_zone_label(name)))
    by_name = {
        time_zone_region_label(region): tuple(sorted(places, key=lambda place: place[1]))
        for region, places in groups.items()
    }
    return (("UTC", "UTC"), *sorted(by_name.items()))
