"""Reads about clinics: usage against the plan's limits, trial status."""

from __future__ import annotations

from django.utils import timezone

from tenants.context import tenant_context
from tenants.models import Tenant


def tenant_counts(tenant: Tenant) -> dict[str, int]:
    from accounts.models import Membership
    from clinical.models import Doctor, Patient

    with tenant_context(tenant):
        return {
            "doctors": Doctor.objects.filter(is_active=True).count(),
            "patients": Patient.objects.active().count(),
            "users": Membership.objects.filter(is_active=True).count(),
        }


def _usage(current: int, maximum: int | None, writable: bool) -> dict:
    return {
        "current": current,
        "max": maximum,
        "can_add": writable and (maximum is None or current < maximum),
    }


def trial_status(tenant: Tenant) -> dict:
    days_left = None
    if tenant.is_trial and tenant.trial_ends_at:
        days_left = max(0, (tenant.trial_ends_at - timezone.now()).days)
    return {
        "is_trial": tenant.is_trial,
        "trial_ends_at": tenant.trial_ends_at,
        "days_left": days_left,
        "is_expired": tenant.trial_expired or tenant.status == Tenant.Status.EXPIRED,
    }


def tenant_limits(tenant: Tenant) -> dict:
    counts = tenant_counts(tenant)
    writable = tenant.is_writable
    return {
        "plan": tenant.plan,
        "plan_name": tenant.plan_info.name,
        "status": tenant.status,
        "is_writable": writable,
        "doctors": _usage(counts["doctors"], tenant.max_doctors, writable),
        "patients": _usage(counts["patients"], tenant.max_patients, writable),
        "users": _usage(counts["users"], None, writable),
        **trial_status(tenant),
    }
