"""What the shared page layout needs on every page: the session's clinic and role, the
person's other clinics (the clinic switcher), and the reminders (unverified e-mail,
read-only clinic)."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject

from accounts.models import ADMIN_ROLES, Role
from accounts.selectors import memberships_of
from tenants.models import Tenant


def _clinics(user):
    return memberships_of(user)


def _read_only_reason(tenant: Tenant) -> str:
    if tenant.status == Tenant.Status.SUSPENDED:
        return "suspended"
    if tenant.status == Tenant.Status.PAST_DUE:
        return "past_due"  # a renewal unpaid past its grace period (tenants.billing)
    return "expired"


def clinic(request) -> dict:
    user = getattr(request, "user", None)
    tenant = getattr(request, "tenant", None)
    membership = getattr(request, "membership", None)
    context = {"site_name": settings.SITE_NAME, "clinic": tenant, "membership": membership}
    if user is None or not user.is_authenticated:
        return context
    context.update(
        # Loaded only when the layout shows the switcher (one query, no clinic needed).
        my_clinics=SimpleLazyObject(lambda: _clinics(user)),
        email_unverified=user.email_verified_at is None,
        # Set by accounts.middleware: when two-factor sign-in becomes required (grace period).
        two_factor_reminder=getattr(request, "two_factor_reminder", None),
    )
    if tenant is not None and membership is not None:
        context.update(
            is_clinic_admin=membership.role in ADMIN_ROLES,
            is_clinic_owner=membership.role == Role.OWNER,
            clinic_writable=tenant.is_writable,
            read_only_reason=None if tenant.is_writable else _read_only_reason(tenant),
        )
    return context
