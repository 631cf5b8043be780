"""The printable dental chart and case summary in a real browser (headless Chromium), opened
by a dentist logged in through the site's login page."""

from __future__ import annotations

import pytest

from accounts.testing import TEST_PASSWORD, add_member, create_clinic
from clinical.services import (
    dental_observation_create,
    dental_procedure_create,
    patient_create,
)
from clinical.tests.conftest import make_doctor

pytestmark = pytest.mark.browser


@pytest.fixture
def charted(transactional_db):
    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    bob = add_member(clinic, email="bob@asha.example", role="doctor").user
    make_doctor(clinic, bob)
    patient = patient_create(
        tenant=clinic,
        actor=clinic.owner,
        first_name="Arjun",
        last_name="Menon",
        mobile="9845012345",
    )
    for tooth, condition in ((46, "caries"), (16, "crown"), (36, "filled"), (18, "missing")):
        dental_observation_create(
            tenant=clinic,
            actor=bob,
            patient_id=patient.pk,
            tooth_number=tooth,
            condition_type=condition,
            notes=f"Finding on {tooth}",
        )
    dental_procedure_create(
        tenant=clinic,
        actor=bob,
        patient_id=patient.pk,
        procedure_code="D3330",
        procedure_name="Root canal treatment, molar",
        teeth=[46],
    )
    return patient


def log_in(page, email: str) -> None:
    page.goto("/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/clinic/")


def test_a_dentist_opens_and_prints_the_chart_and_the_case_summary(
    charted, browser_page, screenshot
):
    page = browser_page
    log_in(page, "bob@asha.example")
    page.goto(f"/clinic/patients/{charted.pk}/dental-chart/")
    caries = page.locator('td[data-tooth="46"]')
    assert "Caries" in caries.inner_text()
    assert caries.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(180, 35, 24)"
    healthy = page.locator('td[data-tooth="21"]')
    assert healthy.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 255, 255)"
    assert page.get_by_text("Root canal treatment, molar").is_visible()
    screenshot("dental-chart")
    # Printing hides the toolbar.
    page.emulate_media(media="print")
    assert not page.get_by_role("button", name="Print").is_visible()
    page.emulate_media(media="screen")

    page.goto(f"/clinic/patients/{charted.pk}/case-summary/")
    assert page.get_by_role("heading", name="Dental case summary").is_visible()
    assert page.get_by_text("Finding on 46").is_visible()
    screenshot("case-summary")
