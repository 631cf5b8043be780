"""Printable prescriptions: one template as HTML (print CSS) and PDF; prints are recorded."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from clinical import printing
from clinical.models import PrescriptionPrint
from clinical.services import office_create, patient_create, prescription_create
from clinical.tests.conftest import h, item
from tenants.context import tenant_context
from tenants.models import AuditEvent

URL = "/api/v1/prescriptions"
SCRIPT = "<script>alert('x')</script>"


@pytest.fixture
def prescription(clinic_a, bob, doctor, medicines):
    office = office_create(
        tenant=clinic_a,
        name="Indiranagar Branch",
        address="14, 12th Main, Bengaluru",
        phone="08041102200",
        is_primary=True,
    )
    with tenant_context(clinic_a):
        doctor.offices.add(office, through_defaults={})
    patient = patient_create(
        tenant=clinic_a,
        actor=bob,
        first_name=f"Meera {SCRIPT}",
        last_name="Iyer",
        mobile="9444012345",
        gender="female",
        date_of_birth="1985-01-20",
    )
    return prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        diagnosis="Acute pharyngitis <b>bold</b>",
        instructions="Warm saline gargles.",
        follow_up_date=None,
        items=[
            item(medicines[0], dosage="1 tablet", frequency="1-0-1", duration="5 days"),
            item(
                medicines[1], dosage="5 ml", frequency="0-0-1", generic_substitution_allowed=False
            ),
        ],
        status="active",
    )


def test_print_page_has_letterhead_patient_items_and_signature(api, clinic_a, bob, prescription):
    response = api.get(f"{URL}/{prescription.pk}/print/", **h(bob, clinic_a))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for text in (
        "Asha Dental Care",
        "Indiranagar Branch",
        "14, 12th Main, Bengaluru",
        "08041102200",
        "Dr. Bob Tester",
        "MBBS",
        f"Reg. No. {prescription.doctor.license_number}",
        "Iyer",
        "/ Female",
        prescription.prescription_number,
        "Drug 00",
        "1-0-1",
        "No generic substitution",
        "Warm saline gargles.",
        'class="signature"',
        "@media print",
    ):
        assert text in html, text
    # Whatever is typed into a record stays text.
    assert SCRIPT not in html and "&lt;script&gt;" in html
    assert "<b>bold</b>" not in html


def test_pdf_is_a_real_pdf_from_the_same_template(api, clinic_a, bob, prescription):
    response = api.get(f"{URL}/{prescription.pk}/pdf/", **h(bob, clinic_a))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert prescription.prescription_number in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in ("Asha Dental Care", "Dr. Bob Tester", "Acute pharyngitis", "Drug 01", "Iyer"):
        assert expected in text, expected
    assert "<script>" in text  # shown as text, never interpreted


def test_pdf_with_accept_header_is_served(api, clinic_a, bob, prescription):
    response = api.get(
        f"{URL}/{prescription.pk}/pdf", HTTP_ACCEPT="application/pdf", **h(bob, clinic_a)
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")


def test_printing_is_recorded_with_who_and_when(api, clinic_a, bob, prescription, staff):
    api.get(f"{URL}/{prescription.pk}/print", **h(staff["nurse"], clinic_a))
    api.get(f"{URL}/{prescription.pk}/pdf", **h(bob, clinic_a))
    with tenant_context(clinic_a):
        prints = list(PrescriptionPrint.objects.order_by("printed_at"))
        events = list(AuditEvent.objects.filter(action="prescription.printed"))
    assert [(p.printed_by_id, p.format) for p in prints] == [
        (staff["nurse"].pk, "html"),
        (bob.pk, "pdf"),
    ]
    assert {e.patient_id for e in events} == {prescription.patient_id} and len(events) == 2


def test_print_functions_work_without_the_api(clinic_a, bob, prescription):
    loaded = printing.prescription_for_print(tenant=clinic_a, pk=prescription.pk)
    html = printing.render_prescription_html(loaded, tenant=clinic_a)
    assert "window.print()" in html
    pdf_html = printing.render_prescription_html(loaded, tenant=clinic_a, for_pdf=True)
    assert "window.print()" not in pdf_html
    assert printing.render_prescription_pdf(loaded, tenant=clinic_a).startswith(b"%PDF-")
    printing.record_print(tenant=clinic_a, actor=bob, prescription=loaded, fmt="pdf")
    with tenant_context(clinic_a):
        assert PrescriptionPrint.objects.filter(prescription=loaded).count() == 1


def test_print_of_another_clinic_is_not_found(clinic_b, prescription):
    from clinical.models import Prescription

    with pytest.raises(Prescription.DoesNotExist):
        printing.prescription_for_print(tenant=clinic_b, pk=prescription.pk)
