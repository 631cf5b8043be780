"""Clinical records. Every model here is clinic-owned (`TenantOwnedModel`), except the shared
medicine catalogue (`SharedMedicine`, a reference table every clinic reads), the view of the
catalogue a clinic sees (`CatalogueMedicine`) and the dental observation templates, a
`CatalogModel` whose shared rows (tenant empty) every clinic reads."""

from __future__ import annotations

from clinical.models.appointments import Appointment
from clinical.models.counters import NumberCounter
from clinical.models.dental import (
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
)
from clinical.models.medicines import CatalogueMedicine, Medicine, SharedMedicine
from clinical.models.patients import Patient, PatientQuerySet
from clinical.models.practice import Doctor, DoctorAvailability, DoctorOffice, Office
from clinical.models.prescriptions import Prescription, PrescriptionItem, PrescriptionPrint
from clinical.models.printing import PrintTemplate
from clinical.models.shortkeys import ShortKey, ShortKeyItem

__all__ = [
    "Appointment",
    "CatalogueMedicine",
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
    "SharedMedicine",
    "ShortKey",
    "ShortKeyItem",
]
