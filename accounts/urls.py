from django.urls import path

from accounts import views

urlpatterns = [
    path("account/settings/", views.account_settings, name="account_settings"),
    path("account/email/confirm/<str:token>/", views.email_change_confirm, name="email_change_confirm"),
]
