"""The demo letterhead (a drawn logo, a registration number and the doctor's signature) and,
for the family clinic, a Hindi-named patient who reads Hindi and a Tamil-named patient, each
with a prescription to print."""

from __future__ import annotations

import datetime
import io
import math

from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Membership, Role
from clinical.demo.common import DEMO_MEDICINES, clinic_days, demo_medicine
from clinical.models import Doctor, PrintTemplate
from clinical.services import patient_create, prescription_create
from clinical.services.printing import print_template_create
from tenants.context import tenant_context

# (first name, last name, mobile, gender, date of birth, print language, complaint, diagnosis,
# advice, instructions of the first medicine)
DEMO_INDIAN_PATIENTS = [
    (
        "अनीता",
        "शर्मा",
        "9810012345",
        "female",
        "1984-06-14",
        "hi",
        "तीन दिन से बुखार और गले में दर्द",
        "Acute viral pharyngitis (तीव्र ग्रसनीशोथ)",
        "गुनगुने नमक के पानी से गरारे करें। खूब पानी पिएं।",
        "खाना खाने के बाद",
    ),
    (
        "கவிதா",
        "செல்வி",
        "9841012345",
        "female",
        "1991-02-03",
        "",
        "இரண்டு நாட்களாக காய்ச்சல்",
        "Viral fever (வைரஸ் காய்ச்சல்)",
        "ஓய்வு எடுக்கவும்; வெந்நீர் அருந்தவும்.",
        "சாப்பிட்ட பிறகு",
    ),
]


def _demo_logo(initials: str) -> bytes:
    """A simple logo drawn here (no image is shipped): a cross and the clinic's initials."""
    # Imported here, not at the top: Pillow and the PDF renderer (fpdf2 and its fonts) are
    # heavy, and only seeding a demo draws a logo.
    from PIL import Image, ImageDraw, ImageFont

    from clinical.pdf import FONT_DIR

    image = Image.new("RGB", (360, 360), "white")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 10, 350, 350), radius=60, fill="#1d4e89")
    draw.rectangle((150, 50, 210, 190), fill="white")
    draw.rectangle((110, 90, 250, 150), fill="white")
    font = ImageFont.truetype(str(FONT_DIR / "NotoSans-Bold.ttf"), 96)
    draw.text((180, 270), initials, font=font, fill="white", anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _demo_signature() -> bytes:
    """A scribbled signature, drawn as a pen would: a few joined loops and a flourish."""
    # Imported here, not at the top: Pillow is heavy, and only seeding a demo draws.
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 180), "white")
    draw = ImageDraw.Draw(image)
    points = []
    for step in range(0, 420):
        t = step / 420
        x = 40 + 460 * t
        y = 95 - 45 * math.sin(t * math.pi * 7) * (1 - t * 0.6) - 20 * math.sin(t * math.pi)
        points.append((x, y))
    draw.line(points, fill="#0b2a66", width=6, joint="curve")
    draw.line([(60, 140), (300, 128), (540, 138)], fill="#0b2a66", width=4, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def seed_print_demo(*, tenant, kind: str) -> bool:
    """The clinic's letterhead (logo, registration number, the doctor's signature) and, for
    the family clinic, a Hindi-named patient who reads Hindi and a Tamil-named patient, each
    with a prescription. Idempotent: does nothing when the clinic has a print template.
    Answers whether it created them."""
    with tenant_context(tenant):
        if PrintTemplate.objects.exists():
            return False
        owner = Membership.objects.select_related("user").get(role=Role.OWNER).user
        doctor = Doctor.objects.select_related("user").order_by("created_at").first()
        medicines = [demo_medicine(*spec) for spec in DEMO_MEDICINES[kind]]
    initials = "".join(word[0] for word in tenant.name.split()[:2]).upper()
    print_template_create(
        tenant=tenant,
        actor=owner,
        name=f"{tenant.name} letterhead",
        registration_number="GSTIN 29AABCA1234D1Z5" if kind == "dental" else "KMC/CE/2019/0457",
        footer_text="Timings: Mon–Sat 9 am to 7 pm · Emergencies: call the clinic",
        logo=SimpleUploadedFile("logo.png", _demo_logo(initials), content_type="image/png"),
        signature=SimpleUploadedFile("signature.png", _demo_signature(), "image/png"),
    )
    if kind != "general":
        return True
    for (first, last, mobile, gender, born, language, complaint, diagnosis, advice,
         instruction) in DEMO_INDIAN_PATIENTS:  # fmt: skip
        patient = patient_create(
            tenant=tenant,
            actor=owner,
            first_name=first,
            last_name=last,
            mobile=mobile,
            gender=gender,
            date_of_birth=datetime.date.fromisoformat(born),
            print_language=language,
        )
        prescription_create(
            tenant=tenant,
            actor=doctor.user,
            patient_id=patient.pk,
            chief_complaint=complaint,
            diagnosis=diagnosis,
            instructions=advice,
            follow_up_date=clinic_days(4)[-1],
            items=[
                {
                    "medicine_id": medicines[0].pk,
                    "dosage": "1 tablet",
                    "frequency": "1-1-1",
                    "duration": "3 days",
                    "instructions": instruction,
                },
                {
                    "medicine_id": medicines[1].pk,
                    "dosage": "1 tablet",
                    "frequency": "0-0-1",
                    "duration": "5 days",
                    "instructions": instruction,
                },
            ],
            status="active",
        )
    return True
