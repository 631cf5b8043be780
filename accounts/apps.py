from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        # django-otp's device table holds every person's TOTP secret. Our migration puts it
        # under the "personal" row-level security (accounts/migrations/0003_two_factor.py);
        # declaring the kind here makes check_rls verify it like our own tables, and makes
        # the admin treat it as platform-only.
        TOTPDevice.rls_kind = "personal"
