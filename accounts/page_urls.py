"""Account and team pages. The e-mailed links (`/verify-email/<token>/`, `/invite/<token>/`,
`/reset/<uid>/<token>/`) are built in accounts/services.py and must keep these paths."""

from __future__ import annotations

from django.urls import path

from accounts import two_factor_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/two-factor/", two_factor_views.login_code, name="login-two-factor"),
    path("login/two-factor/setup/", two_factor_views.login_setup, name="login-two-factor-setup"),
    path("logout/", views.logout_view, name="log-out"),
    path("account/", views.account, name="account"),
    path("account/two-factor/", two_factor_views.account_two_factor, name="account-two-factor"),
    path("password-reset/", views.password_reset_request, name="forgot-password"),
    path("password-reset/sent/", views.password_reset_sent, name="forgot-password-sent"),
    path("reset/<str:uid>/<str:token>/", views.password_reset_confirm, name="reset-password"),
    path("verify-email/resend/", views.verify_email_resend, name="resend-verification"),
    path("verify-email/<str:token>/", views.verify_email, name="verify-email-link"),
    path("clinics/", views.choose_clinic, name="choose-clinic"),
    path("clinics/switch/", views.switch_clinic, name="switch-clinic"),
]
