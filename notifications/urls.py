from django.urls import path

from notifications.views import notification_list, notification_preferences

urlpatterns = [
    path("notifications/", notification_list, name="notification_list"),
    path("account/notifications/", notification_preferences, name="notification_preferences"),
]
