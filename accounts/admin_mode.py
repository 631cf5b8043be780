"""Who is using the admin, and for which clinic: decided once per request.

* **clinic** — any active member of the clinic bound to the browser session
  (`ClinicSessionMiddleware`, after the site's login), whatever their role and with no staff
  flag: the membership decides. Works as the runtime role under that clinic's tenant
  context, exactly like the pages and the API; what each role may see and change is the
  role matrix (docs/permissions.md), applied by each model admin.
* **platform** — an active staff superuser with no clinic in the session (a platform
  operator). Every admin request runs inside `platform_access(...)` (clinics.admin_site).
* **support** — an operator who chose "act as clinic" with a stated reason: that clinic's
  records, read-only, under its tenant context, for at most `ACT_AS_MAX_AGE`.
* **none** — anybody else: no admin at all.

Permissions follow from the mode and the person's role in the session's clinic, never from
Django's global per-user permissions, which cannot say "in this clinic".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tenants.models import Tenant

PLATFORM = "platform"
CLINIC = "clinic"
SUPPORT = "support"
NONE = "none"

# "Act as clinic" lives in the operator's session for at most this long.
ACT_AS_MAX_AGE = timedelta(hours=1)
ACT_AS_TENANT_KEY = "admin_act_as_tenant_id"
ACT_AS_REASON_KEY = "admin_act_as_reason"
ACT_AS_STARTED_KEY = "admin_act_as_started_at"
_ACT_AS_KEYS = (ACT_AS_TENANT_KEY, ACT_AS_REASON_KEY, ACT_AS_STARTED_KEY)

CLINIC_SCOPED_KINDS = ("tenant", "catalog", "membership", "invitation", "audit", "tenant_root")


@dataclass(frozen=True)
class AdminMode:
    kind: str
    tenant_id: uuid.UUID | None = None
    tenant: object = None  # the Tenant (clinic mode: from the session's verified membership)
    membership: object = None
    reason: str = ""  # support mode: why the operator looks inside the clinic
    why_not: str = ""  # mode NONE: what the no-access page explains

    @property
    def clinic_scoped(self) -> bool:
        return self.kind in (CLINIC, SUPPORT)


def admin_mode(request) -> AdminMode:
    mode = getattr(request, "_admin_mode", None)
    if mode is None:
        mode = _compute_mode(request)
        request._admin_mode = mode
    return mode


def _compute_mode(request) -> AdminMode:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return AdminMode(NONE, why_not="anonymous")
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    if tenant is not None:
        # A session bound to a clinic acts for that clinic only, even for a superuser. The
        # session middleware sets both only for an active membership of an active person.
        if membership is not None:
            return AdminMode(CLINIC, tenant_id=tenant.pk, tenant=tenant, membership=membership)
        return AdminMode(NONE, why_not="no_clinic")
    if not (user.is_staff and user.is_superuser):
        return AdminMode(NONE, why_not="no_clinic")
    acting = _acting_as(request)
    if acting is not None:
        return AdminMode(SUPPORT, tenant_id=acting[0], reason=acting[1])
    return AdminMode(PLATFORM)


def _acting_as(request) -> tuple[uuid.UUID, str] | None:
    session = getattr(request, "session", None)
    if session is None or ACT_AS_TENANT_KEY not in session:
        return None
    try:
        tenant_id = uuid.UUID(str(session[ACT_AS_TENANT_KEY]))
        started = parse_datetime(str(session.get(ACT_AS_STARTED_KEY, "")))
    except (TypeError, ValueError):
        started = None
    if started is None or timezone.now() - started > ACT_AS_MAX_AGE:
        act_as_clear(request)
        return None
    return tenant_id, str(session.get(ACT_AS_REASON_KEY, ""))


def act_as_clear(request) -> None:
    for key in _ACT_AS_KEYS:
        request.session.pop(key, None)
    request._admin_mode = None


def clinic_of(obj) -> uuid.UUID | None:
    """The clinic an object belongs to (a clinic is its own), or None for global rows."""

    if isinstance(obj, Tenant):
        return obj.pk
    return getattr(obj, "tenant_id", None)


def patient_of(obj) -> uuid.UUID | None:
    """The patient a record is about, so admin reads and changes are findable by patient."""
    if obj._meta.label == "clinical.Patient":
        return obj.pk
    if obj._meta.label == "tenants.AuditEvent":
        return None
    return getattr(obj, "patient_id", None)


def is_clinic_scoped(model) -> bool:
    return getattr(model, "rls_kind", None) in CLINIC_SCOPED_KINDS
