"""Routes of the engagement pages: list, overview, health, milestones, change requests."""

from tests.route_kinds import Entry, LoggedIn, ObjectRoute

ROUTES: dict[str, Entry] = {
    "engagement_list": LoggedIn(),
    "engagement_detail": ObjectRoute("engagement"),
}
