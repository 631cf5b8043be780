"""The demo clinic's day: the shared starter catalogues, the doctors' fees and weekly
availability, patients with a family, a short key, a walk-in seen today with the prescription
written at the visit, a draft prescription and bookings for the coming days. The dental
chart (clinical.demo.dental) and the letterhead (clinical.demo.printing) follow.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from accounts.models import Membership, Role
from clinical.demo.common import DEMO_MEDICINES, clinic_days, demo_medicine
from clinical.demo.dental import seed_dental_chart
from clinical.demo.printing import seed_print_demo
from clinical.models import Doctor, Office, SharedDentalTemplate, SharedMedicine
from clinical.services import (
    appointment_book,
    appointment_transition,
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
        has_medicines = SharedMedicine.objects.exists()
        has_templates = SharedDentalTemplate.objects.exists()
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
        medicines = [demo_medicine(*spec) for spec in DEMO_MEDICINES[kind]]
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
        follow_up_date=clinic_days(3)[-1],
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
    first_day, second_day = clinic_days(2)
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
