"""import_legacy, end to end on real PostgreSQL: a database shaped like the earlier system's
(clinics.legacy.sample, from /work/shared/earlier-system.md) is created next to the test
database, in both of its shapes, and adopted into a clinic as the runtime role."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from accounts.models import Membership
from accounts.selectors import person_by_email, person_by_id
from accounts.testing import create_clinic
from clinical.filters import AppointmentFilter, PrescriptionFilter
from clinical.models import (
    Appointment,
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    Doctor,
    DoctorAvailability,
    DoctorOffice,
    Medicine,
    Office,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionPrint,
    SharedMedicine,
)
from clinical.services import medicine_catalogue_load
from clinical.services.numbering import next_number
from clinics.legacy import sample
from tenants.context import tenant_context
from tenants.dbroles import conninfo_from_url
from tenants.models import Tenant
from tenants.platform import platform_access

OWNER = "admin@legacy-001.example"
PASSWORD = "Legacy-Password-1"
SMALL = {"patients": 30, "appointments": 60, "prescriptions": 50, "dental": 10, "doctors": 3}


class Source:
    def __init__(self, url: str):
        self.url = url

    def sql(self, statement: str, params=None):
        with psycopg.connect(conninfo_from_url(self.url), autocommit=True) as conn:
            conn.execute(statement, params)

    def build(self, *, with_clinics=False, clinics=("LEGACY_001",), **counts):
        with psycopg.connect(conninfo_from_url(self.url)) as conn:
            sample.create_schema(conn, with_clinics=with_clinics)
            return sample.generate(
                conn, with_clinics=with_clinics, clinics=clinics, **{**SMALL, **counts}
            )


@pytest.fixture
def source(live_db):
    # The test database's name carries the worker's suffix, so parallel runs never collide.
    name = f"{settings.DATABASES['default']['NAME']}_earlier"
    admin = urlsplit(settings.DATABASE_ADMIN_URL)
    url = urlunsplit(admin._replace(path=f"/{name}"))
    with psycopg.connect(conninfo_from_url(settings.DATABASE_ADMIN_URL), autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield Source(url)
    finally:
        with psycopg.connect(conninfo_from_url(settings.DATABASE_ADMIN_URL), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def shared_paracetamol(live_db):
    rows = [(2, {"name": "Paracetamol", "dosage_form": "tablet", "strength": "500 mg"})]
    medicine_catalogue_load(rows=rows, reason="test: the platform's shared catalogue")
    with platform_access(reason="test: fetch it"):
        return SharedMedicine.objects.get(name="Paracetamol")


def run(source, **options) -> str:
    out = io.StringIO()
    options.setdefault("owner_email", OWNER)
    call_command("import_legacy", source=source.url, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def summary(out: str, table: str) -> list[int]:
    """New, already imported, skipped, changed: the table's line of the command's summary."""
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == table and len(parts) == 5:
            return [int(p.replace(",", "")) for p in parts[1:]]
    raise AssertionError(f"no summary line for {table}")


def clinic(name="Legacy Clinic") -> Tenant | None:
    # By name: clinic codes carry a random suffix.
    with platform_access(reason="test: find the imported clinic"):
        return Tenant.objects.filter(name=name).first()


def add_awkward_rows(source, built):
    """Rows the earlier application let through and this system does not take as they are."""
    doctor = built.doctors[0]
    source.sql(
        "INSERT INTO patients (mobile_number, first_name, id, last_name, date_of_birth, gender, "
        "relationship_to_primary, created_at) VALUES "
        "('12345', 'Bad', gen_random_uuid(), 'Mobile', '1990-01-01', 'male', 'self', now()), "
        "('9811122233', 'Second', '11111111-1111-4111-8111-111111111111', 'Self', "
        "'1990-01-01', 'prefer_not_to_say', 'self', '2026-01-02'), "
        "('9811122233', 'First', '22222222-2222-4222-8222-222222222222', 'Self', '1980-01-01', "
        "'female', 'self', '2026-01-01'), "
        "('+91 97000 00002', 'Spaced', '55555555-5555-4555-8555-555555555555', 'Number', "
        "'1980-01-01', 'other', 'self', now())"
    )
    source.sql(
        "INSERT INTO appointments (id, appointment_number, patient_mobile_number, "
        "patient_first_name, patient_uuid, doctor_id, office_id, appointment_date, "
        "appointment_time, reason_for_visit) VALUES ('33333333-3333-4333-8333-333333333333', "
        "'APT202601200007', '9811122233', 'First', '22222222-2222-4222-8222-222222222222', %s, "
        "'gone-office', '2026-01-20', '10:00', 'Tooth ache')",
        [doctor],
    )
    source.sql(
        "INSERT INTO dental_observations (id, patient_mobile_number, patient_first_name, "
        "appointment_id, tooth_number, condition_type, severity) VALUES "
        "('44444444-4444-4444-8444-444444444444', '9811122233', 'First', "
        "'33333333-3333-4333-8333-333333333333', '36', 'Cavity', 'Occlusal'), "
        "(gen_random_uuid(), '9811122233', 'First', '33333333-3333-4333-8333-333333333333', "
        "'19', 'caries', 'mild')"
    )
    source.sql(
        "INSERT INTO dental_procedures (id, observation_id, procedure_code, procedure_name, "
        "tooth_numbers, status) VALUES (gen_random_uuid(), "
        "'44444444-4444-4444-8444-444444444444', 'SCALE1', 'Scaling', '36, 37,99', 'completed')"
    )


def test_a_source_from_before_clinics_is_adopted_faithfully(source, shared_paracetamol, api):
    (built,) = source.build()
    add_awkward_rows(source, built)
    out = run(source)
    tenant = clinic()
    assert tenant is not None and tenant.name == "Legacy Clinic"
    with tenant_context(tenant):
        # People: roles carried over, the owner named on the command line.
        roles = {m.user.email: m.role for m in Membership.objects.select_related("user")}
        assert roles[OWNER] == "owner"
        assert roles["doctor0@legacy-001.example"] == "doctor"
        assert roles["nurse@legacy-001.example"] == "nurse"
        assert roles["desk@legacy-001.example"] == "receptionist"
        assert "patient@legacy-001.example" not in roles
        assert "root@earlier.example" not in roles
        assert "super_admin is the earlier platform's staff" in out
        assert "patient logins have no clinic role here" in out
        # Doctors: licence, fee, hours, offices deduplicated by their JSONB id.
        doctors = list(Doctor.objects.select_related("user").order_by("license_number"))
        assert len(doctors) == 3
        assert doctors[0].consultation_fee == Decimal("500.00")
        assert doctors[0].consultation_duration == 20
        hours = DoctorAvailability.objects.filter(doctor=doctors[0])
        assert sorted((h.weekday, f"{h.start_time:%H:%M}") for h in hours) == [
            (0, "09:00"),
            (0, "17:00"),
            (3, "10:00"),
        ]
        assert sorted(Office.objects.values_list("name", flat=True)) == ["Annexe", "Main clinic"]
        assert DoctorOffice.objects.count() == 2 + 1 + 2  # doctors 0 and 2 have both offices
        # Patients keep their UUIDs; families keep `self` first; bad rows are reported.
        ids = {p[0] for p in built.patients}
        assert ids <= set(Patient.objects.values_list("id", flat=True))
        first = Patient.objects.get(pk="22222222-2222-4222-8222-222222222222")
        second = Patient.objects.get(pk="11111111-1111-4111-8111-111111111111")
        assert first.relationship_to_primary == "self" and second.mobile == "9811122233"
        assert second.relationship_to_primary == "other" and second.gender == ""
        assert Patient.objects.get(first_name="Spaced").mobile == "9700000002"
        assert "already has its `self`: stored as other" in out
        assert "mobile '12345' is not a valid Indian mobile" in out
        assert not Patient.objects.filter(first_name="Bad").exists()
        assert first.emergency_contact == "" and "Kin (spouse) 9123456780" in {
            p.emergency_contact for p in Patient.objects.all()
        }
        # Medicines: the shared one is used; the clinic's own are the clinic's.
        assert PrescriptionItem.objects.filter(shared_medicine=shared_paracetamol).exists()
        own = Medicine.objects.filter(tenant=tenant)
        assert own.count() == 5  # Paracetamol 500 mg tablet is the shared catalogue's
        assert not own.filter(name="Paracetamol", strength="500 mg").exists()
        # Appointments and prescriptions: numbers, old numbers, office, items, prices, prints.
        appointment = Appointment.objects.get(legacy_number="APT202601050001")
        assert appointment.appointment_number == "APT-20260105-0001"
        assert appointment.office is not None
        gone = Appointment.objects.get(legacy_number="APT202601200007")
        assert gone.office is None and "office gone-office is unknown" in out
        found = AppointmentFilter({"search": "apt202601050001"}, Appointment.objects.all()).qs
        assert list(found) == [appointment]
        rx = PrescriptionFilter({"search": "RX202601050001"}, Prescription.objects.all()).qs
        assert rx.get().prescription_number == "RX-20260105-0001"
        assert Prescription.objects.count() == 50
        assert PrescriptionItem.objects.count() == 150
        item = PrescriptionItem.objects.first()
        assert (item.unit_price, item.total_amount) == (Decimal("2.50"), Decimal("25.00"))
        assert PrescriptionPrint.objects.count() == 17  # every third was printed
        # Later numbers continue after the imported ones, per clinic.
        with transaction.atomic():
            assert next_number("APT", day=datetime.date(2026, 1, 20)) == "APT-20260120-0008"
            assert next_number("RX", day=datetime.date(2026, 1, 5)) == "RX-20260105-0041"
        # Dental: FDI teeth, earlier codes kept in the notes, missing files said so.
        observation = DentalObservation.objects.get(tooth_number=36, patient=first)
        assert observation.condition_type == "caries" and observation.severity == ""
        assert "Severity (earlier system): Occlusal" in observation.notes
        assert "tooth '19' is not an FDI tooth number" in out
        procedure = DentalProcedure.objects.get(observation=observation)
        assert procedure.teeth == [36, 37] and procedure.procedure_code == "D9999"
        assert "Procedure code (earlier system): SCALE1" in procedure.notes
        attachments = DentalAttachment.objects.all()
        assert attachments.count() == 10 and all(a.file_missing for a in attachments)
        assert str(attachments[0].file).startswith(f"{tenant.pk}/dental/")
    # bcrypt passwords work, and the first login rehashes them with argon2.
    doctor = person_by_email("doctor0@legacy-001.example")
    assert doctor.password.startswith("bcrypt$$2b$12$")
    answer = api.post(
        "/api/v1/auth/token",
        {"email": "doctor0@legacy-001.example", "password": PASSWORD},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert person_by_id(doctor.pk).password.startswith("argon2")


def test_a_second_run_adds_only_what_is_new(source):
    (built,) = source.build()
    run(source)
    again = run(source)
    assert "Imported into the existing clinic Legacy Clinic" in again
    assert summary(again, "patients") == [0, 30, 0, 0]
    # The people and doctors are recognised too (two users are never members: see users).
    assert summary(again, "users") == [0, 6, 2, 0]
    assert summary(again, "doctors") == [0, 3, 0, 0]
    source.sql(
        "INSERT INTO patients (mobile_number, first_name, id, last_name, date_of_birth, gender) "
        "VALUES ('9700000001', 'Newcomer', gen_random_uuid(), 'X', '2000-01-01', 'other')"
    )
    third = run(source)
    assert summary(third, "patients") == [1, 30, 0, 0]
    with tenant_context(clinic()):
        assert Patient.objects.count() == 31
        assert Appointment.objects.count() == 60


def test_a_dry_run_writes_nothing(source):
    source.build()
    out = run(source, dry_run=True)
    assert "Would import into a new clinic Legacy Clinic" in out
    assert "Dry run: nothing was written." in out
    assert clinic() is None
    assert person_by_email(OWNER) is None


def test_any_failure_leaves_nothing_behind(source, monkeypatch):
    from clinics.legacy import importer

    source.build()

    def broken(ctx):
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "_continue_numbers", broken)
    with pytest.raises(RuntimeError):
        run(source)
    assert clinic() is None
    assert person_by_email(OWNER) is None


def test_with_clinics_source_tenant_adopts_only_that_clinic(source):
    legacy, city = source.build(with_clinics=True, clinics=("LEGACY_001", "CITY_002"))
    with pytest.raises(CommandError) as refused:
        run(source)
    assert "--source-tenant" in str(refused.value)
    assert "CITY_002 (Clinic CITY_002)" in str(refused.value)
    assert "LEGACY_001 (Clinic LEGACY_001)" in str(refused.value)
    with pytest.raises(CommandError, match="no clinic with the code 'NOPE'"):
        run(source, source_tenant="NOPE")
    out = run(source, source_tenant="CITY_002", owner_email="admin@city-002.example")
    assert "(earlier clinic CITY_002)" in out
    tenant = clinic("Clinic CITY_002")
    with tenant_context(tenant):
        assert set(Patient.objects.values_list("id", flat=True)) == {p[0] for p in city.patients}
        assert not Patient.objects.filter(pk__in=[p[0] for p in legacy.patients]).exists()
        emails = set(Membership.objects.values_list("user__email", flat=True))
        assert emails and all(e.endswith("@city-002.example") for e in emails)
        assert Appointment.objects.count() == 60
        # Clinic-owned medicines of the other clinic stay behind; shared ones come along.
        assert Medicine.objects.filter(tenant=tenant).count() == 6
    assert "prescription_templates" not in out or "not in this system yet" in out


def test_a_person_with_an_account_here_is_invited_through_the_invitation_service(
    source, monkeypatch
):
    from accounts import services
    from accounts.models import Invitation

    create_clinic("Other Clinic", owner_email="nurse@legacy-001.example")
    create_clinic("Third Clinic", owner_email="doctor1@legacy-001.example")
    calls = []
    real = services.invitation_create

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "invitation_create", spy)
    source.build()
    out = run(source)
    tenant = clinic()
    assert sorted((c["email"], c["role"]) for c in calls) == [
        ("doctor1@legacy-001.example", "doctor"),
        ("nurse@legacy-001.example", "nurse"),
    ]
    assert all(c["tenant"] == tenant for c in calls)
    assert "already has an account here: invited as nurse" in out
    with tenant_context(tenant):
        # No membership before they accept (consent); the invitations are open.
        members = set(Membership.objects.values_list("user__email", flat=True))
        assert not members & {"nurse@legacy-001.example", "doctor1@legacy-001.example"}
        invited = Invitation.objects.get(email="doctor1@legacy-001.example")
        assert invited.accepted_at is None
        # The doctor's profile and history stay the clinic's, waiting on the invitation.
        doctor = Doctor.objects.get(invitation=invited)
        assert doctor.user_id is None
        assert Appointment.objects.filter(doctor=doctor).exists()
    again = run(source)
    assert len(calls) == 2  # a second run does not invite again: the invitations are open
    assert summary(again, "users") == [0, 6, 2, 0]
    assert summary(again, "doctors") == [0, 3, 0, 0]


def test_refusals_come_before_any_write(source):
    source.sql("CREATE TABLE something_else (id int)")
    with pytest.raises(CommandError, match="not the earlier system's: it has no users"):
        run(source)
    source.build(doctors=6)
    with pytest.raises(CommandError, match="allows 5 doctors; the earlier system has 6"):
        run(source, plan="trial")
    with pytest.raises(CommandError, match="neither a user of the earlier clinic"):
        run(source, owner_email="nobody@example.com")
    with pytest.raises(CommandError, match="cannot own the clinic"):
        run(source, owner_email="patient@legacy-001.example")
    with pytest.raises(CommandError, match="No clinic has the code 'nope'"):
        run(source, code="nope")
    assert clinic() is None


def test_attachment_files_are_copied_from_a_copy_of_the_object_store(source, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    store = tmp_path / "store"
    source.build()
    paths = [r[0] for r in _source_rows(source, "SELECT file_path FROM dental_attachments")]
    for path in paths[:3]:
        (store / path).parent.mkdir(parents=True, exist_ok=True)
        (store / path).write_bytes(b"\x89PNG\r\n\x1a\n earlier x-ray")
    out = run(source, files_from=str(store))
    tenant = clinic()
    with tenant_context(tenant):
        attachments = list(DentalAttachment.objects.all())
        copied = [a for a in attachments if not a.file_missing]
        assert len(copied) == 3 and len(attachments) == 10
        for attachment in copied:
            assert attachment.file.name.startswith(f"{tenant.pk}/dental/")
            with attachment.file.open("rb") as handle:
                assert handle.read().endswith(b"earlier x-ray")
            assert attachment.size == len(b"\x89PNG\r\n\x1a\n earlier x-ray")
    assert out.count("the record says the file is missing") == 7


def _source_rows(source, query):
    with psycopg.connect(conninfo_from_url(source.url)) as conn:
        return conn.execute(query).fetchall()


def test_prescription_templates_become_print_templates_or_are_listed(source):
    from clinical import models as clinical_models

    _legacy, city = source.build(with_clinics=True, clinics=("LEGACY_001", "CITY_002"))
    source.sql(
        "INSERT INTO prescription_templates (id, tenant_id, doctor_id, name, paper_size, "
        "orientation, margin_top, margin_bottom, margin_left, margin_right, is_default, "
        "signature_text) SELECT gen_random_uuid(), id, NULL, 'Clinic letterhead', 'A5', "
        "'portrait', 10, 12, 80, 10, true, 'Dr. Meera Nair, BDS' FROM tenants "
        "WHERE tenant_code = 'CITY_002'"
    )
    source.sql(
        "INSERT INTO prescription_templates (id, tenant_id, doctor_id, name, is_default) "
        "SELECT gen_random_uuid(), tenant_id, id, 'Own pad', false FROM doctors "
        "WHERE id = %s",
        [city.doctors[0]],
    )
    out = run(source, source_tenant="CITY_002", owner_email="admin@city-002.example")
    model = getattr(clinical_models, "PrintTemplate", None)
    if model is None:  # print templates (issue 16) are not in this system yet
        assert out.count("print templates are not in this system yet") == 2
        return
    with tenant_context(clinic("Clinic CITY_002")):
        templates = {t.name: t for t in model.objects.all()}
    assert set(templates) == {"Clinic letterhead", "Own pad"}
    letterhead = templates["Clinic letterhead"]
    assert letterhead.scope == "clinic" and letterhead.paper_size == "a5"
    assert letterhead.margin_left_mm == 50 and "left margin 80 outside 0-50" in out
    assert letterhead.doctor_name == "Dr. Meera Nair, BDS"
    assert templates["Own pad"].scope == "doctor"


def test_adopting_into_an_existing_clinic_keeps_its_own_numbers(source):
    from tenants.testing import build

    existing = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    with tenant_context(existing):
        own = build(Appointment)
        Appointment.objects.filter(pk=own.pk).update(appointment_number="APT-20260105-0001")
    source.build()
    out = run(source, code=existing.code)
    assert "number APT-20260105-0001 is already used in the clinic" in out
    with tenant_context(existing):
        assert Appointment.objects.get(pk=own.pk).legacy_number == ""
        assert Appointment.objects.filter(legacy_number__startswith="APT").count() == 59
        with transaction.atomic():
            assert next_number("APT", day=datetime.date(2026, 1, 5)) == "APT-20260105-0041"
