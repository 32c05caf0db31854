"""Routes of a user's own settings."""

from tests.route_kinds import Entry, LoggedIn, SignedLinkRoute

ROUTES: dict[str, Entry] = {
    "account_settings": LoggedIn(),
    "email_change_confirm": SignedLinkRoute(),
}
