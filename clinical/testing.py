"""Row builders for the clinical models whose rows need particular values (see
tenants.testing.build); used by the generated isolation suite and by the clinical tests."""

from __future__ import annotations

import datetime
import itertools

from django.utils import timezone

from clinical.models import Appointment, DoctorAvailability, Medicine, Prescription
from tenants.testing import build, register_builder

_n = itertools.count(1)


@register_builder(DoctorAvailability)
def build_availability(**fields):
    from clinical.models import Doctor

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


@register_builder(Appointment)
def build_appointment(**fields):
    from clinical.models import Doctor, Patient

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
    from clinical.models import Doctor, Patient

    n = next(_n)
    fields.setdefault("patient", fields.get("patient") or build(Patient))
    fields.setdefault("doctor", fields.get("doctor") or build(Doctor))
    fields.setdefault("visit_date", timezone.localdate())
    fields.setdefault("diagnosis", "Acute pharyngitis")
    fields.setdefault("prescription_number", f"RX-TEST-{n:06d}")
    return Prescription.objects.create(**fields)
