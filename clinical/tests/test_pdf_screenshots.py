"""A page of a prescription PDF per script, rasterised by poppler (pdftoppm) into
artifacts/screenshots/pdf-<language>.png: the PDFs open in a second, independent reader, and
a person can look at every script. Skipped where poppler-utils is not installed (CI installs
it)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.conf import settings

from clinical.services.printing import print_template_create
from clinical.tests.conftest import h
from clinical.tests.test_pdf_shaping import IDS, SAMPLES, _prescription
from clinical.tests.test_print_templates import png, upload

SCREENSHOTS = settings.BASE_DIR / "artifacts" / "screenshots"

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm missing (apt-get install poppler-utils)"
)


@pytest.fixture
def letterhead(clinic_a, alice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return print_template_create(
        tenant=clinic_a,
        actor=alice,
        name="Letterhead",
        registration_number="GSTIN 29AABCA1234D1Z5",
        footer_text="Timings: Mon–Sat 9 am to 7 pm",
        logo=upload("logo.png", png("#1d4e89", (120, 120))),
        signature=upload("sign.png", png("#0b2a66", (300, 60))),
    )


@pytest.mark.parametrize(("lang", "script", "first", "last", "diagnosis", "instruction"), SAMPLES,
                         ids=IDS)  # fmt: skip
def test_a_pdf_page_per_script_renders_in_poppler(
    api, clinic_a, bob, doctor, medicine, letterhead, lang, script, first, last, diagnosis,
    instruction,
):  # fmt: skip
    rx = _prescription(
        clinic_a,
        bob,
        medicine,
        first=first,
        last=last,
        diagnosis=diagnosis,
        instruction=instruction,
        mobile=f"98451{IDS.index(lang):05d}",
    )
    pdf = api.get(f"/api/v1/prescriptions/{rx.pk}/pdf/", **h(bob, clinic_a)).content
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"pdf-{lang}"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", "-", str(target)],
        input=pdf,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert target.with_suffix(".png").stat().st_size > 5000
