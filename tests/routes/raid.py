"""Routes of the RAID log: the tab, its CSV, an item's pages and the API."""

from tests.route_kinds import Entry, ListRoute, ObjectRoute

ROUTES: dict[str, Entry] = {
    "engagement_raid": ObjectRoute("engagement"),
    "engagement_raid_csv": ObjectRoute("engagement"),
    "raid_item_create": ObjectRoute("engagement"),
    "raid_item_detail": ObjectRoute("raid_item"),
    "raid_item_edit": ObjectRoute("raid_item"),
    # The world's items are open risks: closing one is a declared move.
    "raid_item_transition": ObjectRoute("raid_item", method="post", data=(("to_status", "closed"),)),
    "raid_risk_review": ObjectRoute("raid_item", method="post"),
    "raid_assumption_validate": ObjectRoute("raid_item", method="post"),
    "raid_issue_to_change_request": ObjectRoute("raid_item", method="post"),
    "v1:raid-item-list": ListRoute("raid_item"),
    "v1:raid-item-detail": ObjectRoute("raid_item"),
    "v1:raid-item-transition": ObjectRoute("raid_item", method="post", data=(("to_status", "closed"),)),
    # Without a body each is refused (400) inside the scope; the writes are the role matrix's concern.
    "v1:raid-item-review": ObjectRoute("raid_item", method="post"),
    "v1:raid-item-validate": ObjectRoute("raid_item", method="post"),
    "v1:raid-item-change-request": ObjectRoute("raid_item", method="post"),
}
