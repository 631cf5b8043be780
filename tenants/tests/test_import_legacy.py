"""import_legacy, end to end on real PostgreSQL: a legacy single-clinic database is created
next to the test database, filled with the original tables, and adopted into a clinic."""

from __future__ import annotations

import io
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Membership, User
from clinical.models import Doctor, DoctorOffice, Office, Patient
from tenants.context import tenant_context
from tenants.dbroles import conninfo_from_url
from tenants.models import AuditEvent, Tenant
from tenants.platform import platform_access
from tenants.testing import build, create_clinic

LEGACY_SCHEMA = """
CREATE SCHEMA old;
CREATE TABLE old.accounts_user (
    id serial PRIMARY KEY, email varchar(254), first_name varchar(100), last_name varchar(100),
    phone varchar(20), password varchar(128), is_active boolean DEFAULT true,
    is_superuser boolean DEFAULT false, date_joined timestamp DEFAULT now(), role varchar(20));
CREATE TABLE old.clinical_office (
    id serial PRIMARY KEY, name varchar(200), address text, phone varchar(20),
    is_primary boolean DEFAULT false, is_active boolean DEFAULT true, created_at timestamp);
CREATE TABLE old.clinical_doctor (
    id serial PRIMARY KEY, user_id int REFERENCES old.accounts_user, license_number varchar(50),
    specialization varchar(100), qualification varchar(200), experience_years smallint,
    is_active boolean DEFAULT true, created_at timestamp DEFAULT now());
CREATE TABLE old.clinical_doctoroffice (id serial PRIMARY KEY, doctor_id int, office_id int);
CREATE TABLE old.clinical_patient (
    id serial PRIMARY KEY, first_name varchar(100), last_name varchar(100), mobile varchar(20),
    created_at timestamp DEFAULT now(), deleted_at timestamp, tenant_id uuid,
    relationship_to_primary varchar(20) DEFAULT 'self');
"""
PASSWORD = "Old-System-Password-1"


class Legacy:
    def __init__(self, url: str):
        self.url = url

    def sql(self, statement: str, params=None):
        with psycopg.connect(conninfo_from_url(self.url), autocommit=True) as conn:
            conn.execute(statement, params)

    def fill(self, *, doctors: int = 2, bad_mobile: bool = False):
        self.sql(LEGACY_SCHEMA)
        hashed = make_password(PASSWORD)
        self.sql(
            "INSERT INTO old.accounts_user (email, first_name, last_name, password, role, "
            "is_superuser) VALUES "
            "('Meera@Legacy.example', 'Meera', 'Nair', %s, 'admin', true), "
            "('frontdesk@legacy.example', 'Front', 'Desk', 'md5$old$hash', NULL, false), "
            "('charlie@bharat.example', 'Charlie', 'B', '', 'nurse', false)",
            [hashed],
        )
        for n in range(doctors):
            self.sql(
                "INSERT INTO old.accounts_user (email, first_name, password) VALUES (%s, %s, '')",
                [f"doctor{n}@legacy.example", f"Doctor{n}"],
            )
            self.sql(
                "INSERT INTO old.clinical_doctor (user_id, license_number, specialization) "
                "SELECT id, %s, 'General Medicine' FROM old.accounts_user WHERE email = %s",
                [f"KA-{n:04d}", f"doctor{n}@legacy.example"],
            )
        self.sql(
            "INSERT INTO old.clinical_office (name, address, is_primary, created_at) VALUES "
            "('Main', '1 MG Road', true, '2019-04-01 09:00'), ('Annexe', '', false, now())"
        )
        self.sql(
            "INSERT INTO old.clinical_doctoroffice (doctor_id, office_id) VALUES (1, 1), (1, 2)"
        )
        self.sql(
            "INSERT INTO old.clinical_patient (first_name, last_name, mobile, deleted_at, "
            "tenant_id, relationship_to_primary) VALUES "
            "('Arjun', 'Menon', '+91 98450 12345', NULL, NULL, 'self'), "
            "('Kavya', 'Menon', '098450 12345', NULL, NULL, 'spouse'), "
            "('Gone', 'Away', '9900112233', '2021-01-01', NULL, 'self'), "
            "('Already', 'Moved', '9886543210', NULL, gen_random_uuid(), 'self')"
        )
        if bad_mobile:
            self.sql(
                "INSERT INTO old.clinical_patient (first_name, mobile) VALUES ('Broken', '12345')"
            )


@pytest.fixture
def legacy(live_db):
    name = f"{settings.DATABASES['default']['NAME']}_legacy"
    admin = urlsplit(settings.DATABASE_ADMIN_URL)
    url = urlunsplit(admin._replace(path=f"/{name}"))
    with psycopg.connect(conninfo_from_url(settings.DATABASE_ADMIN_URL), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Legacy(url)
    finally:
        with psycopg.connect(conninfo_from_url(settings.DATABASE_ADMIN_URL), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(legacy, **options) -> str:
    out = io.StringIO()
    options.setdefault("owner_email", "meera@legacy.example")
    call_command(
        "import_legacy",
        source=legacy.url,
        schema="old",
        stdout=out,
        stderr=io.StringIO(),
        **options,
    )
    return out.getvalue()


def legacy_clinic() -> Tenant | None:
    with platform_access(reason="test: find the legacy clinic"):
        return Tenant.objects.filter(code="legacy-clinic").first()


def test_import_adopts_the_single_clinic_data_into_legacy_clinic(legacy):
    other = create_clinic("Bharat Family Clinic", owner_email="charlie@bharat.example")
    with tenant_context(other):
        theirs = build(Patient)
    legacy.fill()

    out = run(legacy)

    assert "Imported into a new clinic Legacy Clinic (legacy-clinic)" in out
    tenant = legacy_clinic()
    assert tenant.plan == "basic"
    with tenant_context(tenant):
        patients = {p.first_name: p for p in Patient.objects.all()}
        roles = {
            m.user.email: (m.role, m.is_active) for m in Membership.objects.select_related("user")
        }
        doctors = list(Doctor.objects.select_related("user").order_by("license_number"))
        offices = {o.name: o for o in Office.objects.all()}
        links = {(link.doctor_id, link.office_id) for link in DoctorOffice.objects.all()}
        [event] = AuditEvent.objects.filter(action="tenant.legacy_imported")
    # Rows that already had a clinic stay where they are; the others are all adopted.
    assert set(patients) == {"Arjun", "Kavya", "Gone"}
    assert patients["Arjun"].mobile == patients["Kavya"].mobile == "9845012345"
    assert patients["Gone"].deleted_at is not None
    assert roles == {
        "meera@legacy.example": ("owner", True),
        "frontdesk@legacy.example": ("receptionist", True),
        "charlie@bharat.example": ("nurse", True),
        "doctor0@legacy.example": ("doctor", True),
        "doctor1@legacy.example": ("doctor", True),
    }
    assert [d.user.email for d in doctors] == ["doctor0@legacy.example", "doctor1@legacy.example"]
    assert links == {(doctors[0].pk, offices["Main"].pk), (doctors[0].pk, offices["Annexe"].pk)}
    assert offices["Main"].created_at.year == 2019
    meera = User.objects.get(email="meera@legacy.example")
    assert meera.check_password(PASSWORD), "people keep their password"
    assert not meera.is_superuser and not meera.is_staff, "privileges are never imported"
    assert not User.objects.get(email="frontdesk@legacy.example").has_usable_password()
    # An existing account is reused, not duplicated: one login, two clinics.
    assert User.objects.filter(email="charlie@bharat.example").count() == 1
    with tenant_context(other):
        assert list(Patient.objects.values_list("pk", flat=True)) == [theirs.pk]
    assert event.details["counts"]["clinical.patient"] == 3
    assert event.details["skipped_with_clinic"]["clinical.patient"] == 1


def test_running_it_again_adds_only_new_rows(legacy):
    legacy.fill()
    run(legacy)
    legacy.sql(
        "INSERT INTO old.clinical_patient (first_name, mobile) VALUES ('Late', '9123456789')"
    )
    out = run(legacy)
    assert "into the existing clinic Legacy Clinic" in out
    assert "clinical.patient: 1 new" in out and "clinical.office: 0 new" in out
    with tenant_context(legacy_clinic()):
        assert Patient.objects.count() == 4
        assert Membership.objects.count() == 5


def test_dry_run_writes_nothing(legacy):
    legacy.fill()
    out = run(legacy, dry_run=True)
    assert "Would import" in out and "clinical.patient: 3 new" in out
    assert legacy_clinic() is None
    assert not User.objects.filter(email="meera@legacy.example").exists()


def test_invalid_legacy_rows_are_listed_and_nothing_is_written(legacy):
    legacy.fill(bad_mobile=True)
    with pytest.raises(CommandError) as excinfo:
        run(legacy)
    assert "clinical_patient id 5: mobile: Enter a valid Indian mobile number" in str(excinfo.value)
    assert legacy_clinic() is None
    assert not User.objects.filter(email="meera@legacy.example").exists()


def test_a_plan_below_the_legacy_usage_is_refused(legacy):
    legacy.fill(doctors=6)
    with pytest.raises(CommandError, match="allows 5 doctors; the legacy data has 6"):
        run(legacy, plan="trial")
    assert legacy_clinic() is None


def test_an_unknown_owner_is_refused(legacy):
    legacy.fill()
    with pytest.raises(CommandError, match="neither a legacy user nor an existing account"):
        run(legacy, owner_email="nobody@example.com")
    assert legacy_clinic() is None


def test_an_unknown_target_clinic_is_refused(legacy):
    legacy.fill()
    with pytest.raises(CommandError, match="No clinic has the code 'nope'"):
        run(legacy, code="nope")


def test_an_unreachable_or_empty_source_gives_a_readable_error(legacy):
    with pytest.raises(CommandError, match="no tables in schema 'old'"):
        run(legacy)
    broken = Legacy(legacy.url.replace(legacy.url.rsplit("/", 1)[-1].split("?")[0], "nope_db"))
    with pytest.raises(CommandError, match="Cannot connect to the legacy database"):
        run(broken)
