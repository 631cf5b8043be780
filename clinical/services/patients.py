"""Write operations on patients and families.

A family is the set of active patients sharing one mobile number: the first one registered
is its primary member (relationship `self`), every other member states their relationship to
that person, and a number carries at most MAX_FAMILY_SIZE patients.

Every write that adds a patient or moves one to another number runs under the lock on the
clinic's row (patient_seat_check): the plan's patient limit, the family size and the single
`self` per family are then checked and written as one race-free step.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinical.models import Appointment, Patient
from clinical.models.patients import MAX_FAMILY_SIZE
from clinical.services.common import (
    clean_text,
    constraint_of,
    field_error,
    full_clean,
    limit_reached,
)
from clinical.versions import check_version
from core.errors import ApplicationError
from core.validators import normalize_indian_mobile
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.services import tenant_lock

SELF = Patient.Relationship.SELF
# API names of the model fields, for field errors.
FIELD_NAMES = {"mobile": "mobile_number"}
PATIENT_FIELDS = (
    "first_name",
    "last_name",
    "mobile",
    "date_of_birth",
    "gender",
    "email",
    "address",
    "notes",
    "emergency_contact",
    "relationship_to_primary",
    "print_language",
)
OLDEST_AGE_YEARS = 130


def patient_seat_check(*, tenant) -> None:
    """The plan's patient limit, race-free: call inside the transaction that adds the
    patient; it locks the clinic's row, so concurrent registrations queue behind it."""
    locked = tenant_lock(tenant)
    limit = locked.max_patients
    if limit is None:
        return
    current = Patient.objects.active().count()
    if current >= limit:
        raise limit_reached("patients", limit, current, locked)


def normalize_mobile(value, *, field: str = "mobile_number") -> str:
    try:
        return normalize_indian_mobile(value)
    except ValidationError as exc:
        raise field_error(field, exc.messages[0], code="invalid_mobile") from None


def _check_family(patient: Patient, *, relationship_given: bool) -> None:
    """Family rules for a patient about to join the family of `patient.mobile`."""
    others = list(
        Patient.objects.active()
        .filter(mobile=patient.mobile)
        .exclude(pk=patient.pk)
        .values_list("relationship_to_primary", flat=True)
    )
    if len(others) >= MAX_FAMILY_SIZE:
        raise ApplicationError(
            f"A mobile number can be shared by at most {MAX_FAMILY_SIZE} patients.",
            code="family_full",
            field_errors={"mobile_number": [f"Already used by {MAX_FAMILY_SIZE} patients."]},
            extra={"limit": MAX_FAMILY_SIZE},
        )
    has_primary = SELF in others
    if not others or not has_primary:
        # The first member (or the first after the primary was deleted) is the primary.
        if relationship_given and patient.relationship_to_primary != SELF and not others:
            raise field_error(
                "relationship_to_primary",
                "The first patient with a mobile number is the family's primary member: "
                "use 'self'.",
                code="invalid_relationship",
            )
        if not relationship_given:
            patient.relationship_to_primary = SELF
        return
    if not relationship_given:
        raise field_error(
            "relationship_to_primary",
            "This mobile number already belongs to a family: give this patient's "
            "relationship to its primary member.",
            code="relationship_required",
        )
    if patient.relationship_to_primary == SELF:
        raise field_error(
            "relationship_to_primary",
            "This family already has its primary member ('self'); choose the relationship "
            "to that person.",
            code="invalid_relationship",
        )


def _check_birth_date(patient: Patient) -> None:
    born = patient.date_of_birth
    if born is None:
        return
    today = timezone.localdate()
    if born > today:
        raise field_error("date_of_birth", "The date of birth cannot be in the future.")
    if born < today - datetime.timedelta(days=366 * OLDEST_AGE_YEARS):
        raise field_error("date_of_birth", f"More than {OLDEST_AGE_YEARS} years ago.")


def _save_patient(patient: Patient, *, insert: bool) -> None:
    try:
        # Uniqueness is decided by the database (race-free); the savepoint keeps the
        # request's transaction usable for the error answer.
        with transaction.atomic():
            patient.save(force_insert=insert)
    except IntegrityError as exc:
        if constraint_of(exc) == "patient_tenant_mobile_name_uniq":
            raise ApplicationError(
                "A patient with this first name is already registered with this mobile number.",
                code="duplicate_patient",
                field_errors={"first_name": ["Already registered with this mobile number."]},
            ) from exc
        if constraint_of(exc) == "patient_tenant_family_self_uniq":
            raise field_error(
                "relationship_to_primary",
                "This family already has its primary member ('self').",
                code="invalid_relationship",
            ) from exc
        raise


def _prepare(patient: Patient, fields: dict) -> None:
    for name, value in fields.items():
        if name not in PATIENT_FIELDS:
            raise ApplicationError(f"{name} cannot be changed.")
        if name == "mobile":
            value = normalize_mobile(value)
        elif isinstance(value, str):
            value = clean_text(value)
        setattr(patient, name, value)
    # full_clean first: it also turns text ("1985-01-20") into the field's type.
    full_clean(patient, validate_unique=False, validate_constraints=False, rename=FIELD_NAMES)
    _check_birth_date(patient)


@transaction.atomic
def patient_create(*, tenant, actor, first_name: str, mobile: str, **fields) -> Patient:
    """Register a patient within the plan's limit and the family rules. Omit
    `relationship_to_primary` for the first patient of a number (it becomes `self`)."""
    with tenant_context(tenant):
        relationship_given = fields.get("relationship_to_primary") not in (None, "")
        if not relationship_given:
            fields.pop("relationship_to_primary", None)
        patient = Patient()
        _prepare(patient, {"first_name": first_name, "mobile": mobile, **fields})
        patient_seat_check(tenant=tenant)
        _check_family(patient, relationship_given=relationship_given)
        _save_patient(patient, insert=True)
        audit_record(action="patient.created", actor=actor, object=patient, patient_id=patient.pk)
    return patient


@transaction.atomic
def patient_update(*, tenant, actor, patient: Patient, expected_version=None, **changes) -> Patient:
    """Change a patient's record.
    `expected_version` (clinical.versions): the version the editor saw; another one is a 409
    `edit_conflict` and nothing changes."""
    with tenant_context(tenant):
        patient = Patient.objects.active().select_for_update().get(pk=patient.pk)
        check_version(patient, expected_version)
        old_mobile, old_relationship = patient.mobile, patient.relationship_to_primary
        _prepare(patient, changes)
        moved = patient.mobile != old_mobile
        if moved or patient.relationship_to_primary != old_relationship:
            # Joining another family or changing role in one: the same race-free checks as
            # a registration, under the clinic's lock.
            tenant_lock(tenant)
            _check_family(
                patient,
                relationship_given="relationship_to_primary" in changes or not moved,
            )
        _save_patient(patient, insert=False)
        audit_record(
            action="patient.updated",
            actor=actor,
            object=patient,
            patient_id=patient.pk,
            details={"fields": sorted(changes)},
        )
    return patient


@transaction.atomic
def patient_delete(*, tenant, actor, patient: Patient) -> Patient:
    """Soft delete: the record leaves lists and searches, its appointments, prescriptions
    and audit history stay. Its upcoming bookings are cancelled, freeing the doctors' time."""
    with tenant_context(tenant):
        patient = Patient.objects.active().select_for_update().get(pk=patient.pk)
        now = timezone.now()
        patient.deleted_at = now
        patient.save(update_fields=["deleted_at", "updated_at"])
        cancelled = Appointment.objects.filter(
            patient=patient,
            status__in=Appointment.EDITABLE,
            appointment_date__gte=timezone.localdate(),
        ).update(
            status=Appointment.Status.CANCELLED,
            cancellation_reason="Patient record deleted.",
            status_changed_at=now,
            updated_at=now,
        )
        audit_record(
            action="patient.deleted",
            actor=actor,
            object=patient,
            patient_id=patient.pk,
            details={"appointments_cancelled": cancelled},
        )
    return patient
