"""A sample clinic's practice: its people, its two offices, its doctors and its own medicines."""

from __future__ import annotations

import json

from clinics.legacy.sample.base import (
    LAST_NAMES,
    MEDICINES,
    SHARED_MEDICINES,
    WEEK,
    Fill,
    copy_medicines,
    copy_rows,
)


def practice_write(fill: Fill, *, doctors: int, hashed: str, shared_medicines: list) -> None:
    """Every clinic gets an admin (`admin@<code>.example`), `doctors` doctors, a nurse, a
    receptionist and a patient login (the first clinic also the earlier system's super
    admin), all with the password hashed as `hashed`; a main office and an annexe; and the
    clinic's own medicines next to the shared ones."""
    _users_write(fill, doctors=doctors, hashed=hashed)
    _offices_make(fill)
    _doctors_write(fill)
    _medicines_write(fill, shared_medicines)


def _users_write(fill: Fill, *, doctors: int, hashed: str) -> None:
    clinic, code, tenant = fill.clinic, fill.code, fill.tenant
    slug = code.lower().replace("_", "-")
    people = [("admin", f"admin@{slug}.example", "Meera", "Nair")]
    people += [
        ("doctor", f"doctor{n}@{slug}.example", "Doctor", LAST_NAMES[n]) for n in range(doctors)
    ]
    people += [
        ("nurse", f"nurse@{slug}.example", "Nisha", "Rao"),
        ("receptionist", f"desk@{slug}.example", "Front", "Desk"),
        ("patient", f"patient@{slug}.example", "Pat", "Ient"),
    ]
    if fill.number == 0:
        people.append(("super_admin", "root@earlier.example", "Root", "Admin"))
    user_rows = []
    for role, email, first, last in people:
        user_id = fill.new_id()
        clinic.users.append((user_id, role, email))
        user_rows.append(
            (
                user_id,
                *tenant,
                email,
                hashed,
                role,
                first,
                last,
                "9876543210",
                True,
                "2026-01-10T09:30:00",
            )
        )
    copy_rows(
        fill.conn,
        "users",
        [
            "id",
            *fill.tcol,
            "email",
            "hashed_password",
            "role",
            "first_name",
            "last_name",
            "phone",
            "is_email_verified",
            "last_login_at",
        ],
        user_rows,
    )
    fill.admin_id = clinic.users[0][0]


def _offices_make(fill: Fill) -> None:
    # The earlier system kept offices as JSON on the doctor; the clinic's default one has an
    # id derived from the clinic (a fresh one in the shape before clinics).
    clinic = fill.clinic
    default_office = {
        "id": f"tenant-{clinic.id or fill.new_id()}",
        "name": "Main clinic",
        "address": "1 MG Road",
        "is_primary": True,
        "is_tenant_default": True,
    }
    annexe = {
        "id": str(fill.new_id()),
        "name": "Annexe",
        "address": "2 Park Street",
        "is_primary": False,
        "phone": "9876500000",
    }
    clinic.offices = [default_office, annexe]


def _doctors_write(fill: Fill) -> None:
    clinic, code, number = fill.clinic, fill.code, fill.number
    default_office, annexe = clinic.offices
    schedule = {day: [] for day in WEEK}
    schedule["monday"] = [
        {"start_time": "09:00", "end_time": "13:00"},
        {"start_time": "17:00", "end_time": "20:00"},
    ]
    schedule["thursday"] = [{"start_time": "10:00", "end_time": "14:00"}]
    doctor_rows = []
    for n, (user_id, _role, _email) in enumerate(u for u in clinic.users if u[1] == "doctor"):
        doctor_id = fill.new_id()
        clinic.doctors.append(doctor_id)
        speciality = "Dental surgery" if n == 0 else "General medicine"
        doctor_rows.append(
            (
                doctor_id,
                *fill.tenant,
                user_id,
                f"{code[:3]}{number}LIC{n:04d}",
                speciality,
                "BDS" if n == 0 else "MBBS",
                5 + n,
                "500",
                20,
                json.dumps(schedule),
                json.dumps([default_office, annexe] if n % 2 == 0 else [default_office]),
            )
        )
    copy_rows(
        fill.conn,
        "doctors",
        [
            "id",
            *fill.tcol,
            "user_id",
            "license_number",
            "specialization",
            "qualification",
            "experience_years",
            "consultation_fee",
            "consultation_duration",
            "availability_schedule",
            "offices",
        ],
        doctor_rows,
    )


def _medicines_write(fill: Fill, shared_medicines: list) -> None:
    own_medicines = []
    rows = []
    for name, form, strength in MEDICINES[SHARED_MEDICINES:]:
        medicine_id = fill.new_id()
        own_medicines.append(medicine_id)
        rows.append(
            (medicine_id, fill.clinic.id, name, name, f"{name} {strength}", [form], strength)
        )
    copy_medicines(fill.conn, rows, fill.with_clinics)
    fill.medicines = shared_medicines + own_medicines
