"""Deliberate, audited cross-clinic access for platform operators and ops commands.

    with platform_access(reason="expire trials (daily job)"):
        Tenant.objects.filter(...)      # every clinic, through the BYPASSRLS role

Inside the block the context is marked `platform`: the router sends queries to the
`platform` database alias and the scoped managers stop filtering. That alias refuses every
statement outside such a block (tenants.backend), and no SQL can switch it on: it is a
separate login, not a setting. Each entry writes an audit event first, committed on its own,
so it stays even when the work inside fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction

from tenants.audit import audit_event_save
from tenants.context import _platform_scope, current
from tenants.routers import PLATFORM_ALIAS


@contextmanager
def platform_access(
    *,
    reason: str,
    actor=None,
    tenant=None,
    action: str = "platform.access",
    ip_address: str | None = None,
    details: dict | None = None,
) -> Iterator[None]:
    if not reason or not reason.strip():
        raise ValueError("platform_access() needs a reason; it is written to the audit log.")

    with _platform_scope():
        # The clinic's log when the access names one clinic (its owner reads it there); the
        # platform's own log otherwise.
        audit_event_save(
            tenant_id=getattr(tenant, "pk", tenant),
            action=action,
            reason=reason.strip(),
            actor_id=getattr(actor, "pk", None) or current().user_id,
            actor_email=getattr(actor, "email", "") or "",
            ip_address=ip_address,
            details=details or {},
        )
        with transaction.atomic(using=PLATFORM_ALIAS):
            yield
