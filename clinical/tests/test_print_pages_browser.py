"""The print pages as a person uses them, in headless Chromium: on a 390 px phone (viewport,
nothing wider than the screen, landmarks, one h1), free of axe-core violations (WCAG 2.1 A
and AA), and unchanged on paper (the toolbar is hidden)."""

from __future__ import annotations

import pytest

from accounts.testing import add_member, create_clinic
from clinical.models import Medicine
from clinical.services import (
    dental_observation_create,
    patient_create,
    prescription_create,
)
from clinical.tests.conftest import item, make_doctor
from clinical.tests.test_dental_browser import log_in
from tenants.context import tenant_context
from tenants.testing import build

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


@pytest.fixture
def printable(transactional_db):
    clinic = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    bob = add_member(clinic, email="bob@asha.example", role="doctor").user
    make_doctor(clinic, bob)
    patient = patient_create(
        tenant=clinic,
        actor=clinic.owner,
        first_name="अनीता",
        last_name="शर्मा",
        mobile="9845012345",
        gender="female",
    )
    with tenant_context(clinic):
        medicine = build(Medicine, name="Paracetamol", strength="500 mg")
    rx = prescription_create(
        tenant=clinic,
        actor=bob,
        patient_id=patient.pk,
        diagnosis="Acute pharyngitis",
        instructions="खाना खाने के बाद",
        follow_up_date=None,
        items=[item(medicine, instructions="After food, with a full glass of water")],
        status="active",
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
    return {
        "prescription": f"/clinic/prescriptions/{rx.pk}/print/",
        "dental chart": f"/clinic/patients/{patient.pk}/dental-chart/",
        "case summary": f"/clinic/patients/{patient.pk}/case-summary/",
    }


def test_print_pages_work_on_a_phone_and_pass_axe(printable, browser_page, screenshot):
    from axe_playwright_python.sync_playwright import Axe

    page = browser_page
    log_in(page, "bob@asha.example")
    page.set_viewport_size(PHONE)
    axe = Axe()
    for name, url in printable.items():
        page.goto(url)
        assert (
            page.locator('meta[name="viewport"]')
            .get_attribute("content")
            .startswith("width=device-width")
        ), name
        assert page.locator("main").count() == 1, name
        assert page.locator("h1").count() == 1 and page.locator("h1").is_visible(), name
        assert page.get_by_role("button", name="Print").is_visible(), name
        # Nothing is wider than the phone: wide tables scroll inside their own box.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} is {overflow}px wider than the screen"
        results = axe.run(page, options=WCAG)
        assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"
        screenshot(f"print-{name.replace(' ', '-')}-390px")
        # On paper: the toolbar goes, the page takes the sheet's width.
        page.emulate_media(media="print")
        assert not page.get_by_role("button", name="Print").is_visible(), name
        assert page.evaluate("getComputedStyle(document.body).maxWidth") == "none", name
        page.emulate_media(media="screen")


def test_the_patients_indian_name_shows_in_the_bundled_font(printable, browser_page):
    page = browser_page
    log_in(page, "bob@asha.example")
    page.goto(printable["prescription"])
    page.evaluate("document.fonts.ready")
    # The bundled Devanagari face is loaded and used, whatever fonts the machine has.
    assert page.evaluate("document.fonts.check('12px \"Noto Sans Devanagari\"', 'अनीता')")
    loaded = page.evaluate(
        "[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)"
    )
    assert any("Devanagari" in family for family in loaded)
    assert page.get_by_text("अनीता शर्मा").is_visible()
