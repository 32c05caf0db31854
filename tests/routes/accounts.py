"""Routes of a user's own settings."""

from tests.route_kinds import Entry, LoggedIn, SignedLinkRoute

ROUTES: dict[str, Entry] = {
    "account_settings": LoggedIn(),
    "account_password": LoggedIn(),
    # Ending a session posts its id here; someone else's answers 404 (tests/accounts/test_sessions.py).
    "account_sessions": LoggedIn(),
    "email_change_confirm": SignedLinkRoute(),
}
