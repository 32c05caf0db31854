"""Routes of sponsor silence: the read-only API of flags raised by the silence sweep."""

from tests.route_kinds import Entry, ListRoute, ObjectRoute

ROUTES: dict[str, Entry] = {
    "v1:silence-flag-list": ListRoute("silence_flag"),
    "v1:silence-flag-detail": ObjectRoute("silence_flag"),
}
