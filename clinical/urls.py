"""The clinical API under /api/v1/ (doctors, patients, medicines, short keys, appointments,
prescriptions, dental records, print templates). Paths work with and without a trailing slash."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from clinical.api.appointments import AppointmentViewSet
from clinical.api.dental import (
    DentalAttachmentViewSet,
    DentalObservationViewSet,
    DentalProcedureViewSet,
)
from clinical.api.dental_templates import DentalTemplateViewSet
from clinical.api.doctors import DoctorViewSet
from clinical.api.medicines import MedicineViewSet
from clinical.api.patients import PatientViewSet
from clinical.api.prescriptions import PrescriptionViewSet
from clinical.api.printing import PrintTemplateViewSet
from clinical.api.shortkeys import ShortKeyViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("doctors", DoctorViewSet, basename="doctor")
router.register("patients", PatientViewSet, basename="patient")
router.register("medicines", MedicineViewSet, basename="medicine")
router.register("short-keys", ShortKeyViewSet, basename="short-key")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("prescriptions", PrescriptionViewSet, basename="prescription")
router.register("dental/observations", DentalObservationViewSet, basename="dental-observation")
router.register("dental/procedures", DentalProcedureViewSet, basename="dental-procedure")
router.register("dental/templates", DentalTemplateViewSet, basename="dental-template")
router.register("dental/attachments", DentalAttachmentViewSet, basename="dental-attachment")
router.register("print-templates", PrintTemplateViewSet, basename="print-template")

urlpatterns = router.urls
