"""Fixtures of the admin prescription tests: a doctor signed in to the admin, today's visit,
and a prescription already written."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.testing import session_login
from clinical.models import Appointment
from clinical.services import prescription_create
from clinical.tests.conftest import item
from tenants.context import tenant_context
from tenants.testing import build


@pytest.fixture
def as_doctor(client, clinic_a, bob, doctor):
    session_login(client, bob, clinic_a)
    return client


@pytest.fixture
def today_visit(clinic_a, doctor, patient):
    with tenant_context(clinic_a):
        return build(
            Appointment,
            patient=patient,
            doctor=doctor,
            appointment_date=timezone.localdate(),
            status=Appointment.Status.CONFIRMED,
        )


@pytest.fixture
def written(clinic_a, bob, doctor, patient, medicine):
    """A draft that Bob wrote."""
    return prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        diagnosis="Viral fever",
        items=[item(medicine)],
    )
