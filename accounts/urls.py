from __future__ import annotations

from django.urls import re_path

from accounts import api

urlpatterns = [
    re_path(r"^token/?$", api.TokenObtainView.as_view(), name="token"),
    re_path(r"^token/refresh/?$", api.TokenRefreshView.as_view(), name="token-refresh"),
    re_path(r"^logout/?$", api.LogoutView.as_view(), name="logout"),
    re_path(r"^me/?$", api.MeView.as_view(), name="auth-me"),
    re_path(r"^switch-tenant/?$", api.SwitchClinicView.as_view(), name="switch-tenant"),
    re_path(r"^change-password/?$", api.ChangePasswordView.as_view(), name="change-password"),
    re_path(r"^password-reset/?$", api.PasswordResetView.as_view(), name="password-reset"),
    re_path(
        r"^password-reset/confirm/?$",
        api.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    re_path(r"^verify-email/?$", api.VerifyEmailView.as_view(), name="verify-email"),
    re_path(r"^verify-email/resend/?$", api.ResendVerificationView.as_view(), name="verify-resend"),
]
