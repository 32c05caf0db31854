from django.urls import path

from sponsor_updates import views

urlpatterns = [
    path("engagements/<int:pk>/updates/", views.engagement_updates, name="engagement_updates"),
    path(
        "engagements/<int:pk>/updates/history/",
        views.engagement_update_history,
        name="engagement_update_history",
    ),
    path("engagements/<int:pk>/updates/add/", views.subscription_add, name="subscription_add"),
    path(
        "engagements/<int:pk>/updates/<int:subscription_pk>/edit/",
        views.subscription_edit,
        name="subscription_edit",
    ),
    path(
        "engagements/<int:pk>/updates/<int:subscription_pk>/preview/",
        views.subscription_preview,
        name="subscription_preview",
    ),
    path(
        "engagements/<int:pk>/updates/<int:subscription_pk>/send-now/",
        views.subscription_send_now,
        name="subscription_send_now",
    ),
    path(
        "engagements/<int:pk>/updates/<int:subscription_pk>/summary/",
        views.subscription_summary,
        name="subscription_summary",
    ),
    path(
        "engagements/<int:pk>/updates/deliveries/<int:delivery_pk>/",
        views.delivery_review,
        name="delivery_review",
    ),
    path(
        "engagements/<int:pk>/updates/deliveries/<int:delivery_pk>/approve/",
        views.delivery_approve,
        name="delivery_approve",
    ),
    path("updates/online/<str:token>/", views.sponsor_update_online, name="sponsor_update_online"),
    path(
        "updates/preferences/<str:token>/",
        views.sponsor_update_preferences,
        name="sponsor_update_preferences",
    ),
    path(
        "updates/unsubscribe/<str:token>/",
        views.sponsor_update_unsubscribe,
        name="sponsor_update_unsubscribe",
    ),
    path(
        "updates/acknowledge/<str:token>/",
        views.sponsor_update_acknowledge,
        name="sponsor_update_acknowledge",
    ),
    path("updates/new-link/", views.sponsor_update_new_link, name="sponsor_update_new_link"),
]
