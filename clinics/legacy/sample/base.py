"""What the sample's writers share: the word lists, the generated clinic, seeded ids, COPY.

Every value comes from one seeded random generator, and the writers draw from it in a fixed
order (people, offices, doctors, medicines, patients, appointments, prescriptions, dental
records): the same arguments give the same database.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

FIRST = "Aarav Vivaan Aditya Diya Ananya Ishaan Kavya Meera Rohan Saanvi Arjun Priya Lakshmi"
LAST = "Sharma Iyer Nair Reddy Patel Gupta Rao Menon Pillai Das Kumar Singh Joshi Verma"
FIRST_NAMES = FIRST.split()
LAST_NAMES = LAST.split()
MEDICINES = [
    # (name, form, strength): the first ones are in the platform's shared catalogue.
    ("Paracetamol", "tablet", "500 mg"),
    ("Paracetamol", "tablet", "650 mg"),
    ("Amoxicillin", "capsule", "500 mg"),
    ("Clinic Mouth Rinse", "mouthwash", "0.2%"),
    ("Ibuprofen", "tablet", "400 mg"),
    ("Cetirizine", "tablet", "10 mg"),
]
# How many of MEDICINES are shared by every clinic (tenant NULL); the rest are each clinic's.
SHARED_MEDICINES = 3
DIAGNOSES = ["Viral fever", "Dental caries", "Gingivitis", "Hypertension", "Migraine"]
CONDITIONS = ["caries", "fracture", "missing", "filled", "crown"]
SURFACES = ["mesial", "distal", "occlusal", "buccal", "lingual", None]
TEETH = [q * 10 + p for q in (1, 2, 3, 4) for p in range(1, 9)]
WEEK = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass
class Clinic:
    """One clinic of the source: its code and what was generated for it (ids to test on)."""

    code: str
    id: uuid.UUID
    users: list = field(default_factory=list)
    doctors: list = field(default_factory=list)
    offices: list = field(default_factory=list)
    patients: list = field(default_factory=list)


class Ids:
    """Version-4 UUIDs drawn from the seeded generator, so they repeat from run to run."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def __call__(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


@dataclass
class Fill:
    """One clinic being written: the connection, the seeded generator, and what the earlier
    steps made that the later ones refer to (the admin, medicines, appointments, …)."""

    conn: object
    rng: random.Random
    new_id: Ids
    number: int
    clinic: Clinic
    with_clinics: bool
    start: datetime.date
    progress: Callable[[str], None] | None
    admin_id: uuid.UUID | None = None
    medicines: list = field(default_factory=list)
    # (appointment id, patient id, mobile, first name, doctor index, day)
    appointments: list = field(default_factory=list)
    # (prescription id, its appointment tuple)
    prescriptions: list = field(default_factory=list)
    # (observation id, appointment id, mobile, first name)
    observations: list = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.clinic.code

    @property
    def tenant(self) -> list:
        """The row's leading tenant value, in the shape with clinics only."""
        return [self.clinic.id] if self.with_clinics else []

    @property
    def tcol(self) -> list[str]:
        """The tenant column, in the shape with clinics only."""
        return ["tenant_id"] if self.with_clinics else []

    def say(self, message: str) -> None:
        if self.progress:
            self.progress(message)


def copy_rows(conn, table: str, columns: list[str], rows) -> None:
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def copy_medicines(conn, rows, with_clinics: bool) -> None:
    """Medicine rows given as (id, tenant id, name, generic name, composition, forms, strength)."""
    columns = ["id", "name", "generic_name", "composition", "dosage_forms", "strength"]
    if with_clinics:
        copy_rows(conn, "medicines", ["tenant_id", *columns], ((r[1], r[0], *r[2:]) for r in rows))
    else:
        copy_rows(conn, "medicines", columns, ((r[0], *r[2:]) for r in rows))
