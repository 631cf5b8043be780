"""The earlier mobile clients' sign-in endpoints (clinics.compat), under /api/v1/auth/ next
to the project's own; listed before them, so `logout` takes the earlier body too."""

from __future__ import annotations

from django.urls import re_path

from clinics import compat

urlpatterns = [
    re_path(r"^login/?$", compat.LoginView.as_view(), name="compat-login"),
    re_path(r"^refresh/?$", compat.RefreshView.as_view(), name="compat-refresh"),
    re_path(r"^logout/?$", compat.CompatLogoutView.as_view(), name="compat-logout"),
]
