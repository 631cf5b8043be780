"""Write operations on clinical records (HackSoft-style services).

Every write is a keyword-only function `<entity>_<action>` that opens the clinic's context
and a transaction, validates (`full_clean`) and raises `ApplicationError` with a stable code.
The API, the pages, the admin and the commands all call these.
"""

from __future__ import annotations

from clinical.services.appointments import (
    appointment_book,
    appointment_reschedule,
    appointment_transition,
    appointment_update,
)
from clinical.services.dental import (
    dental_attachment_create,
    dental_attachment_delete,
    dental_observation_create,
    dental_observation_delete,
    dental_observation_update,
    dental_procedure_create,
    dental_procedure_delete,
    dental_procedure_transition,
    dental_procedure_update,
    dental_template_catalogue_load,
    dental_template_create,
    dental_template_delete,
    dental_template_update,
)
from clinical.services.medicines import (
    medicine_catalogue_load,
    medicine_create,
    medicine_update,
)
from clinical.services.numbering import next_number
from clinical.services.patients import (
    patient_create,
    patient_delete,
    patient_seat_check,
    patient_update,
)
from clinical.services.practice import (
    doctor_activate,
    doctor_deactivate,
    doctor_profile_claim,
    doctor_profile_create,
    doctor_profile_release,
    doctor_profiles_deactivate,
    doctor_profiles_reactivate,
    doctor_seat_check,
    doctor_update,
    office_create,
    office_update,
    offices_of_clinic,
)
from clinical.services.prescriptions import (
    prescription_create,
    prescription_print_record,
    prescription_transition,
    prescription_update,
)
from clinical.services.shortkeys import (
    short_key_create,
    short_key_delete,
    short_key_update,
    short_key_use,
)

__all__ = [
    "dental_attachment_create",
    "dental_attachment_delete",
    "dental_observation_create",
    "dental_observation_delete",
    "dental_observation_update",
    "dental_procedure_create",
    "dental_procedure_delete",
    "dental_procedure_transition",
    "dental_procedure_update",
    "dental_template_catalogue_load",
    "dental_template_create",
    "dental_template_delete",
    "dental_template_update",
    "appointment_book",
    "appointment_reschedule",
    "appointment_transition",
    "appointment_update",
    "doctor_activate",
    "doctor_deactivate",
    "doctor_profile_claim",
    "doctor_profile_release",
    "doctor_profiles_deactivate",
    "doctor_profiles_reactivate",
    "offices_of_clinic",
    "doctor_profile_create",
    "doctor_seat_check",
    "doctor_update",
    "medicine_catalogue_load",
    "medicine_create",
    "medicine_update",
    "next_number",
    "office_create",
    "office_update",
    "patient_create",
    "patient_delete",
    "patient_seat_check",
    "patient_update",
    "prescription_create",
    "prescription_print_record",
    "prescription_transition",
    "prescription_update",
    "short_key_create",
    "short_key_delete",
    "short_key_update",
    "short_key_use",
]
