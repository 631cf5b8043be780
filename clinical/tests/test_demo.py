"""`make run` demo clinics have clinical records to click through, and a demo prescription
prints to PDF."""

from __future__ import annotations

import io

from django.core.management import call_command
from pypdf import PdfReader

from accounts.models import User
from clinical.models import (
    Appointment,
    Doctor,
    DoctorAvailability,
    Medicine,
    Patient,
    Prescription,
    ShortKey,
)
from tenants.context import tenant_context
from tenants.demo import DEMO_PASSWORD
from tenants.testing import membership_of


def _login(api, email):
    response = api.post(
        "/api/v1/auth/token", {"email": email, "password": DEMO_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.json()
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access']}"}


def test_demo_clinics_have_records_and_a_printable_prescription(live_db, api):
    call_command("seed_demo", stdout=io.StringIO())
    asha = User.objects.get(email="asha@demo.clinic")
    clinic = membership_of(asha, _clinic_of(asha)).tenant
    with tenant_context(clinic):
        assert Doctor.objects.count() == 2
        assert DoctorAvailability.objects.count() == 2 * 12
        menon = Patient.objects.filter(mobile="9845012345").order_by("created_at")
        assert [p.relationship_to_primary for p in menon] == ["self", "spouse", "child"]
        assert Appointment.objects.filter(status="completed").count() == 1
        assert Appointment.objects.filter(status__in=["scheduled", "confirmed"]).count() == 4
        active = Prescription.objects.get(status="active")
        assert active.appointment is not None and active.items.count() == 4
        assert ShortKey.objects.filter(code="RCT").exists()
        assert Medicine.objects.filter(tenant__isnull=False, price__isnull=False).exists()
    response = api.get(f"/api/v1/prescriptions/{active.pk}/pdf/", **_login(api, asha.email))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Asha Dental Care" in text and "Amoxicillin" in text and "pulpitis" in text
    # The family clinic's nurse reads and prints its prescriptions too.
    nurse = _login(api, "joseph@demo.clinic")
    listed = api.get("/api/v1/prescriptions/", **nurse).json()
    assert listed["count"] == 2
    printed = api.get(f"/api/v1/prescriptions/{listed['results'][0]['id']}/print/", **nurse)
    assert printed.status_code == 200 and "Sunrise Family Clinic" in printed.content.decode()


def _clinic_of(user):
    from accounts.selectors import memberships_of

    return memberships_of(user)[0].tenant
