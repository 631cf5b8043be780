"""Write operations on clinics. Admin, API, pages and commands all call these."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError
from tenants import dbroles, plans
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.platform import platform_access

CODE_MAX_LENGTH = 40


def database_setup(*, admin_url: str) -> bool:
    """Create or correct the roles and the database described by the settings."""
    spec = dbroles.RoleSpec(
        database=settings.DATABASES["default"]["NAME"],
        owner=_role("owner"),
        runtime=_role("default"),
        platform=_role("platform"),
    )
    return dbroles.ensure_roles_and_database(dbroles.conninfo_from_url(admin_url), spec)


def _role(alias: str) -> dbroles.Role:
    config = settings.DATABASES[alias]
    return dbroles.Role(config["USER"], config.get("PASSWORD") or None)


def tenant_code_base(name: str) -> str:
    """A readable ASCII slug from any clinic name.

    Accents fold to their letters ("Clínica Niño" → "clinica-nino"); punctuation becomes a
    hyphen. Scripts with no Latin form (Devanagari, Tamil, …) leave nothing, and then the code
    is "clinic" plus a random suffix, still unique and URL-safe.
    """
    folded = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    slug = slug[:CODE_MAX_LENGTH].rstrip("-")
    return slug or "clinic"


def _code_candidates(base: str):
    # Always a random suffix, never the bare name: a code given as "asha-dental" only when
    # the name was free would tell anyone signing up whether another clinic already has that
    # name (issue 12, item 7). Random rather than "-2", "-3": the runtime role cannot list
    # other clinics' codes (row-level security), and random suffixes do not collide under
    # concurrency; a collision is retried with another one, which the person never sees.
    for _ in range(8):
        yield f"{base[: CODE_MAX_LENGTH - 7].rstrip('-')}-{secrets.token_hex(3)}"
    yield f"{base[: CODE_MAX_LENGTH - 11].rstrip('-')}-{secrets.token_hex(5)}"


@transaction.atomic
def tenant_create(
    *,
    name: str,
    email: str = "",
    phone: str = "",
    address: str = "",
    plan: str = plans.TRIAL,
    tenant_id: uuid.UUID | None = None,
) -> Tenant:
    """Create a clinic with a unique code. Runs as the runtime role, in the new clinic's
    context: the policy lets a transaction create only the clinic it acts for."""
    plan_info = plans.get_plan(plan)
    tenant = Tenant(
        id=tenant_id or uuid.uuid4(),
        name=(name or "").strip(),
        email=email,
        phone=phone,
        address=address,
        plan=plan,
        trial_ends_at=(
            timezone.now() + timedelta(days=plan_info.trial_days) if plan_info.trial_days else None
        ),
    )
    base = tenant_code_base(tenant.name)
    tenant.code = base
    tenant.full_clean(exclude=["code"], validate_unique=False)
    with tenant_context(tenant.id):
        for candidate in _code_candidates(base):
            tenant.code = candidate
            try:
                # The unique index decides, so two clinics signing up with one name at the
                # same moment cannot both get it.
                with transaction.atomic():
                    tenant.save(force_insert=True)
                return tenant
            except IntegrityError as exc:
                diag = getattr(exc.__cause__, "diag", None)
                if "code" not in (getattr(diag, "constraint_name", None) or ""):
                    raise
    raise IntegrityError("Could not find a free clinic code.")


def tenant_lock(tenant: Tenant) -> Tenant:
    """Lock the clinic's row until the transaction ends.

    Every limit check (doctors, patients) counts and inserts under this lock, so N parallel
    requests with one slot left cannot all see the slot free.
    """
    return Tenant.objects.select_for_update().get(pk=tenant.pk)


TENANT_EDITABLE_FIELDS = ("name", "email", "phone", "address", "gstin", "billing_state")


@transaction.atomic
def tenant_update(*, tenant: Tenant, actor, **changes) -> Tenant:
    unknown = set(changes) - set(TENANT_EDITABLE_FIELDS)
    if unknown:
        raise ApplicationError(f"These fields cannot be changed: {', '.join(sorted(unknown))}.")
    with tenant_context(tenant):
        tenant = tenant_lock(tenant)
        for name, value in changes.items():
            setattr(tenant, name, value.strip() if isinstance(value, str) else value)
        tenant.gstin = (tenant.gstin or "").upper()  # GSTINs are printed in capitals
        try:
            tenant.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise ApplicationError(
                "Some fields are invalid.", field_errors=exc.message_dict
            ) from exc
        tenant.save()
        audit_record(
            action="tenant.updated", actor=actor, object=tenant, details={"fields": sorted(changes)}
        )
    return tenant


# Plan changes live with billing (clinics.billing.services): an owner's request opens an
# invoice (`plan_request`), an operator's decision applies at once (`plan_set`).


def trials_expire(*, now=None) -> list[Tenant]:
    """Move every clinic whose trial has ended to `expired` (daily job, platform access)."""

    now = now or timezone.now()
    with platform_access(reason="expire ended trials (daily job)", action="platform.job"):
        expired = list(
            Tenant.objects.select_for_update().filter(
                plan=plans.TRIAL, status=Tenant.Status.ACTIVE, trial_ends_at__lte=now
            )
        )
        for tenant in expired:
            tenant.status = Tenant.Status.EXPIRED
            tenant.save(update_fields=["status", "updated_at"])
            audit_record(action="tenant.trial_expired", tenant=tenant, object=tenant)
    return expired


# --- platform operations (admin actions and ops commands) -----------------------------------
# Like every clinic write, these run as the runtime role inside the clinic's own context
# (row-level security applies), under a lock on the clinic's row. Callers that found the
# clinic through platform_access() therefore never write through the bypassing role.

MAX_TRIAL_EXTENSION_DAYS = 365


@transaction.atomic
def tenant_suspend(*, tenant: Tenant, actor, reason: str) -> Tenant:
    """Suspend a clinic (unpaid invoice, abuse, legal hold). Its people can still log in and
    read everything, and the owner can export; every write answers 402 until reactivated."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Say why the clinic is suspended; the reason is kept in the audit log.",
            code="reason_required",
            field_errors={"reason": ["Required."]},
        )
    with tenant_context(tenant):
        tenant = tenant_lock(tenant)
        if tenant.status == Tenant.Status.SUSPENDED:
            raise ApplicationError("The clinic is already suspended.", code="already_suspended")
        if tenant.status == Tenant.Status.CANCELLED:
            raise ApplicationError(
                "A cancelled clinic cannot be suspended.", code="tenant_cancelled"
            )
        previous = tenant.status
        tenant.status = Tenant.Status.SUSPENDED
        tenant.save(update_fields=["status", "updated_at"])
        audit_record(
            action="tenant.suspended",
            actor=actor,
            object=tenant,
            reason=reason,
            details={"from": previous},
        )
    return tenant


@transaction.atomic
def tenant_reactivate(*, tenant: Tenant, actor, reason: str = "") -> Tenant:
    """Lift a suspension. A trial whose end has passed meanwhile comes back as `expired`
    (read-only until the owner chooses a plan), not as a free extension."""
    with tenant_context(tenant):
        tenant = tenant_lock(tenant)
        if tenant.status != Tenant.Status.SUSPENDED:
            raise ApplicationError(
                f"Only a suspended clinic can be reactivated; this one is "
                f"{tenant.get_status_display().lower()}.",
                code="not_suspended",
            )
        tenant.status = Tenant.Status.EXPIRED if tenant.trial_expired else Tenant.Status.ACTIVE
        tenant.save(update_fields=["status", "updated_at"])
        audit_record(
            action="tenant.reactivated",
            actor=actor,
            object=tenant,
            reason=(reason or "").strip(),
            details={"to": tenant.status},
        )
    return tenant


@transaction.atomic
def trial_extend(*, tenant: Tenant, actor, days: int, reason: str = "") -> Tenant:
    """Give a trial clinic `days` more days, counted from today when the trial has already
    ended (an expired trial becomes active again; a suspended one stays suspended)."""
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not (1 <= days <= MAX_TRIAL_EXTENSION_DAYS)
    ):
        raise ApplicationError(
            f"Extend a trial by 1 to {MAX_TRIAL_EXTENSION_DAYS} days.",
            code="invalid",
            field_errors={
                "days": [f"Must be a whole number from 1 to {MAX_TRIAL_EXTENSION_DAYS}."]
            },
        )
    with tenant_context(tenant):
        tenant = tenant_lock(tenant)
        if not tenant.is_trial:
            raise ApplicationError(
                f"The clinic is on the {tenant.plan_info.name} plan, not a trial.",
                code="not_trial",
            )
        if tenant.status == Tenant.Status.CANCELLED:
            raise ApplicationError("The clinic is cancelled.", code="tenant_cancelled")
        now = timezone.now()
        old_end = tenant.trial_ends_at
        start = old_end if old_end and old_end > now else now
        tenant.trial_ends_at = start + timedelta(days=days)
        if tenant.status == Tenant.Status.EXPIRED:
            tenant.status = Tenant.Status.ACTIVE
        tenant.save(update_fields=["trial_ends_at", "status", "updated_at"])
        audit_record(
            action="tenant.trial_extended",
            actor=actor,
            object=tenant,
            reason=(reason or "").strip(),
            details={
                "days": days,
                "from": old_end.isoformat() if old_end else None,
                "to": tenant.trial_ends_at.isoformat(),
            },
        )
    return tenant
