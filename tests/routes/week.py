"""Routes of the consultant's week, check-in logging and search."""

from tests.route_kinds import Entry, LoggedIn, ObjectRoute

ROUTES: dict[str, Entry] = {
    "home": LoggedIn(),
    "check_in_create": LoggedIn(),
    "check_in_attendee_options": ObjectRoute("engagement"),
    "search": LoggedIn(),
}
