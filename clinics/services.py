"""The clinic as a customer: operations that put a clinic together from its parts.

Signing up is a clinic (the kernel's `tenant_create`), a person, a membership (`accounts`),
and for an owner who is also a doctor a doctor profile and an office (`clinical`); a clinic
made for someone else (sales, migrations) is a clinic and an owner's invitation. The kernel,
people and clinical records never call each other for this: composition happens here.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import services as people
from accounts.models import Invitation, Membership, Role, User, normalize_email
from accounts.selectors import person_by_email
from accounts.services import (
    check_password_strength,
    email_taken_error,
    email_verification_send,
    invitation_create,
    user_create,
)
from clinical.models import Doctor
from clinical.selectors import doctor_profile_exists
from clinical.services import (
    doctor_profile_claim,
    doctor_profile_create,
    doctor_profile_release,
    doctor_profiles_deactivate,
    doctor_profiles_reactivate,
    doctor_seat_check,
    office_create,
    offices_of_clinic,
)
from core.errors import ApplicationError
from tenants import plans
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.services import tenant_create


@transaction.atomic
def clinic_register(
    *,
    clinic_name: str,
    clinic_phone: str,
    clinic_address: str,
    owner_first_name: str,
    owner_last_name: str,
    owner_email: str,
    owner_phone: str,
    password: str,
    role: str,
    license_number: str = "",
    specialization: str = "",
    qualification: str = "",
    experience_years: int | None = None,
):
    """Sign up a clinic: the clinic (trial), its owner, the owner's membership and, for an
    owner who is also a doctor, a doctor profile and a primary office made from the clinic's
    address. All of it or nothing; the verification e-mail goes out after commit."""
    if role not in ("admin", "admin_doctor"):
        raise ApplicationError(
            "Choose whether the owner is also a doctor.",
            field_errors={"role": ["Must be 'admin' or 'admin_doctor'."]},
        )
    if role == "admin_doctor":
        missing = {
            name: ["Required when the owner is also a doctor."]
            for name, value in (
                ("license_number", license_number),
                ("specialization", specialization),
            )
            if not (value or "").strip()
        }
        if missing:
            raise ApplicationError(
                "A doctor needs a licence number and a specialization.", field_errors=missing
            )
    if person_by_email(owner_email) is not None:
        raise email_taken_error()
    check_password_strength(
        password,
        user=User(
            email=normalize_email(owner_email),
            first_name=owner_first_name,
            last_name=owner_last_name,
        ),
    )

    tenant = tenant_create(
        name=clinic_name,
        email=normalize_email(owner_email),
        phone=clinic_phone,
        address=clinic_address,
    )
    user = user_create(
        email=owner_email,
        password=password,
        first_name=owner_first_name,
        last_name=owner_last_name,
        phone=owner_phone,
    )
    with tenant_context(tenant, user=user):
        membership = Membership.objects.create(
            user=user, role=Role.OWNER, is_active=True, last_used_at=timezone.now()
        )
        if role == "admin_doctor":
            office = office_create(
                tenant=tenant,
                name=tenant.name,
                address=clinic_address,
                phone=clinic_phone,
                is_primary=True,
            )
            doctor_profile_create(
                tenant=tenant,
                user=user,
                license_number=license_number,
                specialization=specialization,
                qualification=qualification,
                experience_years=experience_years,
                offices=[office],
            )
        audit_record(action="tenant.registered", actor=user, object=tenant)
    email_verification_send(user=user)
    return tenant, user, membership


@transaction.atomic
def clinic_provision(
    *,
    name: str,
    owner_email: str,
    owner_first_name: str = "",
    owner_last_name: str = "",
    plan: str = plans.TRIAL,
    email: str = "",
    phone: str = "",
    address: str = "",
    actor=None,
    details: dict | None = None,
):
    """Create a clinic for someone else (sales, migrations): the clinic and an invitation for
    its owner. Like every invitation it needs the owner's consent: they become the owner by
    accepting it (a new person chooses a password, someone with an account signs in first).
    Answers (tenant, invitation)."""
    try:
        plans.get_plan(plan)
    except ValueError as exc:
        raise ApplicationError(str(exc), field_errors={"plan": [str(exc)]}) from exc
    if not (owner_email or "").strip():
        raise ApplicationError(
            "A clinic needs an owner.", field_errors={"owner_email": ["Required."]}
        )
    try:
        tenant = tenant_create(
            name=name,
            email=normalize_email(email or owner_email),
            phone=phone,
            address=address,
            plan=plan,
        )
    except ValidationError as exc:
        raise ApplicationError("Some fields are invalid.", field_errors=exc.message_dict) from exc
    invitation = invitation_create(
        tenant=tenant,
        actor=actor,
        email=owner_email,
        role=Role.OWNER,
        first_name=owner_first_name,
        last_name=owner_last_name,
        allow_owner=True,
        enforce_limits=False,
    )
    with tenant_context(tenant):
        audit_record(action="tenant.created", actor=actor, object=tenant, details=details)
    return tenant, invitation


# --- the team: people with their doctor profiles ------------------------------------------------
# A membership is people (accounts.services) and a doctor profile is clinical records
# (clinical.services). Each operation below is one transaction that calls both, so the two
# layers never call each other. The admin, the API, the team page and the invitation pages
# all call these.


@transaction.atomic
def doctor_invite(
    *,
    tenant,
    actor,
    first_name: str,
    last_name: str,
    email: str,
    phone: str = "",
    license_number: str,
    specialization: str,
    qualification: str = "",
    experience_years: int | None = None,
    office_ids=(),
) -> Doctor:
    """Invite a doctor: an invitation (e-mailed, accepted or declined by the person) and the
    doctor profile the clinic typed, which waits on the invitation without a person until it
    is accepted. The seat is taken now, within the plan's doctor limit."""
    with tenant_context(tenant):
        # Lock first, so the limit check and both inserts below are one race-free step.
        doctor_seat_check(tenant=tenant)
        offices = offices_of_clinic(office_ids)
        invitation = invitation_create(
            tenant=tenant,
            actor=actor,
            email=email,
            role=Role.DOCTOR,
            first_name=first_name,
            last_name=last_name,
            phone=phone,
        )
        doctor = doctor_profile_create(
            tenant=tenant,
            user=None,
            invitation=invitation,
            license_number=license_number,
            specialization=specialization,
            qualification=qualification,
            experience_years=experience_years,
            offices=offices,
        )
        audit_record(action="doctor.added", actor=actor, object=doctor)
    return doctor


def _claim_doctor_profile(membership: Membership) -> Membership:
    with tenant_context(membership.tenant_id, user=membership.user):
        doctor_profile_claim(membership=membership)
    return membership


@transaction.atomic
def invitation_accept(**kwargs) -> Membership:
    """Accept through the e-mailed link as a new person (`clinics.services.invitation_accept`)
    and take up the doctor profile that waited on the invitation."""
    return _claim_doctor_profile(people.invitation_accept(**kwargs))


@transaction.atomic
def invitation_accept_signed_in(*, user: User, invitation_id) -> Membership:
    """Accept one of the signed-in person's invitations, with its doctor profile."""
    membership = people.invitation_accept_signed_in(user=user, invitation_id=invitation_id)
    return _claim_doctor_profile(membership)


def _release_doctor_profile(invitation: Invitation) -> None:
    with tenant_context(invitation.tenant_id):
        doctor_profile_release(invitation=invitation)


@transaction.atomic
def invitation_decline(*, token: str) -> None:
    """Decline through the e-mailed link; a waiting doctor profile frees its seat."""
    _release_doctor_profile(people.invitation_decline(token=token))


@transaction.atomic
def invitation_decline_signed_in(*, user: User, invitation_id) -> None:
    _release_doctor_profile(
        people.invitation_decline_signed_in(user=user, invitation_id=invitation_id)
    )


@transaction.atomic
def invitation_revoke(*, tenant, actor: User | None, invitation: Invitation) -> None:
    """Revoke an open invitation; a waiting doctor profile frees its seat."""
    _release_doctor_profile(
        people.invitation_revoke(tenant=tenant, actor=actor, invitation=invitation)
    )


@transaction.atomic
def membership_deactivate(*, tenant, actor: User | None, membership: Membership) -> Membership:
    """The person's sessions and tokens for this clinic stop working at the next request, and
    their doctor profile frees its seat."""
    membership = people.membership_deactivate(tenant=tenant, actor=actor, membership=membership)
    with tenant_context(tenant):
        doctor_profiles_deactivate(user_id=membership.user_id)
    return membership


@transaction.atomic
def membership_reactivate(*, tenant, actor: User | None, membership: Membership) -> Membership:
    """The person's access returns, and their doctor profile within the plan's doctor limit
    (checked under the clinic's lock, which the people service takes first)."""
    membership = people.membership_reactivate(tenant=tenant, actor=actor, membership=membership)
    with tenant_context(tenant):
        doctor_profiles_reactivate(tenant=tenant, user_id=membership.user_id)
    return membership


@transaction.atomic
def membership_role_change(
    *, tenant, actor: User | None, membership: Membership, role: str
) -> Membership:
    """Another role under the one rule for roles; "doctor" needs a doctor profile."""
    with tenant_context(tenant):
        has_profile = doctor_profile_exists(user_id=membership.user_id)
    return people.membership_role_change(
        tenant=tenant,
        actor=actor,
        membership=membership,
        role=role,
        has_doctor_profile=has_profile,
    )
