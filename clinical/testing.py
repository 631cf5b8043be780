"""Row builders for the clinical models whose rows need particular values (see
tenants.testing.build); used by the generated isolation suite and by the clinical tests."""

from __future__ import annotations

import datetime
import itertools

from django.utils import timezone

from accounts.testing import create_user
from clinical.models import (
    Appointment,
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    Doctor,
    DoctorAvailability,
    Medicine,
    Office,
    Patient,
    Prescription,
    PrescriptionItem,
    PrintTemplate,
    ShortKey,
    ShortKeyItem,
)
from clinical.models.dental import ALL_TEETH
from tenants.testing import build, register_builder

_n = itertools.count(1)


@register_builder(Doctor)
def build_doctor(**fields):
    """A doctor who has joined (with a person); pass `user=None, invitation=...` for one
    whose invitation is still pending."""
    n = next(_n)
    if "user" not in fields:
        # A doctor with a person is a member of the clinic, as accepting the invitation makes
        # them: people are under row-level security, and a clinic sees only its members.
        from accounts.models import Membership

        fields["user"] = create_user()
        Membership.objects.create(user=fields["user"], role="doctor")
    fields.setdefault("license_number", f"LIC-B{n:05d}")
    fields.setdefault("specialization", "General Medicine")
    return Doctor.objects.create(**fields)


@register_builder(DoctorAvailability)
def build_availability(**fields):
    fields.setdefault("doctor", fields.get("doctor") or build(Doctor))
    fields.setdefault("weekday", 0)
    fields.setdefault("start_time", datetime.time(9, 0))
    fields.setdefault("end_time", datetime.time(13, 0))
    return DoctorAvailability.objects.create(**fields)


@register_builder(Medicine)
def build_medicine(**fields):
    n = next(_n)
    fields.setdefault("name", f"Medicine {n}")
    fields.setdefault("dosage_form", Medicine.DosageForm.TABLET)
    fields.setdefault("strength", "500 mg")
    return Medicine.objects.create(**fields)


def _build_line(model, parent: str, parent_model, fields):
    # A line names exactly one medicine: the clinic's own unless a shared one is given.
    named = ("medicine", "medicine_id", "shared_medicine", "shared_medicine_id")
    if all(fields.get(name) is None for name in named):
        fields["medicine"] = build(Medicine)
    if parent not in fields and f"{parent}_id" not in fields:
        fields[parent] = build(parent_model)
    fields.setdefault("dosage", "1 tablet")
    fields.setdefault("frequency", "1-0-1")
    fields.setdefault("duration", "5 days")
    return model.objects.create(**fields)


@register_builder(PrescriptionItem)
def build_prescription_item(**fields):
    return _build_line(PrescriptionItem, "prescription", Prescription, fields)


@register_builder(ShortKeyItem)
def build_short_key_item(**fields):
    return _build_line(ShortKeyItem, "short_key", ShortKey, fields)


@register_builder(Appointment)
def build_appointment(**fields):
    n = next(_n)
    start = fields.pop("start_time", datetime.time(9, 0))
    duration = fields.pop("duration_minutes", 15)
    end = (
        datetime.datetime.combine(datetime.date.today(), start)
        + datetime.timedelta(minutes=duration)
    ).time()
    fields.setdefault("patient", fields.get("patient") or build(Patient))
    fields.setdefault("doctor", fields.get("doctor") or build(Doctor))
    fields.setdefault("appointment_date", timezone.localdate() + datetime.timedelta(days=1))
    fields.setdefault("appointment_number", f"APT-TEST-{n:06d}")
    return Appointment.objects.create(
        start_time=start, end_time=end, duration_minutes=duration, **fields
    )


@register_builder(Prescription)
def build_prescription(**fields):
    n = next(_n)
    fields.setdefault("patient", fields.get("patient") or build(Patient))
    fields.setdefault("doctor", fields.get("doctor") or build(Doctor))
    fields.setdefault("visit_date", timezone.localdate())
    fields.setdefault("diagnosis", "Acute pharyngitis")
    fields.setdefault("prescription_number", f"RX-TEST-{n:06d}")
    return Prescription.objects.create(**fields)


@register_builder(DentalObservation)
def build_observation(**fields):
    fields.setdefault("patient", fields.get("patient") or build(Patient))
    fields.setdefault("doctor", fields.get("doctor") or build(Doctor))
    # A different tooth each time, so that two rows never read alike (the admin suite
    # looks for one clinic's text on the other's pages).
    fields.setdefault("tooth_number", ALL_TEETH[next(_n) % len(ALL_TEETH)])
    fields.setdefault("condition_type", "caries")
    return DentalObservation.objects.create(**fields)


@register_builder(DentalProcedure)
def build_procedure(**fields):
    fields.setdefault("patient", fields.get("patient") or build(Patient))
    fields.setdefault("doctor", fields.get("doctor") or build(Doctor))
    fields.setdefault("procedure_code", "D2391")
    fields.setdefault("procedure_name", f"Resin composite, one surface {next(_n)}")
    fields.setdefault("teeth", [36])
    return DentalProcedure.objects.create(**fields)


@register_builder(DentalTemplate)
def build_dental_template(**fields):
    fields.setdefault("name", f"Template {next(_n)}")
    fields.setdefault("notes", "Caries on the occlusal surface.")
    return DentalTemplate.objects.create(**fields)


@register_builder(DentalAttachment)
def build_attachment(**fields):
    """A row only: the file name points at nothing in storage unless the test stores it."""
    if fields.get("procedure") is None:
        fields.setdefault("observation", fields.get("observation") or build(DentalObservation))
    parent = fields.get("observation") or fields["procedure"]
    fields.setdefault("patient", parent.patient)
    fields.setdefault("file", f"{parent.tenant_id}/dental/test-{next(_n)}.png")
    fields.setdefault("file_type", "xray")
    fields.setdefault("content_type", "image/png")
    fields.setdefault("size", 1)
    fields.setdefault("original_name", "xray.png")
    return DentalAttachment.objects.create(**fields)


@register_builder(PrintTemplate)
def build_print_template(**fields):
    """An office's template (a fresh office each time: one template per scope), unless a
    scope is given."""
    if fields.get("office") is None and fields.get("doctor") is None:
        fields["office"] = build(Office, name=f"Branch {next(_n)}")
    fields.setdefault("name", f"Letterhead {next(_n)}")
    return PrintTemplate.objects.create(**fields)


FIRST_NAMES = ["Aarav", "Diya", "Ishaan", "Kavya", "Rohan", "Saanvi", "Vihaan", "Anaya"]
LAST_NAMES = ["Sharma", "Iyer", "Reddy", "Patel", "Nair", "Gupta", "Das", "Khan"]


def bulk_clinical_records(
    *,
    doctor,
    patients: int,
    prescriptions_per_patient: int = 1,
    mobile_prefix: str = "9800",
    first_day: datetime.date | None = None,
) -> list[Patient]:
    """A clinic's volume in its busy tables, written in bulk in the current clinic context
    (plan checks and benchmarks): patients `Kavya00011 Patel` with mobiles
    `<mobile_prefix><6 digits>`, one completed appointment each (40 a day from `first_day`),
    and `prescriptions_per_patient` prescriptions each, newest today."""
    today = timezone.localdate()
    first_day = first_day or today
    made = Patient.objects.bulk_create(
        (
            Patient(
                first_name=f"{FIRST_NAMES[n % 8]}{n:05d}",
                last_name=LAST_NAMES[(n // 8) % 8],
                mobile=f"{mobile_prefix}{n:06d}",
                gender="female" if n % 2 else "male",
            )
            for n in range(patients)
        ),
        batch_size=1000,
    )
    Appointment.objects.bulk_create(
        (
            Appointment(
                appointment_number=f"APT-{n:06d}",
                patient=made[n],
                doctor=doctor,
                appointment_date=first_day + datetime.timedelta(days=n // 40),
                start_time=datetime.time(8 + (n % 40) // 4, (n % 4) * 15),
                end_time=datetime.time(8 + (n % 40) // 4, (n % 4) * 15 + 14),
                duration_minutes=14,
                status=Appointment.Status.COMPLETED,
            )
            for n in range(patients)
        ),
        batch_size=1000,
    )
    Prescription.objects.bulk_create(
        (
            Prescription(
                prescription_number=f"RX-{n:07d}",
                patient=made[n % patients],
                doctor=doctor,
                visit_date=today - datetime.timedelta(days=n // 12),
                diagnosis="Routine review",
            )
            for n in range(patients * prescriptions_per_patient)
        ),
        batch_size=1000,
    )
    return made
