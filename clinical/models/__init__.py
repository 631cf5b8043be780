"""Clinical records. Every model here is clinic-owned (`TenantOwnedModel`), except the shared
catalogues, reference tables every clinic reads and none writes (`SharedMedicine`,
`SharedDentalTemplate`, each a `SharedCatalogModel` beside the clinic's own table), and the
view of the medicine catalogue a clinic sees (`CatalogueMedicine`)."""

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
    "SharedDentalTemplate",
    "ShortKey",
    "ShortKeyItem",
]
