"""Routes of the trend pages and cadence heat maps, and their CSV exports: firm-only."""

from tests.route_kinds import Entry, LoggedIn

ROUTES: dict[str, Entry] = {
    "trends": LoggedIn(section="communications.WeeklyRollup"),
    "trends_export": LoggedIn(section="communications.WeeklyRollup"),
    "cadence_heat_map": LoggedIn(section="communications.WeeklyRollup"),
    "cadence_heat_map_export": LoggedIn(section="communications.WeeklyRollup"),
}
