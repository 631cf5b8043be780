"""Filling the earlier system's tables with plausible rows for each clinic asked for."""

from __future__ import annotations

import datetime
import random

import bcrypt

from clinics.legacy.sample.base import (
    MEDICINES,
    SHARED_MEDICINES,
    Clinic,
    Fill,
    Ids,
    copy_medicines,
)
from clinics.legacy.sample.dental import dental_write
from clinics.legacy.sample.practice import practice_write
from clinics.legacy.sample.visits import appointments_write, patients_write, prescriptions_write


def generate(
    conn,
    *,
    clinics: tuple[str, ...] = ("LEGACY_001",),
    with_clinics: bool = False,
    doctors: int = 3,
    patients: int = 100,
    appointments: int = 300,
    prescriptions: int = 300,
    items_per_prescription: int = 3,
    dental: int = 50,
    password: str = "Legacy-Password-1",
    seed: int = 20260106,
    progress=None,
) -> list[Clinic]:
    """Fill the earlier system's tables (created by `create_schema`) for each clinic code.

    Every clinic gets an admin (`admin@<code>.example`), `doctors` doctors, a nurse, a
    receptionist, a patient login and the counts asked for; the shared medicines (tenant
    NULL) are written once. One bcrypt hash is computed and reused: hashing is slow by design.
    """
    rng = random.Random(seed)
    new_id = Ids(rng)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    start = datetime.date(2026, 1, 5)
    shared_medicines = []
    medicine_rows = []
    for name, form, strength in MEDICINES[:SHARED_MEDICINES]:
        medicine_id = new_id()
        shared_medicines.append(medicine_id)
        medicine_rows.append(
            (medicine_id, None, name, name, f"{name} {strength}", [form], strength)
        )
    if with_clinics:
        for code in clinics:
            conn.execute(
                "INSERT INTO tenants (id, tenant_name, tenant_code, subscription_plan, "
                "subscription_status, max_doctors, max_patients) "
                "VALUES (%s, %s, %s, 'premium', 'active', -1, -1)",
                [new_id(), f"Clinic {code}", code],
            )
    tenant_ids = {}
    if with_clinics:
        for code, tenant_id in conn.execute("SELECT tenant_code, id FROM tenants").fetchall():
            tenant_ids[code] = tenant_id
    copy_medicines(conn, medicine_rows, with_clinics)

    result = []
    for number, code in enumerate(clinics):
        # The order of the steps is the order of draws from `rng`: keep it.
        fill = Fill(
            conn=conn,
            rng=rng,
            new_id=new_id,
            number=number,
            clinic=Clinic(code=code, id=tenant_ids.get(code)),
            with_clinics=with_clinics,
            start=start,
            progress=progress,
        )
        practice_write(fill, doctors=doctors, hashed=hashed, shared_medicines=shared_medicines)
        patients_write(fill, patients=patients)
        appointments_write(fill, appointments=appointments)
        prescriptions_write(
            fill, prescriptions=prescriptions, items_per_prescription=items_per_prescription
        )
        dental_write(fill, dental=dental)
        result.append(fill.clinic)
    return result
