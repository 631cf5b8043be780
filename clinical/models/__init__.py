"""Clinical records. Every model here is clinic-owned (`TenantOwnedModel`), except the
medicine catalogue, a `CatalogModel` whose shared rows (tenant empty) every clinic reads, and
the shared dental observation templates, a reference table of their own
(`SharedDentalTemplate`, a `SharedCatalogModel`) beside each clinic's (`DentalTemplate`)."""

from __future__ import annotations

from clinical.models.appointments import Appointment
from clinical.models.counters import NumberCounter
from clinical.models.dental import (
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    SharedDentalTemplate,
)
from clinical.models.medicines import Medicine
from clinical.models.patients import Patient, PatientQuerySet
from clinical.models.practice import Doctor, DoctorAvailability, DoctorOffice, Office
from clinical.models.prescriptions import Prescription, PrescriptionItem, PrescriptionPrint
from clinical.models.printing import PrintTemplate
from clinical.models.shortkeys import ShortKey, ShortKeyItem

__all__ = [
    "Appointment",
    "DentalAttachment",
    "DentalObservation",
    "DentalProcedure",
    "DentalTemplate",
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
    "PrintTemplate",
    "SharedDentalTemplate",
    "ShortKey",
    "ShortKeyItem",
]
