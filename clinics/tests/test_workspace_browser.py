"""The workspace across clinics in a real browser (headless Chromium): another clinic's
doctor gets 404s for every record of this clinic, and a person who belongs to two clinics
switches between them inside the admin, seeing each clinic's records only. Screenshots of
every step go to artifacts/screenshots/admin-workspace-*.png.

The front desk (clinical/tests/test_admin_front_desk_browser.py) and the doctor's
prescription with a short key, its PDF and the nurse who cannot change it
(clinical/tests/test_admin_prescriptions_browser.py) are the rest of issue 15's story.
"""

from __future__ import annotations

import pytest

from accounts.testing import TEST_PASSWORD, add_member, create_clinic
from clinical.models import Appointment, Patient, Prescription
from clinical.tests.conftest import make_doctor
from tenants.context import tenant_context
from tenants.testing import build

pytestmark = pytest.mark.browser


@pytest.fixture
def two_clinics(transactional_db):
    """Asha (Dr. Bob, patient Meera with a visit and a prescription) and Bharat (Dr. Charlie,
    patient Kabir); Priya is Asha's nurse and Bharat's receptionist."""
    asha = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    bharat = create_clinic("Bharat Family Clinic", owner_email="dave@bharat.example")
    bob = add_member(asha, email="bob@asha.example", role="doctor").user
    charlie = add_member(bharat, email="charlie@bharat.example", role="doctor").user
    priya = add_member(asha, email="priya@example.com", role="nurse").user
    add_member(bharat, user=priya, role="receptionist")
    asha_doctor = make_doctor(asha, bob)
    make_doctor(bharat, charlie)
    with tenant_context(asha):
        meera = build(Patient, first_name="Meera", last_name="Iyer")
        visit = build(Appointment, patient=meera, doctor=asha_doctor)
        prescription = build(Prescription, patient=meera, doctor=asha_doctor)
    with tenant_context(bharat):
        build(Patient, first_name="Kabir", last_name="Khan")
    return {
        "asha_urls": [
            f"/admin/clinical/patient/{meera.pk}/change/",
            f"/admin/clinical/appointment/{visit.pk}/change/",
            f"/admin/clinical/prescription/{prescription.pk}/change/",
            f"/clinic/prescriptions/{prescription.pk}/pdf/",
            f"/clinic/patients/{meera.pk}/case-summary/",
        ],
    }


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def scope_banner(page) -> str:
    return page.locator(".scope-clinic").inner_text()


def test_another_clinics_doctor_gets_404s(two_clinics, browser_page, screenshot):
    page = browser_page
    log_in(page, "charlie@bharat.example")
    page.goto("/admin/")
    assert "Bharat Family Clinic" in scope_banner(page)
    for index, url in enumerate(two_clinics["asha_urls"], start=1):
        response = page.goto(url)
        # Missing and another clinic's look the same: a plain 404, never the record.
        assert response.status == 404, url
        assert "Meera" not in page.content()
        if index == 1:
            screenshot("admin-workspace-1-other-clinics-patient-404")
    # Their own clinic's list shows their patient and nothing of Asha's.
    page.goto("/admin/clinical/patient/")
    assert page.get_by_role("link", name="Kabir Khan").is_visible()
    assert "Meera" not in page.content()


def test_a_person_in_two_clinics_switches_between_them(two_clinics, browser_page, screenshot):
    page = browser_page
    log_in(page, "priya@example.com")
    page.goto("/admin/clinical/patient/")
    first = scope_banner(page)
    screenshot("admin-workspace-2-first-clinic")

    # Whichever clinic the sign-in chose, switch to the other one.
    if "Asha Dental Care" in first:
        here, there, their_patient, our_patient = "Asha", "Bharat", "Kabir Khan", "Meera Iyer"
    else:
        here, there, their_patient, our_patient = "Bharat", "Asha", "Meera Iyer", "Kabir Khan"
    assert page.get_by_role("link", name=our_patient).is_visible()
    assert their_patient not in page.content()

    with page.expect_navigation():
        page.get_by_role("link", name="Switch clinic").click()
    screenshot("admin-workspace-3-switch-clinic")
    with page.expect_navigation():
        page.get_by_role("button", name=f"{there}").click()
    assert there in scope_banner(page) and here not in scope_banner(page)

    page.goto("/admin/clinical/patient/")
    assert page.get_by_role("link", name=their_patient).is_visible()
    assert our_patient not in page.content()
    screenshot("admin-workspace-4-second-clinic")

    # The role follows the clinic: Priya is Asha's nurse (prescriptions to read) and Bharat's
    # receptionist (none).
    page.goto("/admin/")
    prescriptions = page.get_by_role("link", name="Prescriptions")
    assert prescriptions.count() == (1 if there == "Asha" else 0)
