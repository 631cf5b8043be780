"""Reads of the tenancy kernel that no clinic context can make (see `clinics.selectors` for a
clinic's usage and limits)."""

from __future__ import annotations

from tenants.models import Tenant
from tenants.platform import platform_access


def tenant_by_code(code: str, *, reason: str, action: str = "platform.command", details=None):
    """Find a clinic by its code. Codes are only unique across clinics, which the runtime role
    cannot see, so the look-up itself is audited platform access; None when there is none."""
    code = (code or "").strip().lower()
    if not code:
        return None
    with platform_access(reason=reason, action=action, details={"code": code, **(details or {})}):
        return Tenant.objects.filter(code=code).first()
