"""Routes of the notifications under the bell and the notification preferences, pages and API."""

from tests.route_kinds import Entry, LoggedIn, PersonalRoute

ROUTES: dict[str, Entry] = {
    # Marking read and opening post to the list page itself, naming the notification in the body;
    # their 404 outside the recipient is tested in tests/communications/test_views_notifications.py.
    "notification_list": LoggedIn(),
    "notification_preferences": LoggedIn(),
    "v1:notification-list": LoggedIn(),
    "v1:notification-detail": PersonalRoute(),
    "v1:notification-read": PersonalRoute(method="post"),
    "v1:notification-read-all": PersonalRoute(method="post", detail=False),
    "v1:notification-preference-me": LoggedIn(),
}
