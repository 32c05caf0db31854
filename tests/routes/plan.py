"""Routes of an engagement's communication plan, timeline (and correcting its check-ins) and follow-ups."""

from tests.route_kinds import Entry, ObjectRoute

ROUTES: dict[str, Entry] = {
    "engagement_plan": ObjectRoute("engagement", section="communications.Channel"),
    "channel_create": ObjectRoute("engagement", section="communications.Channel"),
    "channel_edit": ObjectRoute("channel"),
    "channel_pause": ObjectRoute("channel", method="post"),
    # The brief before the channel's next meeting: firm-internal (engagement levels), like the plan.
    "channel_brief": ObjectRoute("channel"),
    "engagement_timeline": ObjectRoute("engagement"),
    "engagement_follow_ups": ObjectRoute("engagement"),
    "follow_up_bulk_complete": ObjectRoute("engagement", method="post"),
    "follow_up_complete": ObjectRoute("follow_up", method="post"),
    "follow_up_redate": ObjectRoute("follow_up"),
    "follow_up_detail": ObjectRoute("follow_up"),
    "follow_up_comment": ObjectRoute("follow_up", method="post", data=(("body", "Noted."),)),
    "follow_up_create": ObjectRoute("engagement"),
    # The forms; the writes are the role matrix's concern (tests/test_role_matrix.py).
    "check_in_edit": ObjectRoute("check_in"),
    "check_in_delete": ObjectRoute("check_in"),
    # Earlier versions are the team's record: a client user never reaches them.
    "check_in_history": ObjectRoute("check_in", section="communications.CheckInRevision"),
}
