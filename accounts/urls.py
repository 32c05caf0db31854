from django.urls import path

from accounts import views

urlpatterns = [
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("account/settings/", views.account_settings, name="account_settings"),
    path("account/password/", views.account_password, name="account_password"),
    path("account/sessions/", views.account_sessions, name="account_sessions"),
    path("account/email/confirm/<str:token>/", views.email_change_confirm, name="email_change_confirm"),
]
