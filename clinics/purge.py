"""Deleting a clinic and everything it owns (`manage.py purge_tenant`)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Membership, User
from core.errors import ApplicationError
from tenants import dataset
from tenants.audit import audit_record
from tenants.models import Tenant
from tenants.platform import platform_access
from tenants.routers import PLATFORM_ALIAS


def clinic_purge(
    *,
    tenant: Tenant,
    reason: str,
    actor=None,
    keep_users: bool = False,
    progress=None,
    details=None,
) -> dict[str, int]:
    """Delete a clinic and everything it owns, for good (end of contract, erasure request).

    Refused for an active clinic: suspend it first, so that nobody is working in it. Runs in
    one transaction through the platform role: every clinic-owned table (found generically,
    so later models are included) loses the clinic's rows, then the clinic itself, then the
    accounts of people who belonged to no other clinic (unless `keep_users`). Stored files go
    once the transaction has committed. The audit log keeps the clinic's history and the
    purge itself: it is append-only, and its rows have no foreign key to the clinic.
    """
    from django.core.files.storage import default_storage
    from django.db import connections

    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the clinic is purged.", code="reason_required")
    active = ApplicationError(
        "This clinic is active; suspend it first (suspend_tenant), then purge it.",
        code="tenant_active",
    )
    if tenant.status == Tenant.Status.ACTIVE:
        raise active
    counts: dict[str, int] = {}
    with platform_access(
        reason=f"purge clinic {tenant.code}: {reason}",
        actor=actor,
        tenant=tenant.pk,
        action="platform.purge",
        details={"code": tenant.code, "name": tenant.name, **(details or {})},
    ):
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status == Tenant.Status.ACTIVE:  # reactivated meanwhile
            raise active
        member_ids = list(
            Membership.objects.filter(tenant_id=tenant.pk).values_list("user_id", flat=True)
        )
        models_ = dataset.clinic_models()
        stored = [
            name
            for model in models_
            for field in dataset.file_fields(model)
            for name in model._base_manager.filter(tenant_id=tenant.pk)
            .exclude(**{field.name: ""})
            .values_list(field.name, flat=True)
            if name
        ]
        with connections[PLATFORM_ALIAS].cursor() as cursor:
            # Every reference is checked at commit, once all of the clinic's rows are gone.
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for model in reversed(models_):
                table = connections[PLATFORM_ALIAS].ops.quote_name(model._meta.db_table)
                cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
                counts[model._meta.label_lower] = cursor.rowcount
                if progress is not None:
                    progress(model._meta.label_lower, cursor.rowcount)
        # Anything else that points at the clinic goes the ORM's way (its on_delete rules).
        Tenant._base_manager.filter(pk=tenant.pk).delete()
        counts["tenants.tenant"] = 1
        if not keep_users:
            orphans = User.objects.filter(
                pk__in=member_ids, is_staff=False, is_superuser=False, memberships__isnull=True
            ).exclude(doctor_profiles__isnull=False)
            _total, deleted = orphans.delete()
            counts["accounts.user"] = deleted.get(User._meta.label, 0)
        audit_record(
            action="tenant.purged",
            actor=actor,
            tenant=tenant.pk,
            reason=reason,
            details={"code": tenant.code, "name": tenant.name, "counts": counts},
        )
        transaction.on_commit(
            lambda: [default_storage.delete(name) for name in stored], using=PLATFORM_ALIAS
        )
    counts["files"] = len(stored)
    return counts
