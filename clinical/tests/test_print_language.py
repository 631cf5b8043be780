"""Prints in the patient's language: labels from Django's translations (English and Hindi
shipped), the clinic's default from its print template, the patient's own choice first;
dates and rupees in Indian formats; the admin's dates day first."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from django.utils import translation

from clinical.formats import format_inr, group_indian
from clinical.languages import LOCALE_DIR, print_language_codes
from clinical.services import (
    dental_procedure_create,
    office_create,
    patient_update,
    prescription_create,
)
from clinical.services.printing import print_template_create
from clinical.tests.conftest import h, item
from clinical.tests.pdf_glyphs import text_layer
from clinics.tests.admin_helpers import log_in, staff

HINDI = ("पर्चा", "निदान", "दवाइयाँ", "खुराक", "अवधि", "निर्देश", "अगली मुलाक़ात")
ENGLISH = ("Prescription", "Diagnosis", "Medicines", "Dosage", "Duration", "Instructions",
           "Next visit")  # fmt: skip


@pytest.fixture
def rx(clinic_a, bob, doctor, patient, medicine):
    return prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        diagnosis="Viral fever",
        instructions="Rest",
        follow_up_date=datetime.date(2027, 1, 5),
        items=[item(medicine)],
        status="active",
    )


def prints(api, bob, clinic, rx) -> tuple[str, str]:
    html = api.get(f"/api/v1/prescriptions/{rx.pk}/print/", **h(bob, clinic)).content.decode()
    pdf = api.get(f"/api/v1/prescriptions/{rx.pk}/pdf/", **h(bob, clinic)).content
    return html, " ".join(text_layer(pdf).split())


def test_english_and_hindi_ship_and_every_hindi_label_is_compiled():
    assert print_language_codes() == ("en", "hi")
    po = (LOCALE_DIR / "hi" / "LC_MESSAGES" / "django.po").read_text()
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', po, flags=re.M)
    assert len(pairs) > 60
    with translation.override("hi"):
        for msgid, msgstr in pairs:
            # The .mo answers with the .po's translation: it was compiled from this .po.
            assert translation.gettext(msgid) == msgstr.replace('\\"', '"'), msgid


def test_a_patient_who_chose_hindi_gets_hindi_prints(api, clinic_a, alice, bob, patient, rx):
    html, pdf = prints(api, bob, clinic_a, rx)
    assert all(label in html and label in pdf for label in ENGLISH)
    patient_update(tenant=clinic_a, actor=alice, patient=patient, print_language="hi")
    html, pdf = prints(api, bob, clinic_a, rx)
    assert '<html lang="hi">' in html
    for label in HINDI:
        assert label in html and label in pdf, label
    assert "Diagnosis" not in html and "Diagnosis" not in pdf


def test_the_clinics_default_language_applies_unless_the_patient_chose(
    api, clinic_a, alice, bob, patient, rx
):
    print_template_create(tenant=clinic_a, actor=alice, name="Default", language="hi")
    html, pdf = prints(api, bob, clinic_a, rx)
    assert "पर्चा" in html and "पर्चा" in pdf
    patient_update(tenant=clinic_a, actor=alice, patient=patient, print_language="en")
    html, pdf = prints(api, bob, clinic_a, rx)
    assert "Prescription" in pdf and "पर्चा" not in pdf


def test_an_unknown_print_language_is_a_400_naming_the_field(api, clinic_a, alice):
    response = api.post(
        "/api/v1/patients",
        {"first_name": "Ravi", "mobile_number": "9845077777", "print_language": "xx"},
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 400
    assert "print_language" in response.json()["errors"]
    ok = api.post(
        "/api/v1/patients",
        {"first_name": "Ravi", "mobile_number": "9845077777", "print_language": "hi"},
        format="json",
        **h(alice, clinic_a),
    )
    assert ok.status_code == 201 and ok.json()["print_language"] == "hi"


def test_prints_show_indian_dates_and_rupees_with_lakh_grouping(
    api, clinic_a, alice, bob, doctor, patient, rx
):
    html, pdf = prints(api, bob, clinic_a, rx)
    day = rx.visit_date.strftime("%d/%m/%Y")
    assert day in html and day in pdf
    assert "05/01/2027" in html and "05/01/2027" in pdf  # the next visit
    dental_procedure_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        procedure_code="D2740",
        procedure_name="Crown",
        teeth=[16],
        estimated_cost="123456.50",
    )
    url = f"/api/v1/patients/{patient.pk}/case-summary/"
    summary = api.get(url, **h(bob, clinic_a)).content.decode()
    summary_pdf = " ".join(text_layer(api.get(f"{url}pdf/", **h(bob, clinic_a)).content).split())
    assert "₹1,23,456.50" in summary and "₹1,23,456.50" in summary_pdf


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0, "₹0.00"),
        ("999.5", "₹999.50"),
        (1000, "₹1,000.00"),
        (100000, "₹1,00,000.00"),
        ("12345678.456", "₹1,23,45,678.46"),
        (-2500, "-₹2,500.00"),
        (None, ""),
        ("not money", ""),
    ],
)
def test_rupees_group_in_lakhs_and_crores(amount, text):
    assert format_inr(amount) == text


def test_indian_grouping_of_digits():
    assert group_indian("1") == "1"
    assert group_indian("123456789") == "12,34,56,789"


def test_the_admin_shows_dates_day_first(client, clinic_a, alice):
    office_create(tenant=clinic_a, name="Whitefield Branch")
    log_in(client, staff(alice), clinic_a)
    page = client.get("/admin/clinical/office/").content.decode()
    assert "Whitefield Branch" in page
    assert re.search(r"\b\d{2}/\d{2}/\d{4} \d{2}:\d{2}\b", page)  # created_at, dd/mm/yyyy
    assert not re.search(
        r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\.? \d{1,2}, \d{4}", page
    )


def test_a_new_language_is_a_po_file_away():
    # Languages are found by their compiled catalogue, not listed in code.
    found = sorted(p.parent.parent.name for p in Path(LOCALE_DIR).glob("*/LC_MESSAGES/django.mo"))
    assert found == ["hi"] and set(print_language_codes()) == {"en", *found}
