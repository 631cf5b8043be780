"""A prescription written in the admin as a doctor does it, in headless Chromium: from the
day's appointment, with a short key, saved and printed as a PDF; then a nurse opens it and
cannot change it. Screenshots of each step go to artifacts/screenshots/admin-prescription-*."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounts.testing import add_member, create_clinic
from clinical.models import Appointment, Medicine
from clinical.services import patient_create, short_key_create
from clinical.tests.conftest import item, make_doctor
from clinical.tests.test_dental_browser import log_in
from tenants.context import tenant_context
from tenants.testing import build

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def visit(transactional_db):
    """Clinic A: doctor Bob with today's confirmed appointment for Arjun Menon, nurse Nina, and
    a shared short key FEVER of two medicines."""
    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    bob = add_member(clinic, email="bob@asha.example", role="doctor").user
    doctor = make_doctor(clinic, bob)
    add_member(clinic, email="nina@asha.example", role="nurse")
    patient = patient_create(
        tenant=clinic,
        actor=clinic.owner,
        first_name="Arjun",
        last_name="Menon",
        mobile="9845012345",
    )
    with tenant_context(clinic):
        paracetamol = build(Medicine, name="Paracetamol", strength="500 mg")
        cetirizine = build(Medicine, name="Cetirizine", strength="10 mg")
        appointment = build(
            Appointment,
            patient=patient,
            doctor=doctor,
            appointment_date=timezone.localdate(),
            status=Appointment.Status.CONFIRMED,
        )
    short_key_create(
        tenant=clinic,
        actor=bob,
        code="FEVER",
        name="Fever",
        items=[item(paracetamol), item(cetirizine, dosage="1 tablet at night")],
    )
    return appointment


def test_doctor_writes_a_prescription_with_a_short_key_and_prints_it_and_a_nurse_cannot_change_it(
    visit, browser_page, screenshot
):
    page = browser_page
    log_in(page, "bob@asha.example")

    # The appointment's "write a prescription" link (on the appointment's page when it offers
    # one; the link itself otherwise).
    start = f"/admin/clinical/prescription/add/?appointment={visit.pk}"
    page.goto(f"/admin/clinical/appointment/{visit.pk}/change/")
    link = page.locator(f'a[href$="{start}"]')
    if link.count():
        link.first.click()
    else:
        page.goto(start)
    page.wait_for_url("**/admin/clinical/prescription/add/**")
    assert page.get_by_text("Written by you, Dr.").is_visible()
    assert "Arjun Menon" in page.locator(".field-patient").inner_text()
    page.get_by_label("Diagnosis").fill("Acute pharyngitis")
    page.get_by_label("Apply short key").select_option(label="FEVER — Fever")
    screenshot("admin-prescription-1-new")

    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue editing").click()
    assert "/change/" in page.url, page.locator(".errornote, .errorlist").all_inner_texts()
    lines = page.locator("#items-group").inner_text()
    assert "Paracetamol 500 mg" in lines and "Cetirizine 10 mg" in lines
    assert page.locator('input[value="1 tablet at night"]').count() == 1
    change_url = page.url
    screenshot("admin-prescription-2-saved")

    page.set_viewport_size(PHONE)
    assert page.get_by_role("button", name="Save and print").is_visible()
    width = page.evaluate("document.documentElement.clientWidth")
    assert width == PHONE["width"]
    screenshot("admin-prescription-3-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    with page.expect_navigation(url="**/pdf/"):
        page.get_by_role("button", name="Save and print").click()
    # Chromium shows the PDF in its viewer (Content-Disposition: inline); download the file
    # from there as a person would, with the same session.
    pdf = page.request.get(page.url)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert 'filename="RX-' in pdf.headers["content-disposition"]
    content = pdf.body()
    assert content.startswith(b"%PDF")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "Arjun Menon" in text and "Acute pharyngitis" in text
    page.goto(change_url)
    assert "PDF" in page.locator(".field-print_history").inner_text()
    screenshot("admin-prescription-4-printed")

    # A nurse reads it, prints it, and cannot change it.
    page.context.clear_cookies()
    log_in(page, "nina@asha.example")
    page.goto(change_url)
    assert page.get_by_text("Acute pharyngitis").first.is_visible()
    assert page.locator('[name="diagnosis"]').count() == 0
    assert page.get_by_role("button", name="Save").count() == 0
    assert page.get_by_role("link", name="PDF").first.is_visible()
    screenshot("admin-prescription-5-nurse")
