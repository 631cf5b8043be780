from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class ClinicsConfig(AppConfig):
    """The clinic as a customer and the platform's operations. No models: it composes the
    tenancy kernel, people and clinical records (docs/architecture.md)."""

    name = "clinics"
    verbose_name = "Clinic operations"


class ClinicAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the clinic-aware site (clinics.admin_site) as `admin.site`."""

    default = False  # named explicitly in INSTALLED_APPS; "clinics" stays ClinicsConfig
    default_site = "clinics.admin_site.ClinicAdminSite"

    # Registered by other apps, of no use to anybody here: groups and per-user permissions
    # are not how access works (clinics.admin_site), and outstanding JWTs and two-factor
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
