"""Routes of the stakeholder pages: the register, grid and matrix; a person's page; their edits."""

from tests.route_kinds import Entry, ObjectRoute

ROUTES: dict[str, Entry] = {
    "engagement_stakeholders": ObjectRoute("engagement"),
    # An empty form: answered with field errors (or 403), never a change.
    "stakeholder_role_create": ObjectRoute("engagement", method="post"),
    "stakeholder_role_edit": ObjectRoute("role", method="post"),
    "stakeholder_role_row": ObjectRoute("role"),
    # The world's roles have an active channel and an open follow-up, so removal is refused.
    "stakeholder_role_remove": ObjectRoute("role", method="post"),
    "stakeholder_detail": ObjectRoute("stakeholder"),
    "stakeholder_edit": ObjectRoute("stakeholder", method="post"),
}
