"""A sample clinic's visits: patients in families, appointments, prescriptions and their items.

Rows are generated lazily and streamed with COPY, so a benchmark-sized source takes seconds.
"""

from __future__ import annotations

import datetime
import json

from clinics.legacy.sample.base import DIAGNOSES, FIRST_NAMES, LAST_NAMES, Fill, copy_rows


def patients_write(fill: Fill, *, patients: int) -> None:
    """`patients` patients; every third mobile number is shared by two family members."""
    clinic, number, rng = fill.clinic, fill.number, fill.rng

    def patient_rows():
        for n in range(patients):
            # Families: every third number has two members, the `self` first.
            family = n // 3 * 2 + min(n % 3, 1)
            mobile = f"9{number}{family:08d}"
            first = FIRST_NAMES[n % len(FIRST_NAMES)] + ("" if n % 3 != 2 else " Jr")
            relation = "child" if n % 3 == 2 else "self"
            patient_id = fill.new_id()
            clinic.patients.append((patient_id, mobile, first))
            yield (
                mobile,
                first,
                patient_id,
                fill.admin_id,
                *fill.tenant,
                LAST_NAMES[n % len(LAST_NAMES)],
                fill.start - datetime.timedelta(days=9000 + n),
                rng.choice(["male", "female"]),
                relation,
                mobile,
                json.dumps({"name": "Kin", "phone": "9123456780", "relationship": "spouse"}),
            )

    copy_rows(
        fill.conn,
        "patients",
        [
            "mobile_number",
            "first_name",
            "id",
            "created_by",
            *fill.tcol,
            "last_name",
            "date_of_birth",
            "gender",
            "relationship_to_primary",
            "primary_contact_mobile",
            "emergency_contact",
        ],
        patient_rows(),
    )
    fill.say(f"{fill.code}: {patients:,} patients")


def appointments_write(fill: Fill, *, appointments: int) -> None:
    """`appointments` appointments, forty a day from the start date, over the doctors and the
    two offices; numbered per day as the earlier system did (APTyyyymmddNNNN)."""
    clinic, number = fill.clinic, fill.number
    default_office, annexe = clinic.offices

    def appointment_rows():
        per_day: dict = {}
        for n in range(appointments):
            patient_id, mobile, first = clinic.patients[n % len(clinic.patients)]
            doctor_index = n % len(clinic.doctors)
            day = fill.start + datetime.timedelta(days=n // 40)
            per_day[day] = per_day.get(day, number * 1000) + 1
            appointment_id = fill.new_id()
            fill.appointments.append((appointment_id, patient_id, mobile, first, doctor_index, day))
            office = default_office["id"] if n % 2 == 0 or doctor_index % 2 else annexe["id"]
            minute = (n % 40) * 15
            yield (
                appointment_id,
                *fill.tenant,
                f"APT{day:%Y%m%d}{per_day[day]:04d}",
                mobile,
                first,
                patient_id,
                clinic.doctors[doctor_index],
                office,
                day,
                datetime.time(8 + minute // 60 % 12, minute % 60),
                15,
                "completed" if n % 5 else "scheduled",
                "walk_in" if n % 7 == 0 else "scheduled",
                "Check-up",
                fill.admin_id,
            )

    copy_rows(
        fill.conn,
        "appointments",
        [
            "id",
            *fill.tcol,
            "appointment_number",
            "patient_mobile_number",
            "patient_first_name",
            "patient_uuid",
            "doctor_id",
            "office_id",
            "appointment_date",
            "appointment_time",
            "duration_minutes",
            "status",
            "appointment_type",
            "reason_for_visit",
            "created_by",
        ],
        appointment_rows(),
    )
    fill.say(f"{fill.code}: {appointments:,} appointments")


def prescriptions_write(fill: Fill, *, prescriptions: int, items_per_prescription: int) -> None:
    """`prescriptions` prescriptions on the appointments' visits (the first ones linked to
    their appointment), each with up to `items_per_prescription` medicines."""
    clinic, number = fill.clinic, fill.number

    def prescription_rows():
        per_day: dict = {}
        for n in range(prescriptions):
            appointment = fill.appointments[n % len(fill.appointments)]
            appointment_id, patient_id, mobile, first, doctor_index, day = appointment
            per_day[day] = per_day.get(day, number * 1000) + 1
            prescription_id = fill.new_id()
            fill.prescriptions.append((prescription_id, appointment))
            linked = appointment_id if n < len(fill.appointments) else None
            yield (
                prescription_id,
                *fill.tenant,
                f"RX{day:%Y%m%d}{per_day[day]:04d}",
                mobile,
                first,
                patient_id,
                clinic.doctors[doctor_index],
                linked,
                day,
                "Fever",
                DIAGNOSES[n % len(DIAGNOSES)],
                "active" if n % 4 else "completed",
                n % 3 == 0,
                datetime.datetime(2026, 1, 6, 10, 30) if n % 3 == 0 else None,
            )

    copy_rows(
        fill.conn,
        "prescriptions",
        [
            "id",
            *fill.tcol,
            "prescription_number",
            "patient_mobile_number",
            "patient_first_name",
            "patient_uuid",
            "doctor_id",
            "appointment_id",
            "visit_date",
            "chief_complaint",
            "diagnosis",
            "status",
            "is_printed",
            "printed_at",
        ],
        prescription_rows(),
    )
    medicines = fill.medicines

    def item_rows():
        for prescription_id, _appointment in fill.prescriptions:
            for k in range(min(items_per_prescription, len(medicines))):
                medicine_id = medicines[(k + hash(prescription_id)) % len(medicines)]
                yield (
                    fill.new_id(),
                    *fill.tenant,
                    prescription_id,
                    medicine_id,
                    "1 tablet",
                    "Twice daily",
                    "5 days",
                    10,
                    "2.50",
                    "25.00",
                    k + 1,
                )

    copy_rows(
        fill.conn,
        "prescription_items",
        [
            "id",
            *fill.tcol,
            "prescription_id",
            "medicine_id",
            "dosage",
            "frequency",
            "duration",
            "quantity",
            "unit_price",
            "total_amount",
            "sequence_order",
        ],
        _unique_items(item_rows(), fill.with_clinics),
    )
    fill.say(f"{fill.code}: {prescriptions:,} prescriptions")


def _unique_items(rows, with_clinics: bool):
    """One medicine once per prescription, as the earlier application wrote them."""
    seen = set()
    index = 2 if with_clinics else 1
    for row in rows:
        key = (row[index], row[index + 1])
        if key not in seen:
            seen.add(key)
            yield row
