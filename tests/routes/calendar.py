"""Routes of calendar feeds: the secret .ics URL and the page that opens and revokes feeds."""

from tests.route_kinds import Entry, LoggedIn, OwnRoute, TokenRoute

ROUTES: dict[str, Entry] = {
    "calendar_feed": TokenRoute(),
    "calendar_feeds": LoggedIn(section="communications.Channel"),
    "calendar_feed_revoke": OwnRoute(),
}
