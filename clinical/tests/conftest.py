"""Fixtures of the clinical tests: clinic A (owner alice, doctor bob with a profile and
availability every day 08:00-20:00), a patient, a clinic medicine, and helpers."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.testing import add_member, bearer
from clinical.models import Doctor, DoctorAvailability, Medicine
from clinical.services import patient_create
from tenants.context import tenant_context
from tenants.testing import build


def make_doctor(clinic, user, *, license_number=None, duration=15, hours=(8, 20)):
    with tenant_context(clinic):
        doctor = build(
            Doctor,
            user=user,
            license_number=license_number or f"LIC-{user.pk.hex[:8]}",
            specialization="General Medicine",
            qualification="MBBS",
            consultation_duration=duration,
        )
        for weekday in range(7):
            DoctorAvailability.objects.create(
                doctor=doctor,
                weekday=weekday,
                start_time=datetime.time(hours[0], 0),
                end_time=datetime.time(hours[1], 0),
            )
    return doctor


@pytest.fixture
def doctor(clinic_a, bob):
    """Bob's doctor profile in clinic A."""
    return make_doctor(clinic_a, bob)


@pytest.fixture
def patient(clinic_a, alice):
    return patient_create(
        tenant=clinic_a,
        actor=alice,
        first_name="Arjun",
        last_name="Menon",
        mobile="9845012345",
        gender="male",
        date_of_birth=datetime.date(1990, 5, 17),
    )


@pytest.fixture
def medicine(clinic_a):
    with tenant_context(clinic_a):
        return build(Medicine, name="Paracetamol", strength="500 mg", generic_name="Paracetamol")


@pytest.fixture
def medicines(clinic_a):
    with tenant_context(clinic_a):
        return [build(Medicine, name=f"Drug {n:02d}") for n in range(21)]


@pytest.fixture
def tomorrow():
    return timezone.localdate() + datetime.timedelta(days=1)


@pytest.fixture
def staff(clinic_a):
    """A member of each remaining role in clinic A: {role: user}."""
    return {
        role: add_member(clinic_a, email=f"{role}@asha.example", role=role).user
        for role in ("admin", "nurse", "receptionist")
    }


def h(user, clinic):
    return bearer(user, clinic)


def colleagues_personal_short_key(clinic, medicine):
    """A short key another doctor of the clinic keeps for themself (code THEIRS)."""
    from clinical.services import short_key_create

    colleague = add_member(clinic, role="doctor").user
    make_doctor(clinic, colleague)
    return short_key_create(
        tenant=clinic,
        actor=colleague,
        code="THEIRS",
        name="Theirs",
        personal=True,
        items=[item(medicine)],
    )


def item(medicine, **overrides):
    body = {
        "medicine_id": str(medicine.pk),
        "dosage": "1 tablet",
        "frequency": "1-0-1",
        "duration": "5 days",
        "instructions": "after food",
        "quantity": 10,
    }
    body.update(overrides)
    return body


@pytest.fixture
def dentist(clinic_a, bob):
    """Bob's doctor profile in clinic A, as a dentist."""
    doctor = make_doctor(clinic_a, bob)
    with tenant_context(clinic_a):
        type(doctor).objects.filter(pk=doctor.pk).update(specialization="Dentistry")
        doctor.refresh_from_db()
    return doctor


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files go to a throw-away folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def observation_body(patient, **overrides):
    body = {
        "patient_id": str(patient.pk),
        "tooth_number": 46,
        "tooth_surface": "occlusal",
        "condition_type": "caries",
        "severity": "moderate",
        "notes": "Occlusal caries into dentine.",
        "treatment_required": True,
    }
    body.update(overrides)
    return body


def procedure_body(patient, **overrides):
    body = {
        "patient_id": str(patient.pk),
        "procedure_code": "D2391",
        "procedure_name": "Resin composite, one surface, posterior",
        "teeth": [46],
        "estimated_cost": "1500.00",
    }
    body.update(overrides)
    return body


def count_queries(call):
    """(number of statements `call()` sent, its result)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        result = call()
    return len(context.captured_queries), result
