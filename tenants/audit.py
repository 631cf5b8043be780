"""Recording audit events (the append-only `AuditEvent` and `PlatformAuditEvent` tables).

An event of a clinic goes to the clinic's table (`AuditEvent`, `tenant_id` NOT NULL, so it
can be distributed by clinic); an event of no clinic (a failed login of an unknown person, a
sign-up before its clinic exists, an operator's action across clinics, a catalogue load) goes
to the platform's own table (`PlatformAuditEvent`). Events are written as the runtime role
under the current context: row-level security lets a clinic add events for itself and read
only its own, lets any code add platform events and read none; nobody but the tables' owner
can change or delete one.
"""

from __future__ import annotations

from tenants.context import current
from tenants.models import AuditEvent, PlatformAuditEvent


def client_ip(request) -> str | None:
    if request is None:
        return None
    from axes.helpers import get_client_ip_address

    return get_client_ip_address(getattr(request, "_request", request)) or None


def audit_event_save(*, tenant_id, **fields) -> AuditEvent | PlatformAuditEvent:
    """Insert one event into the clinic's table, or into the platform's when it has no clinic.

    Built and saved directly: the scoped managers would refuse events outside their scope.
    """
    if tenant_id is not None:
        event = AuditEvent(tenant_id=tenant_id, **fields)
    else:
        event = PlatformAuditEvent(**fields)
    event.save(force_insert=True)
    return event


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
) -> AuditEvent | PlatformAuditEvent:
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
    tenant_id = getattr(tenant, "pk", tenant) or current().tenant_id
    user_agent = ""
    if request is not None:
        user_agent = (getattr(request, "META", {}) or {}).get("HTTP_USER_AGENT", "")[:300]
    return audit_event_save(
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
