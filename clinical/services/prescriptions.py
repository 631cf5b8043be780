"""Prescriptions: written by a doctor, only as themself, and editable while draft or active."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from clinical.models import (
    Appointment,
    NumberCounter,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionPrint,
)
from clinical.selectors import short_key_lines, short_keys_visible_to
from clinical.services.common import (
    acting_doctor,
    clean_text,
    constraint_of,
    field_error,
    full_clean,
    get_in_clinic,
)
from clinical.services.dental.observations import dental_observations_link_to_prescription
from clinical.services.items import build_items
from clinical.services.numbering import next_number
from clinical.services.shortkeys import normalize_code
from clinical.versions import check_version
from core.errors import ApplicationError, ConflictError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context

PRESCRIPTION_TEXT_FIELDS = (
    "chief_complaint",
    "diagnosis",
    "symptoms",
    "clinical_notes",
    "instructions",
)
PRESCRIPTION_EDITABLE_FIELDS = (*PRESCRIPTION_TEXT_FIELDS, "visit_date", "follow_up_date")
# Appointments in these statuses never took place: nothing to prescribe for.
UNPRESCRIBABLE = (
    Appointment.Status.CANCELLED,
    Appointment.Status.NO_SHOW,
    Appointment.Status.RESCHEDULED,
)
FIELD_NAMES = {"patient": "patient_id", "doctor": "doctor_id", "appointment": "appointment_id"}
ITEM_EXTRA_FIELDS = ("generic_substitution_allowed",)


def _own(actor, prescription: Prescription):
    doctor = acting_doctor(actor)
    if prescription.doctor_id != doctor.pk:
        raise PermissionDeniedError(
            "Only the doctor who wrote a prescription can change it.",
            code="not_own_prescription",
        )
    return doctor


def _check_dates(prescription: Prescription) -> None:
    today = timezone.localdate()
    if prescription.visit_date > today:
        raise field_error("visit_date", "The visit date cannot be in the future.")
    if prescription.visit_date < today - datetime.timedelta(days=366):
        raise field_error("visit_date", "More than a year ago; write a new prescription.")
    follow_up = prescription.follow_up_date
    if follow_up is not None and follow_up < prescription.visit_date:
        raise field_error("follow_up_date", "The follow-up cannot be before the visit.")


def _items_from_short_key(actor, code) -> list[dict]:
    key = (
        short_keys_visible_to(actor)
        .filter(code=normalize_code(code), is_active=True)
        .prefetch_related("items")
        .first()
    )
    if key is None:
        raise field_error(
            "short_key_code",
            "No such short key for you in this clinic.",
            detail="Unknown short key.",
        )
    type(key).objects.filter(pk=key.pk).update(
        usage_count=F("usage_count") + 1, last_used_at=timezone.now()
    )
    return short_key_lines(key)


def _apply_text(prescription: Prescription, fields: dict) -> None:
    for name, value in fields.items():
        if name not in PRESCRIPTION_EDITABLE_FIELDS:
            raise ApplicationError(f"{name} cannot be changed.")
        if name in PRESCRIPTION_TEXT_FIELDS:
            value = clean_text(value)
        setattr(prescription, name, value)


def _replace_items(prescription: Prescription, items) -> list[PrescriptionItem]:
    rows = build_items(
        PrescriptionItem, items, extra_fields=ITEM_EXTRA_FIELDS, parent_field="prescription"
    )
    PrescriptionItem.objects.filter(prescription=prescription).delete()
    for row in rows:
        row.prescription = prescription
    return PrescriptionItem.objects.bulk_create(rows)


@transaction.atomic
def prescription_create(
    *,
    tenant,
    actor,
    patient_id,
    diagnosis: str,
    doctor_id=None,
    appointment_id=None,
    visit_date: datetime.date | None = None,
    items=None,
    short_key_code: str | None = None,
    status: str = Prescription.Status.DRAFT,
    **fields,
) -> Prescription:
    """Write a prescription as the actor's own doctor profile, with 1-20 items given
    directly or taken from a short key, numbered RX-YYYYMMDD-NNNN."""
    with tenant_context(tenant):
        doctor = acting_doctor(actor)
        if doctor_id is not None and str(doctor_id) != str(doctor.pk):
            raise PermissionDeniedError(
                "A doctor writes prescriptions only as themself.",
                code="not_own_prescription",
                field_errors={"doctor_id": ["Must be your own doctor profile."]},
            )
        patient = get_in_clinic(
            Patient.objects.active(), patient_id, field="patient_id", label="patient"
        )
        if patient is None:
            raise field_error("patient_id", "This field is required.")
        appointment = get_in_clinic(
            Appointment.objects.all(),
            appointment_id,
            field="appointment_id",
            label="appointment",
            lock=True,
        )
        if appointment is not None:
            if appointment.patient_id != patient.pk or appointment.doctor_id != doctor.pk:
                raise field_error(
                    "appointment_id",
                    "The appointment is of another patient or doctor.",
                    code="appointment_mismatch",
                )
            if appointment.status in UNPRESCRIBABLE:
                raise field_error(
                    "appointment_id",
                    f"The appointment was {appointment.get_status_display().lower()}.",
                )
        if status not in (Prescription.Status.DRAFT, Prescription.Status.ACTIVE):
            raise field_error("status", "A new prescription is a draft or active.")
        if short_key_code and items:
            raise field_error("short_key_code", "Give either items or a short key, not both.")
        if short_key_code:
            items = _items_from_short_key(actor, short_key_code)
        prescription = Prescription(
            patient=patient,
            doctor=doctor,
            appointment=appointment,
            visit_date=visit_date or timezone.localdate(),
            status=status,
            created_by=actor,
            status_changed_at=timezone.now(),
        )
        _apply_text(prescription, {"diagnosis": diagnosis, **fields})
        full_clean(
            prescription,
            exclude=["prescription_number", "patient", "doctor", "appointment", "created_by"],
            validate_unique=False,
            validate_constraints=False,
            rename=FIELD_NAMES,
        )
        _check_dates(prescription)
        rows = build_items(
            PrescriptionItem, items, extra_fields=ITEM_EXTRA_FIELDS, parent_field="prescription"
        )
        prescription.prescription_number = next_number(NumberCounter.Kind.PRESCRIPTION)
        try:
            with transaction.atomic():
                prescription.save(force_insert=True)
        except IntegrityError as exc:
            if constraint_of(exc) == "prescription_tenant_appointment_uniq":
                raise ConflictError(
                    "This appointment already has a prescription; edit that one.",
                    code="appointment_has_prescription",
                    field_errors={"appointment_id": ["Already has a prescription."]},
                ) from exc
            raise
        for row in rows:
            row.prescription = prescription
        PrescriptionItem.objects.bulk_create(rows)
        # The dental findings of this visit that no prescription covers yet belong to it.
        linked = dental_observations_link_to_prescription(prescription=prescription)
        audit_record(
            action="prescription.created",
            actor=actor,
            object=prescription,
            patient_id=patient.pk,
            details={"dental_observations_linked": linked} if linked else None,
        )
    return prescription


def _locked(prescription: Prescription) -> Prescription:
    return Prescription.objects.select_for_update().get(pk=prescription.pk)


@transaction.atomic
def prescription_update(
    *, tenant, actor, prescription: Prescription, items=None, expected_version=None, **changes
) -> Prescription:
    """Edit a draft or active prescription (its own doctor only); `items` replaces them.
    `expected_version` (clinical.versions): the version the editor saw; another one is a 409
    `edit_conflict` and nothing changes."""
    with tenant_context(tenant):
        prescription = _locked(prescription)
        check_version(prescription, expected_version)
        _own(actor, prescription)
        if not prescription.is_editable:
            raise ConflictError(
                f"A {prescription.get_status_display().lower()} prescription cannot be edited.",
                code="not_editable",
            )
        _apply_text(prescription, changes)
        full_clean(
            prescription,
            exclude=["patient", "doctor", "appointment", "created_by"],
            validate_unique=False,
            validate_constraints=False,
            rename=FIELD_NAMES,
        )
        _check_dates(prescription)
        prescription.save()
        if items is not None:
            _replace_items(prescription, items)
        audit_record(
            action="prescription.updated",
            actor=actor,
            object=prescription,
            patient_id=prescription.patient_id,
            details={"fields": sorted(changes) + (["items"] if items is not None else [])},
        )
    return prescription


@transaction.atomic
def prescription_transition(
    *, tenant, actor, prescription: Prescription, status: str
) -> Prescription:
    """Move a prescription along Prescription.TRANSITIONS (its own doctor only)."""
    with tenant_context(tenant):
        prescription = _locked(prescription)
        _own(actor, prescription)
        if status not in Prescription.Status.values:
            raise field_error("status", f"Unknown status {status!r}.")
        if not prescription.can_move_to(status):
            allowed = sorted(Prescription.TRANSITIONS.get(prescription.status, ()))
            raise ConflictError(
                f"A {prescription.get_status_display().lower()} prescription cannot become "
                f"{status}.",
                code="invalid_transition",
                extra={"from": prescription.status, "to": status, "allowed": allowed},
            )
        previous = prescription.status
        prescription.status = status
        prescription.status_changed_at = timezone.now()
        prescription.save()
        audit_record(
            action="prescription.status_changed",
            actor=actor,
            object=prescription,
            patient_id=prescription.patient_id,
            details={"from": previous, "to": status},
        )
    return prescription


@transaction.atomic
def prescription_print_record(
    *, tenant, actor, prescription: Prescription, fmt: str, request=None
) -> PrescriptionPrint:
    """Record that a prescription was printed (who, when, format), in the clinic's print
    history and in the audit log."""
    with tenant_context(tenant):
        printed = PrescriptionPrint(prescription=prescription, printed_by=actor, format=fmt)
        full_clean(printed, exclude=["prescription", "printed_by"])
        printed.save(force_insert=True)
        audit_record(
            action="prescription.printed",
            actor=actor,
            request=request,
            object=prescription,
            patient_id=prescription.patient_id,
            details={"format": fmt, "prescription_number": prescription.prescription_number},
        )
    return printed
