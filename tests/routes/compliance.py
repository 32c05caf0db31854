"""Routes of cadence compliance: the portfolio page and the API report."""

from tests.route_kinds import Entry, LoggedIn

ROUTES: dict[str, Entry] = {
    "compliance_portfolio": LoggedIn(section="communications.Occurrence"),
    "v1:compliance-list": LoggedIn(section="communications.Occurrence"),
}
