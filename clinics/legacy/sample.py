"""A database shaped like the earlier system's, for tests, the benchmark and the README.

`create_schema` writes the earlier system's tables (docs: /work/shared/earlier-system.md,
summarised in docs/operations.md) in one of its two shapes: before clinics (no `tenants`, no
`tenant_id`), or with clinics (a `tenants` table and `tenant_id` on the 13 tables that had
it). `generate` fills it with plausible rows, streamed with COPY so a benchmark-sized source
(10,000 patients, 30,000 appointments, …) takes seconds. Everything is derived from a seeded
random generator: the same arguments give the same database.
"""

from __future__ import annotations

import datetime
import json
import random
import uuid
from dataclasses import dataclass, field

import bcrypt

DDL = """
CREATE TYPE user_role AS ENUM
    ('super_admin', 'admin', 'doctor', 'nurse', 'receptionist', 'patient');
CREATE TYPE gender AS ENUM ('male', 'female', 'other', 'prefer_not_to_say');
CREATE TYPE relationship AS ENUM
    ('self', 'spouse', 'child', 'parent', 'sibling', 'grandparent', 'grandchild', 'other');
CREATE TYPE appointment_status AS ENUM
    ('scheduled', 'confirmed', 'in_progress', 'completed', 'cancelled', 'no_show', 'rescheduled');
CREATE TYPE appointment_type AS ENUM ('scheduled', 'walk_in');
CREATE TYPE prescription_status AS ENUM
    ('draft', 'active', 'dispensed', 'completed', 'cancelled', 'expired');
{tenants}
CREATE TABLE users (
    {base}, {tenant}
    email varchar(255) NOT NULL UNIQUE, hashed_password varchar(255), role user_role NOT NULL,
    first_name varchar(100) NOT NULL, last_name varchar(100) NOT NULL, phone varchar(20),
    keycloak_id varchar(255), is_email_verified boolean DEFAULT false,
    is_phone_verified boolean DEFAULT false, last_login_at text);
CREATE TABLE doctors (
    {base}, {tenant}
    user_id uuid NOT NULL UNIQUE REFERENCES users(id), license_number varchar(50) NOT NULL UNIQUE,
    specialization varchar(200) NOT NULL, qualification text, experience_years integer,
    phone varchar(20), consultation_fee varchar(20), consultation_duration integer DEFAULT 30,
    availability_schedule jsonb, clinic_address text, offices jsonb DEFAULT '[]');
CREATE TABLE patients (
    mobile_number varchar(15) NOT NULL, first_name varchar(100) NOT NULL,
    id uuid NOT NULL UNIQUE, created_at timestamptz DEFAULT now(),
    updated_at timestamptz DEFAULT now(), is_active boolean DEFAULT true,
    created_by uuid REFERENCES users(id), {tenant}
    last_name varchar(100) NOT NULL, date_of_birth date NOT NULL, gender gender NOT NULL,
    email varchar(255), address text, notes text,
    relationship_to_primary relationship DEFAULT 'self', primary_contact_mobile varchar(15),
    emergency_contact jsonb,
    PRIMARY KEY (mobile_number, first_name));
CREATE TABLE medicines (
    {base}, {tenant_nullable}
    name varchar(200) NOT NULL, generic_name varchar(200), composition text NOT NULL,
    manufacturer varchar(200), dosage_forms text[], strength varchar(100),
    drug_category varchar(100), price numeric(10, 2), requires_prescription boolean DEFAULT true,
    atc_code varchar(20), storage_conditions text, contraindications text, side_effects text);
CREATE TABLE short_keys (
    id uuid PRIMARY KEY, created_at timestamptz DEFAULT now(), updated_at timestamptz,
    is_active boolean DEFAULT true, created_by uuid NOT NULL REFERENCES users(id), {tenant}
    code varchar(20) NOT NULL UNIQUE, name varchar(100) NOT NULL, description text,
    is_global boolean DEFAULT false, usage_count integer DEFAULT 0);
CREATE TABLE short_key_medicines (
    {base},
    short_key_id uuid NOT NULL REFERENCES short_keys(id),
    medicine_id uuid NOT NULL REFERENCES medicines(id), default_dosage varchar(100) NOT NULL,
    default_frequency varchar(100) NOT NULL, default_duration varchar(100) NOT NULL,
    default_instructions text, sequence_order integer DEFAULT 1);
CREATE TABLE appointments (
    {base}, {tenant}
    appointment_number varchar(20) NOT NULL UNIQUE, patient_mobile_number varchar(15) NOT NULL,
    patient_first_name varchar(100) NOT NULL, patient_uuid uuid NOT NULL,
    doctor_id uuid NOT NULL REFERENCES doctors(id), office_id varchar(50),
    appointment_date date NOT NULL, appointment_time time NOT NULL,
    duration_minutes integer DEFAULT 30, status appointment_status DEFAULT 'scheduled',
    {appointment_type}
    reason_for_visit text NOT NULL, notes text, contact_number varchar(15));
CREATE TABLE prescriptions (
    {base}, {tenant}
    prescription_number varchar(20) NOT NULL UNIQUE, patient_mobile_number varchar(15) NOT NULL,
    patient_first_name varchar(100) NOT NULL, patient_uuid uuid NOT NULL,
    doctor_id uuid NOT NULL REFERENCES doctors(id), appointment_id uuid REFERENCES appointments(id),
    visit_date date NOT NULL, chief_complaint text, diagnosis text NOT NULL, symptoms text,
    clinical_notes text, doctor_instructions text, status prescription_status DEFAULT 'active',
    is_printed boolean DEFAULT false, printed_at timestamp, template_used varchar(100));
CREATE TABLE prescription_items (
    {base}, {tenant}
    prescription_id uuid NOT NULL REFERENCES prescriptions(id),
    medicine_id uuid NOT NULL REFERENCES medicines(id), dosage varchar(100) NOT NULL,
    frequency varchar(100) NOT NULL, duration varchar(100) NOT NULL, instructions text,
    quantity integer DEFAULT 1, unit_price numeric(10, 2), total_amount numeric(10, 2),
    is_generic_substitution_allowed boolean DEFAULT true, sequence_order integer DEFAULT 1);
CREATE TABLE dental_observations (
    {base}, {tenant}
    patient_mobile_number varchar(15) NOT NULL, patient_first_name varchar(100) NOT NULL,
    prescription_id uuid REFERENCES prescriptions(id),
    appointment_id uuid REFERENCES appointments(id), tooth_number varchar(3) NOT NULL,
    tooth_surface varchar(20), condition_type varchar(50) NOT NULL, severity varchar(50),
    observation_notes text, custom_notes text, selected_template_ids text,
    treatment_required boolean DEFAULT false, treatment_done boolean DEFAULT false,
    treatment_date date);
CREATE TABLE dental_procedures (
    {base}, {tenant}
    observation_id uuid REFERENCES dental_observations(id),
    prescription_id uuid REFERENCES prescriptions(id),
    appointment_id uuid REFERENCES appointments(id), procedure_code varchar(20) NOT NULL,
    procedure_name varchar(200) NOT NULL, tooth_numbers text, description text,
    estimated_cost numeric(10, 2), actual_cost numeric(10, 2), duration_minutes integer,
    status varchar(20) DEFAULT 'planned', procedure_date date, completed_date date,
    procedure_notes text, complications text);
CREATE TABLE dental_observation_templates (
    {base}, {tenant}
    condition_type varchar(50), tooth_surface varchar(20), severity varchar(50),
    template_text text NOT NULL, short_code varchar(20), display_order integer DEFAULT 0,
    is_global boolean DEFAULT false, specialization varchar(100),
    created_by_doctor uuid REFERENCES doctors(id));
CREATE TABLE case_studies (
    id uuid PRIMARY KEY, created_at timestamp DEFAULT now(), updated_at timestamp,
    is_active boolean DEFAULT true, created_by uuid, {tenant}
    case_study_number varchar(30), patient_mobile_number varchar(15),
    patient_first_name varchar(100), patient_uuid uuid, doctor_id uuid, title text,
    appointment_ids text, prescription_ids text, procedure_ids text, observation_ids text,
    status varchar(20));
CREATE TABLE dental_attachments (
    id uuid PRIMARY KEY, created_at timestamp DEFAULT now(), updated_at timestamp,
    is_active boolean DEFAULT true, {tenant}
    observation_id uuid REFERENCES dental_observations(id),
    procedure_id uuid REFERENCES dental_procedures(id),
    case_study_id uuid REFERENCES case_studies(id),
    patient_mobile_number varchar(15) NOT NULL, patient_first_name varchar(100) NOT NULL,
    file_type varchar(20) NOT NULL, file_name varchar(255) NOT NULL, file_path text NOT NULL,
    file_size integer, mime_type varchar(100), caption text, taken_date date,
    uploaded_by uuid REFERENCES users(id));
CREATE TABLE audit_logs (
    {base}, table_name varchar(100), record_id uuid, action varchar(20), old_values jsonb,
    new_values jsonb, performed_by uuid);
{templates}
"""

BASE = (
    "id uuid PRIMARY KEY, created_at timestamptz DEFAULT now(), "
    "updated_at timestamptz DEFAULT now(), is_active boolean DEFAULT true, created_by uuid"
)
TENANTS = """
CREATE TABLE tenants (
    {base}, tenant_name varchar(200) NOT NULL, tenant_code varchar(50) NOT NULL UNIQUE,
    subscription_plan varchar(20) DEFAULT 'trial', subscription_status varchar(20),
    trial_ends_at timestamptz, subscription_ends_at timestamptz, max_clinics integer DEFAULT 1,
    max_doctors integer DEFAULT 5, max_patients integer DEFAULT 1000,
    max_storage_mb integer DEFAULT 1024, billing_email varchar(255),
    support_email varchar(255), phone varchar(20), settings jsonb DEFAULT '{{}}');
"""
TEMPLATES = """
CREATE TABLE prescription_templates (
    {base}, tenant_id uuid NOT NULL REFERENCES tenants(id), doctor_id uuid REFERENCES doctors(id),
    office_id uuid, name varchar(100) NOT NULL, description text, paper_size varchar(10),
    orientation varchar(10), margin_top integer, margin_bottom integer, margin_left integer,
    margin_right integer, layout_config jsonb, logo_url text, signature_url text,
    signature_text text, is_default boolean DEFAULT false, preset_type varchar(30));
"""


def create_schema(conn, *, with_clinics: bool = False, appointment_type: bool = True) -> None:
    """The earlier system's tables on `conn` (a psycopg connection), in the shape asked for."""
    ddl = DDL.format(
        base=BASE,
        tenants=TENANTS.format(base=BASE) if with_clinics else "",
        tenant="tenant_id uuid NOT NULL REFERENCES tenants(id)," if with_clinics else "",
        tenant_nullable="tenant_id uuid REFERENCES tenants(id)," if with_clinics else "",
        appointment_type=(
            "appointment_type appointment_type NOT NULL DEFAULT 'scheduled',"
            if appointment_type
            else ""
        ),
        templates=TEMPLATES.format(base=BASE) if with_clinics else "",
    )
    conn.execute(ddl)


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


class _Ids:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def __call__(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)


def _copy(conn, table: str, columns: list[str], rows) -> None:
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


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
    new_id = _Ids(rng)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    start = datetime.date(2026, 1, 5)
    result = []
    shared_medicines = []
    medicine_rows = []
    for name, form, strength in MEDICINES[:3]:
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
    _copy_medicines(conn, medicine_rows, with_clinics)

    def fill_clinic(number: int, code: str) -> Clinic:
        slug = code.lower().replace("_", "-")
        clinic = Clinic(code=code, id=tenant_ids.get(code))
        tenant = [clinic.id] if with_clinics else []
        tcol = ["tenant_id"] if with_clinics else []
        people = [("admin", f"admin@{slug}.example", "Meera", "Nair")]
        people += [
            ("doctor", f"doctor{n}@{slug}.example", "Doctor", LAST_NAMES[n]) for n in range(doctors)
        ]
        people += [
            ("nurse", f"nurse@{slug}.example", "Nisha", "Rao"),
            ("receptionist", f"desk@{slug}.example", "Front", "Desk"),
            ("patient", f"patient@{slug}.example", "Pat", "Ient"),
        ]
        if number == 0:
            people.append(("super_admin", "root@earlier.example", "Root", "Admin"))
        user_rows = []
        for role, email, first, last in people:
            user_id = new_id()
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
        _copy(
            conn,
            "users",
            [
                "id",
                *tcol,
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
        default_office = {
            "id": f"tenant-{clinic.id or new_id()}",
            "name": "Main clinic",
            "address": "1 MG Road",
            "is_primary": True,
            "is_tenant_default": True,
        }
        annexe = {
            "id": str(new_id()),
            "name": "Annexe",
            "address": "2 Park Street",
            "is_primary": False,
            "phone": "9876500000",
        }
        clinic.offices = [default_office, annexe]
        schedule = {day: [] for day in WEEK}
        schedule["monday"] = [
            {"start_time": "09:00", "end_time": "13:00"},
            {"start_time": "17:00", "end_time": "20:00"},
        ]
        schedule["thursday"] = [{"start_time": "10:00", "end_time": "14:00"}]
        doctor_rows = []
        for n, (user_id, _role, _email) in enumerate(u for u in clinic.users if u[1] == "doctor"):
            doctor_id = new_id()
            clinic.doctors.append(doctor_id)
            speciality = "Dental surgery" if n == 0 else "General medicine"
            doctor_rows.append(
                (
                    doctor_id,
                    *tenant,
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
        _copy(
            conn,
            "doctors",
            [
                "id",
                *tcol,
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
        own_medicines = []
        for name, form, strength in MEDICINES[3:]:
            medicine_id = new_id()
            own_medicines.append(medicine_id)
            medicine_rows.append(
                (medicine_id, clinic.id, name, name, f"{name} {strength}", [form], strength)
            )
        _copy_medicines(conn, medicine_rows[-len(own_medicines) :], with_clinics)
        medicines = shared_medicines + own_medicines
        admin_id = clinic.users[0][0]

        def patient_rows():
            for n in range(patients):
                # Families: every third number has two members, the `self` first.
                family = n // 3 * 2 + min(n % 3, 1)
                mobile = f"9{number}{family:08d}"
                first = FIRST_NAMES[n % len(FIRST_NAMES)] + ("" if n % 3 != 2 else " Jr")
                relation = "child" if n % 3 == 2 else "self"
                patient_id = new_id()
                clinic.patients.append((patient_id, mobile, first))
                yield (
                    mobile,
                    first,
                    patient_id,
                    admin_id,
                    *tenant,
                    LAST_NAMES[n % len(LAST_NAMES)],
                    start - datetime.timedelta(days=9000 + n),
                    rng.choice(["male", "female"]),
                    relation,
                    mobile,
                    json.dumps({"name": "Kin", "phone": "9123456780", "relationship": "spouse"}),
                )

        _copy(
            conn,
            "patients",
            [
                "mobile_number",
                "first_name",
                "id",
                "created_by",
                *tcol,
                "last_name",
                "date_of_birth",
                "gender",
                "relationship_to_primary",
                "primary_contact_mobile",
                "emergency_contact",
            ],
            patient_rows(),
        )
        if progress:
            progress(f"{code}: {patients:,} patients")
        appointment_ids = []

        def appointment_rows():
            per_day: dict = {}
            for n in range(appointments):
                patient_id, mobile, first = clinic.patients[n % len(clinic.patients)]
                doctor_index = n % len(clinic.doctors)
                day = start + datetime.timedelta(days=n // 40)
                per_day[day] = per_day.get(day, number * 1000) + 1
                appointment_id = new_id()
                appointment_ids.append(
                    (appointment_id, patient_id, mobile, first, doctor_index, day)
                )
                office = default_office["id"] if n % 2 == 0 or doctor_index % 2 else annexe["id"]
                minute = (n % 40) * 15
                yield (
                    appointment_id,
                    *tenant,
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
                    admin_id,
                )

        _copy(
            conn,
            "appointments",
            [
                "id",
                *tcol,
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
        if progress:
            progress(f"{code}: {appointments:,} appointments")
        prescription_ids = []

        def prescription_rows():
            per_day: dict = {}
            for n in range(prescriptions):
                appointment = appointment_ids[n % len(appointment_ids)]
                appointment_id, patient_id, mobile, first, doctor_index, day = appointment
                per_day[day] = per_day.get(day, number * 1000) + 1
                prescription_id = new_id()
                prescription_ids.append((prescription_id, appointment))
                linked = appointment_id if n < len(appointment_ids) else None
                yield (
                    prescription_id,
                    *tenant,
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

        _copy(
            conn,
            "prescriptions",
            [
                "id",
                *tcol,
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

        def item_rows():
            for prescription_id, _appointment in prescription_ids:
                for k in range(min(items_per_prescription, len(medicines))):
                    medicine_id = medicines[(k + hash(prescription_id)) % len(medicines)]
                    yield (
                        new_id(),
                        *tenant,
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

        _copy(
            conn,
            "prescription_items",
            [
                "id",
                *tcol,
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
            _unique_items(item_rows(), with_clinics),
        )
        if progress:
            progress(f"{code}: {prescriptions:,} prescriptions")
        observation_ids = []

        def observation_rows():
            for n in range(dental):
                appointment_id, _pid, mobile, first, _d, day = appointment_ids[n]
                observation_id = new_id()
                observation_ids.append((observation_id, appointment_id, mobile, first))
                yield (
                    observation_id,
                    *tenant,
                    mobile,
                    first,
                    appointment_id,
                    str(TEETH[n % len(TEETH)]),
                    SURFACES[n % len(SURFACES)],
                    CONDITIONS[n % len(CONDITIONS)],
                    "Moderate",
                    "Seen on x-ray",
                    n % 2 == 0,
                )

        _copy(
            conn,
            "dental_observations",
            [
                "id",
                *tcol,
                "patient_mobile_number",
                "patient_first_name",
                "appointment_id",
                "tooth_number",
                "tooth_surface",
                "condition_type",
                "severity",
                "observation_notes",
                "treatment_required",
            ],
            observation_rows(),
        )

        def procedure_rows():
            for n, (observation_id, appointment_id, _m, _f) in enumerate(observation_ids):
                if n % 2:
                    continue
                yield (
                    new_id(),
                    *tenant,
                    observation_id,
                    appointment_id,
                    "D2391",
                    "Resin composite, one surface",
                    f"{TEETH[n % 32]}, {TEETH[(n + 1) % 32]}",
                    "1500.00",
                    "completed" if n % 4 == 0 else "planned",
                )

        _copy(
            conn,
            "dental_procedures",
            [
                "id",
                *tcol,
                "observation_id",
                "appointment_id",
                "procedure_code",
                "procedure_name",
                "tooth_numbers",
                "estimated_cost",
                "status",
            ],
            procedure_rows(),
        )
        _copy(
            conn,
            "dental_attachments",
            [
                "id",
                *tcol,
                "observation_id",
                "patient_mobile_number",
                "patient_first_name",
                "file_type",
                "file_name",
                "file_path",
                "file_size",
                "mime_type",
                "uploaded_by",
            ],
            (
                (
                    new_id(),
                    *tenant,
                    observation_id,
                    mobile,
                    first,
                    "xray",
                    f"xray-{n}.png",
                    f"dental/{code}/{observation_id}.png",
                    68,
                    "image/png",
                    admin_id,
                )
                for n, (observation_id, _a, mobile, first) in enumerate(observation_ids[:20])
            ),
        )
        if progress:
            progress(f"{code}: {dental:,} dental observations")
        return clinic

    for number, code in enumerate(clinics):
        result.append(fill_clinic(number, code))
    return result


def _copy_medicines(conn, rows, with_clinics: bool) -> None:
    columns = ["id", "name", "generic_name", "composition", "dosage_forms", "strength"]
    if with_clinics:
        _copy(conn, "medicines", ["tenant_id", *columns], ((r[1], r[0], *r[2:]) for r in rows))
    else:
        _copy(conn, "medicines", columns, ((r[0], *r[2:]) for r in rows))


def _unique_items(rows, with_clinics: bool):
    """One medicine once per prescription, as the earlier application wrote them."""
    seen = set()
    index = 2 if with_clinics else 1
    for row in rows:
        key = (row[index], row[index + 1])
        if key not in seen:
            seen.add(key)
            yield row
