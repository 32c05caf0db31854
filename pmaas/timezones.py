"""IANA time zone names: the validator every time zone field uses."""

import zoneinfo
from functools import cache

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


# Old aliases of canonical names ("US/Eastern" is America/New_York) and the files a system's
# zone database keeps beside the zones: valid to store, clutter in a list people choose from.
_ALIAS_AREAS = frozenset({"Brazil", "Canada", "Chile", "Mexico", "US", "SystemV", "posix", "right"})


@cache
def chosen_time_zones() -> tuple[str, ...]:
    """The zones a form offers: every ``Area/Location`` name and UTC, without aliases or "localtime"."""
    return tuple(
        sorted(
            name
            for name in available_time_zones()
            if name == "UTC" or ("/" in name and name.split("/", 1)[0] not in _ALIAS_AREAS)
        )
    )


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in chosen_time_zones()]
