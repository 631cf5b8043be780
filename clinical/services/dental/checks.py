"""Checks shared by the dental services: same-clinic, same-patient references, field
application and validation, and the deletion of stored files once a deletion commits.

Every reference in a request (patient, appointment, prescription, observation, procedure)
must be a row of the same clinic and of the same patient, else a 400 field error.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from clinical.models import Appointment, DentalAttachment, Patient, Prescription
from clinical.services.common import clean_text, field_error, full_clean, get_in_clinic
from core.errors import ApplicationError

TEXT_FIELDS = ("notes", "procedure_name", "name")
REFERENCE_NAMES = {
    "patient": "patient_id",
    "doctor": "doctor_id",
    "appointment": "appointment_id",
    "prescription": "prescription_id",
    "observation": "observation_id",
    "procedure": "procedure_id",
}


def patient_in_clinic(patient_id) -> Patient:
    """The active patient of this id in the current clinic; the id is required."""
    patient = get_in_clinic(
        Patient.objects.active(), patient_id, field="patient_id", label="patient"
    )
    if patient is None:
        raise field_error("patient_id", "This field is required.")
    return patient


def same_patient(row, patient: Patient, field: str, label: str) -> None:
    if row is not None and row.patient_id != patient.pk:
        raise field_error(
            field, f"The {label} is of another patient.", code=f"{label.replace(' ', '_')}_mismatch"
        )


def appointment_of(appointment_id, patient: Patient) -> Appointment | None:
    appointment = get_in_clinic(
        Appointment.objects.all(), appointment_id, field="appointment_id", label="appointment"
    )
    same_patient(appointment, patient, "appointment_id", "appointment")
    return appointment


def prescription_of(prescription_id, patient: Patient, appointment) -> Prescription | None:
    prescription = get_in_clinic(
        Prescription.objects.all(), prescription_id, field="prescription_id", label="prescription"
    )
    same_patient(prescription, patient, "prescription_id", "prescription")
    if (
        prescription is not None
        and appointment is not None
        and prescription.appointment_id not in (None, appointment.pk)
    ):
        raise field_error(
            "prescription_id",
            "The prescription was written for another appointment.",
            code="prescription_mismatch",
        )
    return prescription


def apply_fields(row, fields: dict, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for name, value in fields.items():
        if name not in allowed:
            raise ApplicationError(f"{name} cannot be changed.", code="not_editable")
        if name in TEXT_FIELDS:
            value = clean_text(value)
        elif name in ("procedure_code",) and isinstance(value, str):
            value = clean_text(value).upper()
        setattr(row, name, value)


def clean_row(row, *, exclude: Iterable[str] = ()) -> None:
    full_clean(
        row,
        exclude=[*exclude],
        validate_unique=False,
        validate_constraints=False,
        rename=REFERENCE_NAMES,
    )


def not_in_future(value, name: str) -> None:
    if value is not None and value > timezone.localdate():
        raise field_error(name, "Cannot be in the future.")


def delete_files_on_commit(names: list[str]) -> None:
    storage = DentalAttachment._meta.get_field("file").storage
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: [storage.delete(name) for name in names])


def attachment_files(**filters) -> list[str]:
    return list(DentalAttachment.objects.filter(**filters).values_list("file", flat=True))
