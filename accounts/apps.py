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

        # People are under row-level security: `last_login` is written in the person's own
        # context. Connected under Django's own dispatch_uid before django.contrib.auth is
        # ready (this app comes first in INSTALLED_APPS), so Django's receiver, which would
        # write it in the login page's empty context, is never connected.
        from django.contrib.auth.signals import user_logged_in

        from accounts.authentication import update_last_login

        user_logged_in.connect(update_last_login, dispatch_uid="update_last_login")
