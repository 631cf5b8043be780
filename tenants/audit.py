"""Recording audit events (the append-only `AuditEvent` table).

Events are written as the runtime role under the current clinic context: row-level
security lets a clinic add events for itself (or for no clinic, like a failed login) and
read only its own; nobody but the table owner can change or delete one.
"""

from __future__ import annotations

from tenants.context import current
from tenants.models import AuditEvent


def client_ip(request) -> str | None:
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(getattr(request, "_request", request)) or None


def audit_record(
    *,
    action: str,
    actor=None,
    request=None,
    object=None,
    tenant=None,
    patient_id=None,
    reason: str = "",
    details: dict | None = None,
) -> AuditEvent:
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    tenant_id = getattr(tenant, "pk", tenant) or current().tenant_id
    user_agent = ""
    if request is not None:
        user_agent = (getattr(request, "META", {}) or {}).get("HTTP_USER_AGENT", "")[:300]
    # Built and saved directly: the scoped manager would refuse events without a clinic.
    event = AuditEvent(
        tenant_id=tenant_id,
        action=action,
        actor_id=getattr(actor, "pk", None),
        actor_email=getattr(actor, "email", "") or "",
        object_type=object._meta.label if object is not None else "",
        object_id=str(object.pk) if object is not None else "",
        patient_id=patient_id,
        reason=reason,
        ip_address=client_ip(request),
        user_agent=user_agent,
        details=details or {},
    )
    event.save(force_insert=True)
    return event
