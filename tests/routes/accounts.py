"""Routes of a user's own settings."""

from tests.route_kinds import Entry, LoggedIn

ROUTES: dict[str, Entry] = {
    "account_settings": LoggedIn(),
}
