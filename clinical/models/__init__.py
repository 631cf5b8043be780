"""Clinical records. Every model here is clinic-owned (`TenantOwnedModel`), except the
medicine catalogue, a `CatalogModel` whose shared rows (tenant empty) every clinic reads."""

from __future__ import annotations

from clinical.models.appointments import Appointment
from clinical.models.counters import NumberCounter
from clinical.models.medicines import Medicine
from clinical.models.patients import Patient, PatientQuerySet
from clinical.models.practice import Doctor, DoctorAvailability, DoctorOffice, Office
from clinical.models.prescriptions import Prescription, PrescriptionItem, PrescriptionPrint
from clinical.models.shortkeys import ShortKey, ShortKeyItem

__all__ = [
    "Appointment",
    "Doctor",
    "DoctorAvailability",
    "DoctorOffice",
    "Medicine",
    "NumberCounter",
    "Office",
    "Patient",
    "PatientQuerySet",
    "Prescription",
    "PrescriptionItem",
    "PrescriptionPrint",
    "ShortKey",
    "ShortKeyItem",
]
