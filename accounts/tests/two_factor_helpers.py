"""Helpers for two-factor tests: turn it on for a person and compute their current code, the
way an authenticator app does (RFC 6238, through django-otp's own TOTP)."""

from __future__ import annotations

import time

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.two_factor import two_factor_setup_confirm, two_factor_setup_start
from tenants.context import user_context


def totp_code(key_hex: str, *, at: float | None = None) -> str:
    totp = TOTP(bytes.fromhex(key_hex), 30, 0, 6)
    totp.time = at if at is not None else time.time()
    return f"{totp.token():06d}"


def enable_two_factor(user) -> tuple[str, list[str]]:
    """Turn two-factor sign-in on for `user`; answers the secret (hex) and the recovery codes."""
    device = two_factor_setup_start(user=user)
    codes = two_factor_setup_confirm(user=user, code=totp_code(device.key))
    return device.key, codes


def fresh_code(user) -> str:
    """A code the device accepts now. django-otp accepts each time step once, so tests that
    sign in several times within 30 seconds forget the last accepted step first."""
    with user_context(user):
        device = TOTPDevice.objects.get(user_id=user.pk, confirmed=True)
        TOTPDevice.objects.filter(pk=device.pk).update(
            last_t=-1, throttling_failure_count=0, throttling_failure_timestamp=None
        )
    return totp_code(device.key)


def wrong_code(user) -> str:
    code = fresh_code(user)
    return f"{(int(code) + 1) % 1_000_000:06d}"
