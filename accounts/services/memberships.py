"""Memberships under the one rule for roles: only an owner grants or removes the owner
role, nobody changes their own role or deactivates themself, and a clinic always keeps an
active owner. Each change takes a lock on the clinic's row first, so concurrent changes
queue and the rule holds. A member's doctor profile is the clinic layer's
(`clinics.services`)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import ADMIN_GRANTABLE, ADMIN_ROLES, ALL_ROLES, Membership, Role, User
from core.errors import ApplicationError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.services import tenant_lock


def grantable_roles(*, actor_membership: Membership | None) -> frozenset[str]:
    """The roles a member may give (invite with, or change a member to).

    None stands for platform operations (commands, operators), which may give any role. An
    owner gives any role; an admin any but owner; everybody else none.
    """
    if actor_membership is None:
        return ALL_ROLES
    if actor_membership.role == Role.OWNER:
        return ALL_ROLES
    if actor_membership.role == Role.ADMIN:
        return ADMIN_GRANTABLE
    return frozenset()


def _acting_membership(actor: User | None) -> Membership | None:
    """The actor's active membership in the clinic in context, which must be an owner's or
    an admin's; None for platform operations (no actor, or a platform operator who is not a
    member of this clinic)."""
    if actor is None:
        return None
    membership = Membership.objects.filter(user_id=actor.pk, is_active=True).first()
    if membership is None and actor.is_superuser and actor.is_staff:
        return None
    if membership is None or membership.role not in ADMIN_ROLES:
        raise PermissionDeniedError(
            "Only the clinic's owners and admins manage its team.", code="not_team_manager"
        )
    return membership


def _check_may_manage(
    actor: User | None, acting: Membership | None, target_role: str, target_user_id=None
):
    if actor is not None and target_user_id is not None and target_user_id == actor.pk:
        raise PermissionDeniedError(
            "You cannot change your own membership; ask another owner.", code="self_change"
        )
    if target_role == Role.OWNER and acting is not None and acting.role != Role.OWNER:
        raise PermissionDeniedError(
            "Only an owner can change an owner's membership.", code="owner_only"
        )


def _check_may_grant(acting: Membership | None, role: str) -> None:
    if role not in Role.values:
        raise ApplicationError("Unknown role.", field_errors={"role": ["Unknown role."]})
    if role not in grantable_roles(actor_membership=acting):
        raise PermissionDeniedError(
            "Only an owner can give the owner role.",
            code="owner_only",
            field_errors={"role": ["You cannot give this role."]},
        )


def _lock_clinic(tenant: Tenant) -> None:
    tenant_lock(tenant)


def _ensure_not_last_owner(membership: Membership) -> None:
    """Call with the clinic's row locked, so the count cannot change under us."""
    if membership.role == Role.OWNER and membership.is_active:
        owners = Membership.objects.filter(role=Role.OWNER, is_active=True).count()
        if owners <= 1:
            raise ApplicationError("A clinic needs at least one active owner.", code="last_owner")


def _managed_membership(actor: User | None, membership: Membership):
    acting = _acting_membership(actor)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    _check_may_manage(actor, acting, locked.role, locked.user_id)
    return acting, locked


@transaction.atomic
def membership_deactivate(
    *, tenant: Tenant, actor: User | None, membership: Membership
) -> Membership:
    """The person's sessions and tokens for this clinic stop working at the next request
    (every request checks the membership). The doctor profile is the clinic layer's
    (`clinics.services.membership_deactivate`)."""
    with tenant_context(tenant):
        _lock_clinic(tenant)
        _acting, membership = _managed_membership(actor, membership)
        _ensure_not_last_owner(membership)
        membership.is_active = False
        membership.save(update_fields=["is_active"])
        audit_record(action="membership.deactivated", actor=actor, object=membership)
    return membership


@transaction.atomic
def membership_reactivate(
    *, tenant: Tenant, actor: User | None, membership: Membership
) -> Membership:
    """The person's access returns; the doctor profile, within the plan's doctor limit, is
    the clinic layer's (`clinics.services.membership_reactivate`)."""
    with tenant_context(tenant):
        _lock_clinic(tenant)
        _acting, membership = _managed_membership(actor, membership)
        membership.is_active = True
        membership.save(update_fields=["is_active"])
        audit_record(action="membership.reactivated", actor=actor, object=membership)
    return membership


@transaction.atomic
def membership_role_change(
    *,
    tenant: Tenant,
    actor: User | None,
    membership: Membership,
    role: str,
    has_doctor_profile: bool,
) -> Membership:
    """Give a member another role, under the one rule for roles (see above). "Doctor" needs
    a doctor profile in the clinic (with its licence, counted against the doctor limit), which
    the caller looks up (`clinics.services.membership_role_change`)."""
    with tenant_context(tenant):
        _lock_clinic(tenant)
        acting, membership = _managed_membership(actor, membership)
        _check_may_grant(acting, role)
        if role == membership.role:
            return membership
        if role == Role.DOCTOR and not has_doctor_profile:
            raise ApplicationError(
                "Only a member with a doctor profile can be a doctor; invite them as a doctor.",
                code="doctor_profile_required",
                field_errors={"role": ["This member has no doctor profile."]},
            )
        if membership.role == Role.OWNER:
            _ensure_not_last_owner(membership)
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        audit_record(
            action="membership.role_changed",
            actor=actor,
            object=membership,
            details={"from": old, "to": role},
        )
    return membership
