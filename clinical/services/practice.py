"""Write operations on offices and doctors."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from clinical.models import Doctor, DoctorAvailability, DoctorOffice, Office
from clinical.services.common import constraint_of, field_error, full_clean, limit_reached
from core.errors import ApplicationError
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.services import tenant_lock

# --- offices --------------------------------------------------------------------------------


@transaction.atomic
def office_create(
    *,
    tenant,
    name: str,
    address: str = "",
    phone: str = "",
    is_primary: bool = False,
    is_active: bool = True,
) -> Office:
    with tenant_context(tenant):
        office = Office(
            name=(name or "").strip(),
            address=address,
            phone=phone,
            is_primary=is_primary,
            is_active=is_active,
        )
        full_clean(office)
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
        full_clean(office)
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
        raise limit_reached("doctors", limit, current, locked)


def offices_of_clinic(office_ids, *, field: str = "office_ids") -> list[Office]:
    """The offices these ids name in the clinic in context, or a field error."""
    ids = list(dict.fromkeys(office_ids or []))
    offices = list(Office.objects.filter(pk__in=ids))
    if len(offices) != len(ids):
        raise field_error(
            field, "One or more offices do not exist in this clinic.", detail="Unknown office."
        )
    return offices


def _duplicate_doctor_error(exc: IntegrityError) -> ApplicationError | None:
    if constraint_of(exc) == "doctor_tenant_license_uniq":
        return ApplicationError(
            "A doctor with this licence number already works at this clinic.",
            code="duplicate_license",
            field_errors={"license_number": ["Already registered in this clinic."]},
        )
    if constraint_of(exc) == "doctor_tenant_user_uniq":
        return ApplicationError(
            "This person already has a doctor profile in this clinic.",
            code="already_doctor",
            field_errors={"email": ["Already a doctor of this clinic."]},
        )
    return None


@transaction.atomic
def doctor_profile_create(
    *,
    tenant,
    user,
    invitation=None,
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
            invitation=invitation,
            license_number=(license_number or "").strip(),
            specialization=(specialization or "").strip(),
            qualification=qualification or "",
            experience_years=experience_years,
        )
        full_clean(doctor, validate_unique=False, validate_constraints=False)
        try:
            # Licence numbers are unique per clinic; the index decides, race-free.
            with transaction.atomic():
                doctor.save(force_insert=True)
        except IntegrityError as exc:
            error = _duplicate_doctor_error(exc)
            if error is None:
                raise
            raise error from exc
        DoctorOffice.objects.bulk_create(
            [DoctorOffice(doctor=doctor, office=office) for office in offices]
        )
    return doctor


DOCTOR_EDITABLE_FIELDS = (
    "license_number",
    "specialization",
    "qualification",
    "experience_years",
    "consultation_fee",
    "consultation_duration",
)
MAX_WINDOWS_PER_DAY = 6


def _availability_rows(doctor: Doctor, windows, offices: list[Office]) -> list:
    """Validate weekly windows: a real weekday, start before end, no overlap within a day,
    and an office of this clinic (one of the doctor's, when the doctor has offices)."""
    office_ids = {o.pk for o in offices}
    wanted_offices = {w.get("office_id") for w in windows} - {None}
    known = {o.pk: o for o in Office.objects.filter(pk__in=wanted_offices)}
    rows, by_day = [], {}
    for index, window in enumerate(windows):
        key = f"availability[{index}]"
        weekday, start, end = window["weekday"], window["start_time"], window["end_time"]
        if not 0 <= weekday <= 6:
            raise field_error(f"{key}.weekday", "A weekday from 0 (Monday) to 6 (Sunday).")
        if start >= end:
            raise field_error(f"{key}.end_time", "The window must end after it starts.")
        office_id = window.get("office_id")
        if office_id is not None and (
            office_id not in known or (office_ids and office_id not in office_ids)
        ):
            raise field_error(
                f"{key}.office_id",
                "No such office among this doctor's offices in this clinic.",
                detail="Unknown office.",
            )
        by_day.setdefault(weekday, []).append((start, end, key))
        rows.append(
            DoctorAvailability(
                doctor=doctor, weekday=weekday, start_time=start, end_time=end, office_id=office_id
            )
        )
    for day_windows in by_day.values():
        if len(day_windows) > MAX_WINDOWS_PER_DAY:
            raise field_error("availability", f"At most {MAX_WINDOWS_PER_DAY} windows a day.")
        day_windows.sort()
        for (_s1, e1, _k1), (s2, _e2, k2) in zip(day_windows, day_windows[1:], strict=False):
            if s2 < e1:
                raise field_error(
                    f"{k2}.start_time", "Overlaps another window of the same weekday."
                )
    return rows


@transaction.atomic
def doctor_update(
    *, tenant, actor, doctor: Doctor, office_ids=None, availability=None, **changes
) -> Doctor:
    """Change a doctor's profile; `office_ids` and `availability` (a list of weekly windows
    `{weekday, start_time, end_time, office_id}`) replace what was there when given."""
    with tenant_context(tenant):
        doctor = Doctor.objects.select_for_update().get(pk=doctor.pk)
        for name, value in changes.items():
            if name not in DOCTOR_EDITABLE_FIELDS:
                raise ApplicationError(f"{name} cannot be changed.")
            if isinstance(value, str):
                value = value.strip()
            setattr(doctor, name, value)
        if isinstance(doctor.consultation_fee, int | str):
            doctor.consultation_fee = Decimal(doctor.consultation_fee)
        full_clean(doctor, validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():
                doctor.save()
        except IntegrityError as exc:
            error = _duplicate_doctor_error(exc)
            if error is None:
                raise
            raise error from exc
        if office_ids is not None:
            offices = offices_of_clinic(office_ids)
            DoctorOffice.objects.filter(doctor=doctor).exclude(
                office_id__in=[o.pk for o in offices]
            ).delete()
            linked = set(
                DoctorOffice.objects.filter(doctor=doctor).values_list("office_id", flat=True)
            )
            DoctorOffice.objects.bulk_create(
                [DoctorOffice(doctor=doctor, office=o) for o in offices if o.pk not in linked]
            )
        else:
            offices = list(doctor.offices.all())
        if availability is not None:
            rows = _availability_rows(doctor, availability, offices)
            DoctorAvailability.objects.filter(doctor=doctor).delete()
            DoctorAvailability.objects.bulk_create(rows)
        changed = sorted(changes)
        if office_ids is not None:
            changed.append("offices")
        if availability is not None:
            changed.append("availability")
        audit_record(
            action="doctor.updated", actor=actor, object=doctor, details={"fields": changed}
        )
    return doctor


@transaction.atomic
def doctor_deactivate(*, tenant, actor, doctor: Doctor) -> Doctor:
    """Doctors are deactivated, never deleted: their history stays, new bookings and
    prescriptions stop, and the seat is freed."""
    with tenant_context(tenant):
        doctor = Doctor.objects.select_for_update().get(pk=doctor.pk)
        if doctor.is_active:
            doctor.is_active = False
            doctor.save(update_fields=["is_active", "updated_at"])
            audit_record(action="doctor.deactivated", actor=actor, object=doctor)
    return doctor


@transaction.atomic
def doctor_activate(*, tenant, actor, doctor: Doctor) -> Doctor:
    with tenant_context(tenant):
        if not Doctor.objects.filter(pk=doctor.pk, is_active=True).exists():
            doctor_seat_check(tenant=tenant)
            doctor = Doctor.objects.select_for_update().get(pk=doctor.pk)
            doctor.is_active = True
            doctor.save(update_fields=["is_active", "updated_at"])
            audit_record(action="doctor.activated", actor=actor, object=doctor)
    return doctor


# --- a member's doctor profile -----------------------------------------------------------------
# A membership belongs to people (accounts) and a doctor profile to clinical records; the
# clinic layer (clinics.services) calls both sides, so neither calls the other.


def doctor_profile_claim(*, membership) -> int:
    """Give the doctor profile that waited on the membership's invitation to its person (the
    seat was counted when the doctor was invited). Answers how many profiles were claimed."""
    return Doctor.objects.filter(invitation__membership=membership, user__isnull=True).update(
        user_id=membership.user_id
    )


def doctor_profile_release(*, invitation) -> None:
    """A declined or revoked invitation frees the seat its waiting doctor profile held."""
    Doctor.objects.filter(invitation=invitation, user__isnull=True).update(is_active=False)


def doctor_profiles_deactivate(*, user_id) -> None:
    """A deactivated member's doctor profile stops taking bookings and frees its seat."""
    Doctor.objects.filter(user_id=user_id).update(is_active=False)


def doctor_profiles_reactivate(*, tenant, user_id) -> None:
    """A reactivated member's doctor profile comes back within the plan's doctor limit."""
    if Doctor.objects.filter(user_id=user_id).exists():
        doctor_seat_check(tenant=tenant)
        Doctor.objects.filter(user_id=user_id).update(is_active=True)
