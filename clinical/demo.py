"""Clinical demo records for the demo clinics (see clinics.demo): doctors' fees and weekly
availability, patients with a family, short keys, appointments and prescriptions, for the
dental practice a filled-in dental chart (findings, a treatment plan, completed work), and
for both a letterhead with a logo and a signature (the family clinic also has a Hindi-named
and a Tamil-named patient with prescriptions).

Everything goes through the same services as the API, so the demo data obeys the same rules
(families, no past bookings, no overlaps, doctors prescribing as themselves).
"""

from __future__ import annotations

import datetime
import io
import math
from decimal import Decimal

from django.utils import timezone

from clinical.models import Appointment, DentalObservation, DentalTemplate, Doctor, Medicine, Office
from clinical.models import Patient as PatientModel
from clinical.services import (
    appointment_book,
    appointment_transition,
    dental_observation_create,
    dental_procedure_create,
    dental_procedure_transition,
    dental_template_catalogue_load,
    doctor_update,
    medicine_catalogue_load,
    medicine_create,
    office_create,
    patient_create,
    prescription_create,
    short_key_create,
)
from clinical.services.dental.templates import STARTER_TEMPLATES, read_dental_templates
from clinical.services.medicines import STARTER_CATALOGUE, read_catalogue
from tenants.context import tenant_context
from tenants.platform import platform_access

# (first name, last name, mobile, relationship, date of birth, gender)
DEMO_PATIENTS = {
    "dental": [
        ("Arjun", "Menon", "9845012345", "self", "1986-04-12", "male"),
        ("Kavya", "Menon", "9845012345", "spouse", "1989-09-30", "female"),
        ("Ishaan", "Menon", "9845012345", "child", "2016-02-08", "male"),
        ("Farah", "Khan", "9900112233", "self", "1994-11-02", "female"),
        ("Suresh", "Gowda", "9886543210", "self", "1961-07-21", "male"),
    ],
    "general": [
        ("Lalitha", "Raman", "9444012345", "self", "1958-03-15", "female"),
        ("Karthik", "Raman", "9444012345", "child", "1987-12-01", "male"),
        ("Anand", "Varghese", "9840098400", "self", "1979-05-26", "male"),
        ("Priya", "Natarajan", "9962011223", "self", "2001-08-19", "female"),
    ],
}

# (name, dosage form, strength): entries of the starter catalogue the demo prescribes.
DEMO_MEDICINES = {
    "dental": [
        ("Amoxicillin", "capsule", "500 mg"),
        ("Metronidazole", "tablet", "400 mg"),
        ("Ibuprofen", "tablet", "400 mg"),
        ("Chlorhexidine mouthwash", "mouthwash", "0.2% w/v"),
    ],
    "general": [
        ("Paracetamol", "tablet", "650 mg"),
        ("Cetirizine", "tablet", "10 mg"),
        ("Azithromycin", "tablet", "500 mg"),
        ("Oral rehydration salts", "powder", "20.5 g/sachet"),
    ],
}

DEMO_SCRIPTS = {
    "dental": {
        "code": "RCT",
        "name": "Root canal: pain and infection",
        "lines": [
            ("1 capsule", "1-1-1", "5 days", "after food"),
            ("1 tablet", "1-1-1", "5 days", "after food"),
            ("1 tablet", "1-0-1", "3 days", "after food, only if in pain"),
            ("10 ml", "1-0-1", "7 days", "rinse for 1 minute, do not swallow"),
        ],
        "complaint": "Throbbing pain in the lower right molar for two days",
        "diagnosis": "Symptomatic irreversible pulpitis, tooth 46",
        "advice": "Soft food for two days. Root canal treatment next visit.",
    },
    "general": {
        "code": "FEVER",
        "name": "Viral fever (adult)",
        "lines": [
            ("1 tablet", "1-1-1", "3 days", "after food, when temperature is above 100 F"),
            ("1 tablet", "0-0-1", "5 days", "at night"),
        ],
        "complaint": "Fever, body ache and running nose since yesterday",
        "diagnosis": "Acute viral upper respiratory infection",
        "advice": "Rest, warm fluids, steam inhalation. Come back if fever lasts 3 days.",
    },
}


def seed_catalogue(*, write=print) -> None:
    """Load the shared starter catalogues once (idempotent; audited platform access): the
    medicines and the dental observation templates."""
    with platform_access(reason="demo: starter catalogues"):
        has_medicines = Medicine.objects.filter(tenant__isnull=True).exists()
        has_templates = DentalTemplate.objects.filter(tenant__isnull=True).exists()
    if not has_medicines:
        with STARTER_CATALOGUE.open(encoding="utf-8") as handle:
            rows = read_catalogue(handle)
        result = medicine_catalogue_load(rows=rows, reason="demo: starter medicine catalogue")
        write(f"  Shared medicine catalogue: {result.created} medicines")
    if not has_templates:
        with STARTER_TEMPLATES.open(encoding="utf-8") as handle:
            rows = read_dental_templates(handle)
        result = dental_template_catalogue_load(rows=rows, reason="demo: dental templates")
        write(f"  Shared dental templates: {result.created} templates")


def _medicine(name: str, form: str, strength: str) -> Medicine:
    """A catalogue entry visible to the clinic; the clinic's own copy when the shared
    catalogue is not loaded."""
    found = Medicine.objects.filter(name=name, dosage_form=form, strength=strength).first()
    if found is not None:
        return found
    return Medicine.objects.create(
        name=name, generic_name=name, dosage_form=form, strength=strength
    )


def _clinic_days(count: int) -> list[datetime.date]:
    """The next `count` days after today on which the demo doctors work (Monday-Saturday)."""
    days, day = [], timezone.localdate()
    while len(days) < count:
        day += datetime.timedelta(days=1)
        if day.weekday() < 6:
            days.append(day)
    return days


def _availability(office: Office) -> list[dict]:
    windows = []
    for weekday in range(6):
        windows.append(
            {
                "weekday": weekday,
                "start_time": datetime.time(10),
                "end_time": datetime.time(13),
                "office_id": office.pk,
            }
        )
        windows.append(
            {
                "weekday": weekday,
                "start_time": datetime.time(17),
                "end_time": datetime.time(20),
                "office_id": office.pk,
            }
        )
    return windows


def seed_clinic(*, tenant, kind: str) -> None:
    from accounts.models import Membership, Role

    with tenant_context(tenant):
        owner = Membership.objects.select_related("user").get(role=Role.OWNER).user
        office = Office.objects.order_by("-is_primary", "name").first()
        doctors = list(Doctor.objects.select_related("user").order_by("created_at"))
    if office is None:
        office = office_create(
            tenant=tenant,
            name=tenant.name,
            address=tenant.address,
            phone=tenant.phone,
            is_primary=True,
        )
    actor = owner
    for index, doctor in enumerate(doctors):
        doctor_update(
            tenant=tenant,
            actor=actor,
            doctor=doctor,
            consultation_fee=Decimal("500.00") if index == 0 else Decimal("400.00"),
            consultation_duration=15 if kind == "general" else 20,
            office_ids=[office.pk],
            availability=_availability(office),
        )

    patients = []
    for first, last, mobile, relationship, born, gender in DEMO_PATIENTS[kind]:
        patients.append(
            patient_create(
                tenant=tenant,
                actor=actor,
                first_name=first,
                last_name=last,
                mobile=mobile,
                relationship_to_primary=relationship,
                date_of_birth=datetime.date.fromisoformat(born),
                gender=gender,
            )
        )

    script = DEMO_SCRIPTS[kind]
    doctor = doctors[0]
    with tenant_context(tenant):
        medicines = [_medicine(*spec) for spec in DEMO_MEDICINES[kind]]
    if kind == "dental":
        medicine_create(
            tenant=tenant,
            actor=doctor.user,
            name="Desensitising toothpaste",
            generic_name="Potassium nitrate + sodium fluoride",
            composition="Potassium nitrate 5% w/w + sodium fluoride 0.11% w/w",
            dosage_form="other",
            strength="70 g tube",
            category="Dental care",
            price=Decimal("145.00"),
            prescription_only=False,
        )
    lines = [
        {
            "medicine_id": medicine.pk,
            "dosage": dosage,
            "frequency": frequency,
            "duration": duration,
            "instructions": instructions,
        }
        for medicine, (dosage, frequency, duration, instructions) in zip(
            medicines, script["lines"], strict=False
        )
    ]
    short_key_create(
        tenant=tenant, actor=doctor.user, code=script["code"], name=script["name"], items=lines
    )

    # Today: a walk-in seen by the doctor, with the prescription written at the visit.
    walk_in = appointment_book(
        tenant=tenant,
        actor=actor,
        patient_id=patients[0].pk,
        doctor_id=doctor.pk,
        appointment_date=timezone.localdate(),
        appointment_time=datetime.time(10, 0),
        appointment_type="walk_in",
        reason=script["complaint"],
    )
    for status in ("in_progress", "completed"):
        appointment_transition(tenant=tenant, actor=actor, appointment=walk_in, status=status)
    prescription_create(
        tenant=tenant,
        actor=doctor.user,
        patient_id=patients[0].pk,
        appointment_id=walk_in.pk,
        chief_complaint=script["complaint"],
        diagnosis=script["diagnosis"],
        instructions=script["advice"],
        short_key_code=script["code"],
        follow_up_date=_clinic_days(3)[-1],
        status="active",
    )
    # A draft for another patient, written from scratch.
    prescription_create(
        tenant=tenant,
        actor=doctor.user,
        patient_id=patients[-1].pk,
        chief_complaint="Review visit",
        diagnosis=script["diagnosis"],
        items=lines[:2],
    )

    # The coming days: bookings with every doctor, some already confirmed.
    first_day, second_day = _clinic_days(2)
    bookings = [
        (first_day, datetime.time(10, 0), patients[1]),
        (first_day, datetime.time(11, 0), patients[2]),
        (first_day, datetime.time(17, 0), patients[3]),
        (second_day, datetime.time(10, 0), patients[-1]),
    ]
    for number, (day, time, patient) in enumerate(bookings):
        appointment = appointment_book(
            tenant=tenant,
            actor=actor,
            patient_id=patient.pk,
            doctor_id=doctors[number % len(doctors)].pk,
            appointment_date=day,
            appointment_time=time,
            reason="Check-up" if number % 2 else "Follow-up",
        )
        if number % 2 == 0:
            appointment_transition(
                tenant=tenant, actor=actor, appointment=appointment, status="confirmed"
            )
    if kind == "dental":
        seed_dental_chart(tenant=tenant)
    seed_print_demo(tenant=tenant, kind=kind)


# (tooth, surface, condition, severity, treatment required, days ago, notes)
DEMO_FINDINGS = [
    (46, "occlusal", "caries", "severe", True, 0, "Deep caries approaching the pulp; tender."),
    (36, "occlusal", "filled", "", False, 400, "Composite restoration, margins intact."),
    (16, "", "crown", "", False, 700, "Metal-ceramic crown, satisfactory."),
    (26, "", "root_canal_treated", "", True, 700, "RCT done elsewhere; needs a crown."),
    (38, "", "impacted", "mild", False, 400, "Mesioangular impaction, asymptomatic."),
    (18, "", "missing", "", False, 700, "Extracted years ago."),
    (11, "", "fracture", "mild", False, 30, "Enamel chip on the incisal edge; smoothed."),
    (47, "buccal", "periodontal_pocket", "mild", True, 30, "5 mm pocket, bleeding on probing."),
    (24, "mesial", "caries", "moderate", True, 30, "Proximal caries on the bitewing."),
]
# (code, name, teeth, estimate, status path, planned in days, notes)
DEMO_PROCEDURES = [
    ("D3330", "Root canal treatment, molar", [46], "6500.00", ["in_progress"], 0, ""),
    ("D2740", "Crown, porcelain/ceramic", [46], "9000.00", [], 21, "After the RCT."),
    ("D2740", "Crown, porcelain/ceramic", [26], "9000.00", [], 35, ""),
    ("D2392", "Resin composite, two surfaces", [24], "1800.00", [], 7, ""),
    (
        "D1110",
        "Prophylaxis (scaling and polishing)",
        [],
        "1200.00",
        ["in_progress", "completed"],
        0,
        "",
    ),
]


def seed_dental_chart(*, tenant) -> bool:
    """A filled-in chart for the dental practice's first patient (and two primary teeth of
    the family's child), through the dental services. Idempotent: does nothing when the
    clinic has dental records already. Answers whether it created them."""
    with tenant_context(tenant):
        if DentalObservation.objects.exists():
            return False
        doctor = Doctor.objects.select_related("user").order_by("created_at").first()
        family = list(
            PatientModel.objects.active().filter(mobile="9845012345").order_by("created_at")
        )
        visit = (
            Appointment.objects.filter(patient=family[0], status="completed").first()
            if family
            else None
        )
    if doctor is None or not family:
        return False
    patient, actor, today = family[0], doctor.user, timezone.localdate()
    by_tooth = {}
    for tooth, surface, condition, severity, required, days_ago, notes in DEMO_FINDINGS:
        by_tooth[tooth] = dental_observation_create(
            tenant=tenant,
            actor=actor,
            patient_id=patient.pk,
            appointment_id=visit.pk if visit is not None and days_ago == 0 else None,
            tooth_number=tooth,
            tooth_surface=surface,
            condition_type=condition,
            severity=severity,
            treatment_required=required,
            observed_on=today - datetime.timedelta(days=days_ago),
            notes=notes,
        )
    for code, name, teeth, estimate, path, planned_in, notes in DEMO_PROCEDURES:
        procedure = dental_procedure_create(
            tenant=tenant,
            actor=actor,
            patient_id=patient.pk,
            observation_id=by_tooth[teeth[0]].pk if teeth and teeth[0] in by_tooth else None,
            procedure_code=code,
            procedure_name=name,
            teeth=teeth,
            estimated_cost=Decimal(estimate),
            planned_date=today + datetime.timedelta(days=planned_in),
            notes=notes,
        )
        for status in path:
            dental_procedure_transition(
                tenant=tenant,
                actor=actor,
                procedure=procedure,
                status=status,
                actual_cost=Decimal(estimate) if status == "completed" else None,
            )
    if len(family) > 2:
        child = family[2]
        for tooth, condition in ((54, "caries"), (65, "filled")):
            dental_observation_create(
                tenant=tenant,
                actor=actor,
                patient_id=child.pk,
                tooth_number=tooth,
                tooth_surface="occlusal",
                condition_type=condition,
                severity="mild" if condition == "caries" else "",
                treatment_required=condition == "caries",
            )
    return True


# --- printing: a letterhead, and patients who read Hindi and Tamil ----------------------------

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
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.models import Membership, Role
    from clinical.models import PrintTemplate
    from clinical.services.printing import print_template_create

    with tenant_context(tenant):
        if PrintTemplate.objects.exists():
            return False
        owner = Membership.objects.select_related("user").get(role=Role.OWNER).user
        doctor = Doctor.objects.select_related("user").order_by("created_at").first()
        medicines = [_medicine(*spec) for spec in DEMO_MEDICINES[kind]]
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
            follow_up_date=_clinic_days(4)[-1],
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
