"""Every Indian script in the PDFs: the text is in the text layer (search, copy) and the
glyphs are the ones HarfBuzz shapes (conjuncts formed, vowel signs reordered), in the
prescription and in the dental case summary. A character no bundled font has is printed as
its code point, never as a blank or a box.

These fail on the earlier renderer (xhtml2pdf): it drew Indian names with no font at all
(an empty box on the page, nothing in the text layer) and, given a font, unshaped.
"""

from __future__ import annotations

import datetime

import pytest

from clinical.pdf import FONT_DIR
from clinical.services import patient_create, prescription_create
from clinical.tests.conftest import h, item
from clinical.tests.pdf_glyphs import (
    cmap_ids,
    contains_shaped,
    harfbuzz_ids,
    notdef_drawn,
    text_layer,
)

# (language, script's font, patient's first and last name, a diagnosis and an instruction
# in that language)
SAMPLES = [
    ("hi", "Devanagari", "अनीता", "शर्मा", "तीव्र ग्रसनीशोथ", "खाना खाने के बाद"),
    ("mr", "Devanagari", "किरण", "क्षीरसागर", "श्वसनमार्गाचा संसर्ग", "रोज सकाळी"),
    ("bn", "Bengali", "অনিতা", "চক্রবর্তী", "গলা ব্যথা", "খাবারের পরে"),
    ("pa", "Gurmukhi", "ਹਰਪ੍ਰੀਤ", "ਸਿੰਘ", "ਗਲੇ ਦੀ ਲਾਗ", "ਖਾਣੇ ਤੋਂ ਬਾਅਦ"),
    ("gu", "Gujarati", "કિરણ", "પટેલ", "ગળામાં ચેપ", "જમ્યા પછી"),
    ("or", "Oriya", "ସୁବ୍ରତ", "ମିଶ୍ର", "ଗଳା ସଂକ୍ରମଣ", "ଖାଇବା ପରେ"),
    ("ta", "Tamil", "கவிதா", "செல்வி", "தொண்டை அழற்சி", "சாப்பிட்ட பிறகு"),
    ("te", "Telugu", "శ్రీనివాస్", "రెడ్డి", "గొంతు నొప్పి", "భోజనం తర్వాత"),
    ("kn", "Kannada", "ಕಿರಣ್", "ಶರ್ಮ", "ಗಂಟಲು ಸೋಂಕು", "ಊಟದ ನಂತರ"),
    ("ml", "Malayalam", "ലക്ഷ്മി", "കിരൺ", "തൊണ്ടവേദന", "ഭക്ഷണത്തിന് ശേഷം"),
]
IDS = [sample[0] for sample in SAMPLES]


def font(script: str, bold: bool = False) -> str:
    return str(FONT_DIR / f"NotoSans{script}-{'Bold' if bold else 'Regular'}.ttf")


def _prescription(clinic, actor, medicine, *, first, last, diagnosis, instruction, mobile):
    patient = patient_create(
        tenant=clinic,
        actor=actor,
        first_name=first,
        last_name=last,
        mobile=mobile,
        gender="female",
        date_of_birth=datetime.date(1988, 3, 9),
    )
    return prescription_create(
        tenant=clinic,
        actor=actor,
        patient_id=patient.pk,
        diagnosis=diagnosis,
        instructions=f"{instruction}. Drink water.",
        follow_up_date=None,
        items=[item(medicine, dosage="1 tablet", frequency="1-0-1", instructions=instruction)],
        status="active",
    )


def test_the_shaping_check_tells_shaped_from_unshaped_text():
    # The check below would prove nothing if HarfBuzz drew "किरण" glyph for character: it
    # reorders the vowel sign ि before क, and forms the reph and the conjunct of "शर्मा".
    for word in ("किरण", "शर्मा", "क्षीरसागर"):
        path = font("Devanagari")
        assert harfbuzz_ids(path, word) != cmap_ids(path, word)


@pytest.mark.parametrize(("lang", "script", "first", "last", "diagnosis", "instruction"), SAMPLES,
                         ids=IDS)  # fmt: skip
def test_prescription_pdf_has_each_script_in_its_text_layer_and_shaped(
    api, clinic_a, bob, doctor, medicine, lang, script, first, last, diagnosis, instruction
):
    rx = _prescription(
        clinic_a,
        bob,
        medicine,
        first=first,
        last=last,
        diagnosis=diagnosis,
        instruction=instruction,
        mobile=f"98450{IDS.index(lang):05d}",
    )
    response = api.get(f"/api/v1/prescriptions/{rx.pk}/pdf/", **h(bob, clinic_a))
    assert response.status_code == 200
    pdf = response.content
    text = text_layer(pdf)
    # Searchable and copyable: the name, the diagnosis and the instruction, mixed with Latin.
    assert f"{first} {last}" in text
    assert diagnosis in text
    assert instruction in text
    assert "Paracetamol" in text
    # Shaped: the patient's name is bold in the header, the diagnosis regular.
    assert contains_shaped(pdf, font(script, bold=True), f"{first} {last}")
    assert contains_shaped(pdf, font(script), diagnosis)
    assert contains_shaped(pdf, font(script), instruction)
    assert not notdef_drawn(pdf)


@pytest.mark.parametrize(("lang", "script", "first", "last", "diagnosis", "instruction"),
                         [SAMPLES[0], SAMPLES[6]], ids=["hi", "ta"])  # fmt: skip
def test_case_summary_pdf_has_the_name_in_its_text_layer_and_shaped(
    api, clinic_a, bob, doctor, medicine, lang, script, first, last, diagnosis, instruction
):
    rx = _prescription(
        clinic_a,
        bob,
        medicine,
        first=first,
        last=last,
        diagnosis=diagnosis,
        instruction=instruction,
        mobile="9845099999",
    )
    response = api.get(f"/api/v1/patients/{rx.patient_id}/case-summary/pdf/", **h(bob, clinic_a))
    assert response.status_code == 200
    pdf = response.content
    text = text_layer(pdf)
    assert f"{first} {last}" in text
    assert diagnosis in text
    assert contains_shaped(pdf, font(script, bold=True), f"{first} {last}")
    assert contains_shaped(pdf, font(script), diagnosis)
    assert not notdef_drawn(pdf)


def test_a_character_no_font_has_prints_as_its_code_point_never_a_box(
    api, clinic_a, bob, doctor, medicine
):
    # A Chinese given name and an emoji: no bundled font draws them.
    rx = _prescription(
        clinic_a,
        bob,
        medicine,
        first="王伟",
        last="अनीता 😀",
        diagnosis="Fever",
        instruction="After food",
        mobile="9845011111",
    )
    pdf = api.get(f"/api/v1/prescriptions/{rx.pk}/pdf/", **h(bob, clinic_a)).content
    text = " ".join(text_layer(pdf).split())  # the name wraps in its column
    assert "[U+738B][U+4F1F] अनीता [U+1F600]" in text
    assert not notdef_drawn(pdf)
    assert contains_shaped(pdf, font("Devanagari", bold=True), "अनीता")
