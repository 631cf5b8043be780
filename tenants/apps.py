from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Clinics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants import checks, pooling  # noqa: F401  (registers the system checks)


class ClinicAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the clinic-aware site (tenants.admin_site) as `admin.site`."""

    default = False  # named explicitly in INSTALLED_APPS; "tenants" stays TenantsConfig
    default_site = "tenants.admin_site.ClinicAdminSite"

    # Registered by other apps, of no use to anybody here: groups and per-user permissions
    # are not how access works (tenants.admin_site), and outstanding JWTs and two-factor
    # devices (TOTP secrets) are credentials.
    HIDDEN = (
        "auth.Group",
        "token_blacklist.OutstandingToken",
        "token_blacklist.BlacklistedToken",
        "otp_totp.TOTPDevice",
    )

    def ready(self) -> None:
        super().ready()
        from django.apps import apps
        from django.contrib import admin

        for label in self.HIDDEN:
            try:
                model = apps.get_model(label)
            except LookupError:
                continue
            if admin.site.is_registered(model):
                admin.site.unregister(model)
