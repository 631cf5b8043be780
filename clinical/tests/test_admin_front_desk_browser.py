"""The front desk in a real browser (headless Chromium): a receptionist logs in on the site's
login page, registers a patient in the admin and books the next free slot from the patient's
page; the schedule and the patient page stay usable on a 390 px phone. Screenshots of every
step go to artifacts/screenshots/admin-front-desk-*.png."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounts.testing import TEST_PASSWORD, add_member, create_clinic
from clinical.tests.conftest import make_doctor

pytestmark = pytest.mark.browser


@pytest.fixture
def front_desk(transactional_db):
    """Asha Dental Care with a receptionist and Dr. Bob, who sees patients 08:00-20:00."""
    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    add_member(clinic, email="rita@asha.example", role="receptionist")
    bob = add_member(clinic, email="bob@asha.example", role="doctor").user
    doctor = make_doctor(clinic, bob)
    return {"doctor_id": str(doctor.pk), "doctor": str(doctor)}


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()


def fits_the_width(page) -> bool:
    # Wide tables scroll inside their own box; the page itself must not scroll sideways.
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_receptionist_registers_a_patient_and_books_the_next_free_slot(
    front_desk, browser_page, screenshot
):
    page = browser_page
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    log_in(page, "rita@asha.example")

    page.goto("/admin/")
    assert page.get_by_role("link", name="Patients").is_visible()
    screenshot("admin-front-desk-1-workspace")

    # Register Meera: the first patient of her mobile number (no relationship to give).
    page.goto("/admin/clinical/patient/add/")
    page.fill("#id_first_name", "Meera")
    page.fill("#id_last_name", "Iyer")
    page.fill("#id_mobile", "+91 98860 12345")
    page.select_option("#id_gender", "female")
    screenshot("admin-front-desk-2-register-patient")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert page.get_by_text("was added successfully").is_visible()
    screenshot("admin-front-desk-3-patient-registered")

    # Her page: no history yet, and the way to book.
    with page.expect_navigation():
        page.locator("#result_list").get_by_role("link", name="Meera Iyer").click()
    assert page.get_by_role("heading", name="Timeline").is_visible()
    assert page.get_by_text("Nothing yet.").is_visible()
    screenshot("admin-front-desk-4-patient-page")
    with page.expect_navigation():
        page.get_by_role("link", name="Book appointment").click()

    # The booking form starts with Meera; the doctor and the date bring the free slots.
    assert "Meera Iyer" in page.locator(".field-patient").inner_text()
    page.select_option("#id_doctor", front_desk["doctor_id"])
    page.fill("#id_appointment_date", tomorrow.isoformat())
    with page.expect_navigation():
        page.get_by_role("button", name="Show free slots").click()
    slot = page.locator("#id_appointment_time")
    assert slot.input_value() == "08:00", "the next free slot comes first, chosen"
    assert slot.locator("option").count() == 48
    page.fill("#id_reason", "Tooth ache")
    screenshot("admin-front-desk-5-free-slots")
    with page.expect_navigation():
        page.click("input[name=_save]")

    # Saved: the schedule of that day, with the new appointment.
    assert page.get_by_text("was added successfully").is_visible()
    row = page.locator("#result_list tbody tr").first
    text = row.inner_text()
    for expected in ("08:00", "Meera Iyer", "9886012345", front_desk["doctor"], "Scheduled"):
        assert expected in text
    screenshot("admin-front-desk-6-booked")

    # The next booking's free slots no longer offer 08:00.
    page.goto(
        "/admin/clinical/appointment/add/?"
        f"doctor={front_desk['doctor_id']}&appointment_date={tomorrow.isoformat()}"
    )
    assert page.locator("#id_appointment_time").input_value() == "08:15", "08:00 is taken"

    # On a phone: the schedule and the patient page stay usable.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/admin/clinical/appointment/?day={tomorrow.isoformat()}")
    assert page.get_by_text("Meera Iyer").first.is_visible()
    assert fits_the_width(page)
    screenshot("admin-front-desk-7-schedule-390px")
    page.goto("/admin/clinical/patient/")
    with page.expect_navigation():
        page.locator("#result_list").get_by_role("link", name="Meera Iyer").click()
    assert page.get_by_role("link", name="Book appointment").is_visible()
    assert page.get_by_text("Tooth ache").is_visible()
    assert fits_the_width(page)
    screenshot("admin-front-desk-8-patient-page-390px")
