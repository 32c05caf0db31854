"""Routes of the firm's dashboards: the portfolio, who needs attention, the consultants; My week's own URL."""

from tests.route_kinds import Entry, FirmWide, LoggedIn

ROUTES: dict[str, Entry] = {
    "my_week": LoggedIn(),
    # Compliance, sentiment and health factors per engagement are the firm's own (pmaas/sharing.py).
    "portfolio": LoggedIn(section="communications.Occurrence"),
    # Silence flags, engagement levels and overdue obligations are never shared with clients.
    "attention": LoggedIn(section="communications.SilenceFlag"),
    "consultants": FirmWide(),
}
