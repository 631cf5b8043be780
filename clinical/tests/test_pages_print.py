"""The printable prescription page: the clinical print view through the browser session,
for members of the prescription's clinic whose role may read prescriptions."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.testing import add_member, session_login
from clinical.models import Patient, Prescription, PrescriptionItem, PrescriptionPrint
from clinics.selectors import clinic_weekly_activity
from tenants.context import tenant_context
from tenants.testing import build


@pytest.fixture
def prescription(clinic_a):
    with tenant_context(clinic_a):
        patient = build(Patient, first_name="Arjun", last_name="Menon")
        rx = build(Prescription, patient=patient, diagnosis="Acute pharyngitis")
        build(PrescriptionItem, prescription=rx, dosage="1 tablet", frequency="twice a day")
    return rx


def prints(clinic) -> list[PrescriptionPrint]:
    with tenant_context(clinic):
        return list(PrescriptionPrint.objects.all())


@pytest.mark.parametrize("role", ["owner", "doctor", "nurse", "admin"])
def test_clinical_members_open_the_print_page(client, clinic_a, alice, prescription, role):
    user = alice if role == "owner" else add_member(clinic_a, role=role).user
    session_login(client, user, clinic_a)
    response = client.get(f"/clinic/prescriptions/{prescription.pk}/print/")
    assert response.status_code == 200
    page = response.content.decode()
    assert prescription.prescription_number in page and "Arjun Menon" in page
    assert "Acute pharyngitis" in page and "Asha Dental Care" in page
    [printed] = prints(clinic_a)
    assert printed.format == "html" and printed.printed_by_id == user.pk


def test_the_pdf_comes_from_the_same_page(client, clinic_a, alice, prescription):
    session_login(client, alice, clinic_a)
    response = client.get(f"/clinic/prescriptions/{prescription.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert prescription.prescription_number in response["Content-Disposition"]
    assert [p.format for p in prints(clinic_a)] == ["pdf"]


def test_receptionists_do_not_see_prescriptions(client, clinic_a, prescription):
    receptionist = add_member(clinic_a, role="receptionist").user
    session_login(client, receptionist, clinic_a)
    for kind in ("print", "pdf"):
        assert client.get(f"/clinic/prescriptions/{prescription.pk}/{kind}/").status_code == 403
    assert prints(clinic_a) == []


def test_another_clinics_prescription_is_a_404_like_a_missing_one(
    client, clinic_a, prescription, clinic_b, charlie
):
    session_login(client, charlie, clinic_b)
    other = uuid.uuid4()
    foreign = client.get(f"/clinic/prescriptions/{prescription.pk}/print/")
    missing = client.get(f"/clinic/prescriptions/{other}/print/")
    assert foreign.status_code == missing.status_code == 404

    def page(response, pk):
        # The layout's forms carry a fresh token and the page's own address.
        body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
        return body.replace(str(pk).encode(), b"ID")

    assert page(foreign, prescription.pk) == page(missing, other)
    assert client.get(f"/clinic/prescriptions/{prescription.pk}/pdf/").status_code == 404
    assert prints(clinic_a) == []


def test_printing_needs_a_login(client, prescription):
    response = client.get(f"/clinic/prescriptions/{prescription.pk}/print/")
    assert response["Location"].startswith("/login/")


def test_the_chart_counts_prescriptions_per_week(clinic_a, clinic_b):
    now = timezone.now()
    with tenant_context(clinic_a):
        build(Prescription, created_at=now)
        build(Prescription, created_at=now - timedelta(weeks=1))
        build(Prescription, created_at=now - timedelta(weeks=1))
    with tenant_context(clinic_b):
        build(Prescription, created_at=now)
    weeks = clinic_weekly_activity(clinic_a, now=now)
    assert [w["prescriptions"] for w in weeks[-2:]] == [2, 1]
