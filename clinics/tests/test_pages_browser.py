"""The clinic pages in a real browser: headless Debian Chromium driven by Playwright, against
pytest-django's live server (committed data, like `live_db`).

Rows a test needs are made in fixtures listed before `browser_page` (see conftest.py: no ORM
calls while Playwright runs). Screenshots of the main pages land in artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.testing import TEST_PASSWORD, add_member, create_clinic
from clinical.models import Patient, Prescription, PrescriptionItem
from clinical.services import doctor_profile_create, office_create
from tenants.context import tenant_context
from tenants.testing import build

pytestmark = pytest.mark.browser

DOCTOR_PASSWORD = "Tamarind-Court-6402"


def follow(page, locator) -> None:
    """Click something that loads a page (a link, a form's button) and wait for that page;
    waiting for the URL alone returns at once when a form posts back to the same address."""
    with page.expect_navigation():
        locator.click()


def log_in(page, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    follow(page, page.get_by_role("button", name="Log in"))
    page.wait_for_url("**/clinic/")


def nav(page, name: str) -> None:
    follow(page, page.get_by_role("navigation", name="Clinic").get_by_role("link", name=name))


def log_out(page) -> None:
    follow(page, page.get_by_role("button", name="Log out"))
    page.wait_for_url("**/login/")


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map(el => el.name || el.id || el.outerHTML.slice(0, 60))"""


def check_page_basics(page) -> None:
    """Accessibility and layout basics every page keeps: a language, one main heading,
    a label for every control, and no sideways scrolling on a phone."""
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").count() == 1
    assert page.evaluate(UNLABELLED_CONTROLS) == []
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def invitation_path(outbox, email: str) -> str:
    [mail] = [m for m in outbox if m.to == [email] and "/invite/" in m.body]
    return re.search(r"https?://[^/\s]+(/invite/[^\s]+/)", mail.body).group(1)


def test_sign_up_invite_a_doctor_and_log_in_as_the_doctor(mailoutbox, browser_page, screenshot):
    page = browser_page
    page.goto("/signup/")
    check_page_basics(page)
    screenshot("signup")
    page.get_by_label("Clinic name").fill("Green Valley Clinic")
    page.get_by_label("Clinic phone").fill("080 4000 1234")
    page.get_by_label("Clinic address").fill("5 Lake Road, Mysuru")
    page.get_by_label("Your first name").fill("Neha")
    page.get_by_label("Your last name").fill("Joshi")
    page.get_by_label("Your e-mail").fill("neha@greenvalley.example")
    page.get_by_label("Your mobile").fill("98450 98450")
    page.get_by_label("Password", exact=True).fill("Lotus-Pond-4821")
    page.get_by_label("Password again").fill("Lotus-Pond-4821")
    # The doctor details appear once the box is ticked (CSS only, no script).
    assert not page.get_by_label("Licence number").is_visible()
    page.get_by_label("I am also a doctor at this clinic").check()
    page.get_by_label("Licence number").fill("KA-5511")
    page.get_by_label("Specialization").fill("General Medicine")
    follow(page, page.get_by_role("button", name="Create my clinic"))

    page.wait_for_url("**/clinic/")
    assert page.get_by_role("heading", name="Green Valley Clinic").is_visible()
    assert page.get_by_text("days left").first.is_visible()
    assert page.get_by_text("Please verify your e-mail address").is_visible()
    assert page.locator("svg.chart").is_visible()
    check_page_basics(page)
    screenshot("dashboard")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("dashboard-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    assert any("/verify-email/" in m.body for m in mailoutbox)

    nav(page, "Team")
    form = page.locator("#invite-doctor form")
    form.get_by_label("First name").fill("Imran")
    form.get_by_label("Last name").fill("Shaikh")
    form.get_by_label("E-mail").fill("imran@greenvalley.example")
    form.get_by_label("Licence number").fill("KA-7788")
    form.get_by_label("Specialization").fill("Paediatrics")
    follow(page, form.get_by_role("button", name="Invite doctor"))
    page.wait_for_url("**/clinic/team/")
    assert page.get_by_text("Invitation sent to imran@greenvalley.example").is_visible()
    assert page.locator("#invite-doctor").is_visible()
    check_page_basics(page)
    screenshot("team")

    nav(page, "Plan")
    check_page_basics(page)
    screenshot("plan")
    nav(page, "Clinic settings")
    check_page_basics(page)
    screenshot("settings")
    log_out(page)

    page.goto(invitation_path(mailoutbox, "imran@greenvalley.example"))
    assert page.get_by_role("heading", name="Join Green Valley Clinic").is_visible()
    check_page_basics(page)
    screenshot("invitation")
    page.get_by_label("Choose a password").fill(DOCTOR_PASSWORD)
    page.get_by_label("Password again").fill(DOCTOR_PASSWORD)
    follow(page, page.get_by_role("button", name="Set my password and join"))
    page.wait_for_url("**/clinic/")
    assert page.get_by_text("Welcome to Green Valley Clinic!").is_visible()
    assert page.get_by_text("Imran Shaikh · Doctor").is_visible()
    log_out(page)

    screenshot("login")
    log_in(page, "imran@greenvalley.example", DOCTOR_PASSWORD)
    assert page.get_by_text("Imran Shaikh · Doctor").is_visible()
    # A doctor sees the team but cannot change it.
    nav(page, "Team")
    assert page.get_by_text("Only the clinic's owners and admins").is_visible()


@pytest.fixture
def two_clinics(live_db):
    clinic_a = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    bob = add_member(clinic_a, email="bob@asha.example", role="doctor")
    office = office_create(tenant=clinic_a, name="Indiranagar")
    with tenant_context(clinic_a):
        patient = build(Patient, first_name="Arjun", last_name="Menon")
        rx = build(Prescription, patient=patient, diagnosis="Acute pharyngitis")
        build(PrescriptionItem, prescription=rx, dosage="1 tablet", frequency="twice a day")
    create_clinic("Bharat Family Clinic", owner_email="charlie@bharat.example")
    return {
        "a": clinic_a.pk,
        "office": office.pk,
        "bob": bob.pk,
        "rx": rx.pk,
        "rx_number": rx.prescription_number,
    }


def test_a_member_prints_a_prescription_from_the_browser(two_clinics, browser_page, screenshot):
    page = browser_page
    log_in(page, "alice@asha.example")
    response = page.goto(f"/clinic/prescriptions/{two_clinics['rx']}/print/")
    assert response.status == 200
    assert page.title().startswith(two_clinics["rx_number"])
    assert page.get_by_role("cell", name=f"Prescription {two_clinics['rx_number']}").is_visible()
    assert page.get_by_text("Arjun Menon").first.is_visible()
    screenshot("prescription-print")
    pdf = page.request.get(f"/clinic/prescriptions/{two_clinics['rx']}/pdf/")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")


def test_another_clinics_owner_cannot_reach_the_first_clinics_pages(
    two_clinics, browser_page, screenshot
):
    page = browser_page
    log_in(page, "charlie@bharat.example")
    assert page.get_by_role("heading", name="Bharat Family Clinic").is_visible()
    page.goto("/clinic/team/")
    assert page.get_by_role("cell", name="charlie@bharat.example").is_visible()
    assert page.get_by_text("bob@asha.example").count() == 0

    response = page.goto(f"/clinic/prescriptions/{two_clinics['rx']}/print/")
    assert response.status == 404
    assert page.get_by_text(two_clinics["rx_number"]).count() == 0
    response = page.goto(f"/clinic/settings/offices/{two_clinics['office']}/")
    assert response.status == 404
    assert page.get_by_role("heading", name="Page not found").is_visible()
    screenshot("not-found")

    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    headers = {"X-CSRFToken": csrf, "Referer": page.url}
    switch = page.request.post(
        "/clinics/switch/", form={"tenant_id": str(two_clinics["a"])}, headers=headers
    )
    assert switch.status == 404
    deactivate = page.request.post(
        f"/clinic/team/members/{two_clinics['bob']}/deactivate/", headers=headers
    )
    assert deactivate.status == 404
    page.goto("/clinic/")
    assert page.get_by_role("heading", name="Bharat Family Clinic").is_visible()


@pytest.fixture
def clinic_at_doctor_limit(live_db):
    clinic = create_clinic("Sunrise Family Clinic", owner_email="ravi@sunrise.example")
    for n in range(clinic.max_doctors):
        membership = add_member(clinic, email=f"doctor{n}@sunrise.example", role="doctor")
        doctor = doctor_profile_create(
            tenant=clinic,
            user=membership.user,
            license_number=f"TN-{1000 + n}",
            specialization="General Medicine",
        )
    # Some activity over the weeks, for the chart.
    now = timezone.now()
    with tenant_context(clinic):
        for week in range(12):
            for _ in range(week % 4 + 1):
                patient = build(Patient, created_at=now - timedelta(weeks=week))
                build(
                    Prescription,
                    patient=patient,
                    doctor=doctor,
                    created_at=now - timedelta(weeks=week),
                )
    return clinic.pk


def test_the_dashboard_at_the_doctor_limit_shows_the_upgrade_path(
    clinic_at_doctor_limit, browser_page, screenshot
):
    page = browser_page
    log_in(page, "ravi@sunrise.example")
    banner = page.locator("#doctor-limit")
    assert "All 5 doctor seats of the Trial plan are in use." in banner.inner_text()
    assert page.locator("svg.chart rect.patients").count() == 12
    assert page.locator("svg.chart rect.prescriptions").count() == 12
    screenshot("dashboard-doctor-limit")
    follow(page, banner.get_by_role("link", name="upgrade the plan"))
    page.wait_for_url("**/clinic/plan/")
    follow(page, page.get_by_role("button", name="Switch to Basic"))
    page.wait_for_url("**/clinic/plan/")
    # An upgrade opens an invoice to pay (issue 19); the limits change only once it is paid.
    invoice = page.locator("#next-invoice")
    assert "Basic plan" in invoice.inner_text()
    assert "The plan changes as soon as it is paid." in invoice.inner_text()
    assert invoice.get_by_role("button", name="Pay now").is_visible()
    screenshot("plan-upgrade-invoice")
    page.goto("/clinic/")
    assert "All 5 doctor seats of the Trial plan are in use." in (
        page.locator("#doctor-limit").inner_text()
    )
