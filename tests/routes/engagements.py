"""Routes of the engagement pages: list, overview, health, milestones, change requests, obligations, team."""

from tests.route_kinds import Entry, LoggedIn, ObjectRoute

ROUTES: dict[str, Entry] = {
    "engagement_list": LoggedIn(),
    "engagement_detail": ObjectRoute("engagement"),
    "engagement_health": ObjectRoute("engagement", method="post", data=(("health", ""),)),
    "engagement_changes": ObjectRoute("engagement"),
    "milestone_create": ObjectRoute("engagement"),
    "milestone_edit": ObjectRoute("milestone"),
    "milestone_complete": ObjectRoute("milestone", method="post"),
    "change_request_create": ObjectRoute("engagement"),
    "change_request_edit": ObjectRoute("change_request"),
    "change_request_decide": ObjectRoute("change_request"),
    "engagement_obligations": ObjectRoute("engagement", section="communications.CommunicationObligation"),
    "obligation_waive": ObjectRoute("obligation", method="post", data=(("reason", "Told in the corridor"),)),
    "obligation_add": ObjectRoute(
        "change_request", method="post", section="communications.CommunicationObligation"
    ),
    "engagement_team": ObjectRoute("engagement"),
    "client_settings": ObjectRoute("client"),
    "team_member_add": ObjectRoute("engagement", method="post"),
    # The world's memberships are its leads': making them lead again changes nothing.
    "membership_make_lead": ObjectRoute("membership", method="post"),
    "membership_remove": ObjectRoute("membership"),
}
