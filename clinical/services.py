"""Write operations on clinical records."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinic_saas.errors import ApplicationError, PlanLimitReached
from clinical.models import Doctor, DoctorOffice, Office, Patient
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.services import tenant_lock


def _constraint(exc: IntegrityError) -> str:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""


def _invalid(exc: ValidationError) -> ApplicationError:
    return ApplicationError("Some fields are invalid.", field_errors=exc.message_dict)


def _limit_reached(resource: str, limit: int, current: int, tenant) -> PlanLimitReached:
    return PlanLimitReached(
        f"The {tenant.plan_info.name} plan allows {limit:,} {resource}; upgrade the plan to "
        f"add more.",
        extra={"resource": resource, "limit": limit, "current": current, "plan": tenant.plan},
    )


# --- offices --------------------------------------------------------------------------------


@transaction.atomic
def office_create(
    *, tenant, name: str, address: str = "", phone: str = "", is_primary: bool = False
) -> Office:
    with tenant_context(tenant):
        office = Office(
            name=(name or "").strip(), address=address, phone=phone, is_primary=is_primary
        )
        try:
            office.full_clean()
        except ValidationError as exc:
            raise _invalid(exc) from exc
        if is_primary:
            Office.objects.filter(is_primary=True).update(is_primary=False)
        office.save()
    return office


OFFICE_EDITABLE_FIELDS = ("name", "address", "phone", "is_primary", "is_active")


@transaction.atomic
def office_update(*, tenant, office: Office, **changes) -> Office:
    with tenant_context(tenant):
        for name, value in changes.items():
            if name not in OFFICE_EDITABLE_FIELDS:
                raise ApplicationError(f"{name} cannot be changed.")
            setattr(office, name, value)
        try:
            office.full_clean()
        except ValidationError as exc:
            raise _invalid(exc) from exc
        if changes.get("is_primary"):
            Office.objects.filter(is_primary=True).exclude(pk=office.pk).update(is_primary=False)
        office.save()
    return office


# --- doctors --------------------------------------------------------------------------------


def doctor_seat_check(*, tenant) -> None:
    """Refuse when the plan's doctor limit is reached. Call inside the transaction that adds
    the doctor: it locks the clinic's row, so concurrent additions queue behind it."""
    locked = tenant_lock(tenant)
    limit = locked.max_doctors
    if limit is None:
        return
    current = Doctor.objects.filter(is_active=True).count()
    if current >= limit:
        raise _limit_reached("doctors", limit, current, locked)


def _offices_of_clinic(office_ids) -> list[Office]:
    ids = list(dict.fromkeys(office_ids or []))
    offices = list(Office.objects.filter(pk__in=ids))
    if len(offices) != len(ids):
        raise ApplicationError(
            "Unknown office.",
            field_errors={"office_ids": ["One or more offices do not exist in this clinic."]},
        )
    return offices


@transaction.atomic
def doctor_profile_create(
    *,
    tenant,
    user,
    license_number: str,
    specialization: str,
    qualification: str = "",
    experience_years: int | None = None,
    offices=(),
) -> Doctor:
    with tenant_context(tenant):
        doctor_seat_check(tenant=tenant)
        doctor = Doctor(
            user=user,
            license_number=(license_number or "").strip(),
            specialization=(specialization or "").strip(),
            qualification=qualification or "",
            experience_years=experience_years,
        )
        try:
            doctor.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise _invalid(exc) from exc
        try:
            # Licence numbers are unique per clinic; the index decides, race-free.
            with transaction.atomic():
                doctor.save(force_insert=True)
        except IntegrityError as exc:
            if _constraint(exc) == "doctor_tenant_license_uniq":
                raise ApplicationError(
                    "A doctor with this licence number already works at this clinic.",
                    code="duplicate_license",
                    field_errors={"license_number": ["Already registered in this clinic."]},
                ) from exc
            if _constraint(exc) == "doctor_tenant_user_uniq":
                raise ApplicationError(
                    "This person already has a doctor profile in this clinic.",
                    code="already_doctor",
                    field_errors={"email": ["Already a doctor of this clinic."]},
                ) from exc
            raise
        DoctorOffice.objects.bulk_create(
            [DoctorOffice(doctor=doctor, office=office) for office in offices]
        )
    return doctor


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
    """Add a doctor: a membership (a new person gets an invitation e-mail with a one-time
    link to set a password), and a doctor profile, within the plan's doctor limit."""
    from accounts.services import member_invite

    with tenant_context(tenant):
        # Lock first, so the limit check and both inserts below are one race-free step.
        doctor_seat_check(tenant=tenant)
        offices = _offices_of_clinic(office_ids)
        membership, _invitation = member_invite(
            tenant=tenant,
            actor=actor,
            email=email,
            role="doctor",
            first_name=first_name,
            last_name=last_name,
            phone=phone,
        )
        doctor = doctor_profile_create(
            tenant=tenant,
            user=membership.user,
            license_number=license_number,
            specialization=specialization,
            qualification=qualification,
            experience_years=experience_years,
            offices=offices,
        )
        audit_record(action="doctor.added", actor=actor, object=doctor)
    return doctor


# --- patients -------------------------------------------------------------------------------


def patient_seat_check(*, tenant) -> None:
    """The plan's patient limit, race-free (see doctor_seat_check)."""
    locked = tenant_lock(tenant)
    limit = locked.max_patients
    if limit is None:
        return
    current = Patient.objects.active().count()
    if current >= limit:
        raise _limit_reached("patients", limit, current, locked)
