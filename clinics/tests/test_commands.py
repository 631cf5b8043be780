"""The operations commands: thin over the services, with their refusals.

Commands find clinics by code through audited platform access (a second connection), so
these tests commit their data (`live_db`).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.selectors import person_by_email
from accounts.testing import add_member, create_clinic, create_user
from clinical.models import (
    Appointment,
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    Doctor,
    Office,
    Patient,
    Prescription,
    PrescriptionItem,
    SharedDentalTemplate,
)
from tenants import plans
from tenants.context import tenant_context
from tenants.models import AuditEvent, PlanChange, Tenant
from tenants.platform import platform_access
from tenants.testing import audit_events, build


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def reload(tenant) -> Tenant:
    with tenant_context(tenant):
        return Tenant.objects.get(pk=tenant.pk)


def events(**filters) -> list:
    # The clinics' events and the platform's own (a command may name no clinic).
    return audit_events(**filters)


@pytest.fixture
def clinic(live_db):
    return create_clinic("Asha Dental Care", owner_email="alice@asha.example")


@pytest.fixture
def other(live_db):
    return create_clinic("Bharat Family Clinic", owner_email="charlie@bharat.example")


@pytest.mark.parametrize(
    "name",
    [
        "create_tenant",
        "tenants",
        "set_plan",
        "suspend_tenant",
        "reactivate_tenant",
        "export_tenant",
        "purge_tenant",
        "import_legacy",
        "expire_trials",
    ],
)
def test_every_command_explains_itself(name):
    from django.core.management import load_command_class

    command = load_command_class("clinics", name)
    assert len(command.help) > 80
    assert command.create_parser("manage.py", name).format_help()


# --- create_tenant --------------------------------------------------------------------------


def test_create_tenant_makes_the_clinic_and_invites_its_owner(
    live_db, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out = run(
            "create_tenant",
            name="Green Valley Clinic",
            owner_email="Neha@GreenValley.example",
            owner_first_name="Neha",
            plan="basic",
        )
    assert "Created clinic green-valley-clinic-" in out and "invited" in out
    with platform_access(reason="test"):
        tenant = Tenant.objects.get(code__startswith="green-valley-clinic-")
        assert not Membership.objects.filter(tenant=tenant).exists()
        invitation = Invitation.objects.get(tenant=tenant)
    assert tenant.plan == plans.BASIC and tenant.trial_ends_at is None
    assert (invitation.role, invitation.email) == ("owner", "neha@greenvalley.example")
    assert invitation.first_name == "Neha"
    assert [m.to for m in mailoutbox] == [["neha@greenvalley.example"]]
    [created] = events(action="tenant.created")
    assert created.tenant_id == tenant.pk and created.details["command"] == "create_tenant"


def test_create_tenant_invites_an_existing_person_who_becomes_owner_by_accepting(live_db):
    """Issue 12, item 1: a clinic made for someone still needs their consent."""
    from clinics.services import invitation_accept_signed_in

    person = create_user("ravi@example.com")
    out = run("create_tenant", name="Sunrise", owner_email="ravi@example.com")
    assert "ravi@example.com invited" in out
    with platform_access(reason="test"):
        assert not Membership.objects.filter(user=person).exists()
        invitation = Invitation.objects.get(email="ravi@example.com")
    invitation_accept_signed_in(user=person, invitation_id=invitation.pk)
    with platform_access(reason="test"):
        membership = Membership.objects.get(user=person)
    assert (membership.role, membership.is_active) == ("owner", True)


def test_create_tenant_refuses_bad_input_and_leaves_nothing(live_db):
    with pytest.raises(CommandError, match="email"):
        run("create_tenant", name="Broken Clinic", owner_email="not-an-email")
    with pytest.raises(CommandError, match="name"):
        run("create_tenant", name="   ", owner_email="x@example.com")
    with platform_access(reason="test"):
        assert not Tenant.objects.exists()
        assert not User.objects.exists()


# --- tenants --------------------------------------------------------------------------------


def test_tenants_lists_clinics_with_usage(clinic, other):
    with tenant_context(clinic):
        build(Doctor)
        build(Patient), build(Patient)
    out = run("tenants")
    line = next(line for line in out.splitlines() if line.startswith("asha-dental-care"))
    assert "trial" in line and "1/5" in line and "2/1,000" in line
    assert "bharat-family-clinic" in out and "2 clinic(s)." in out


def test_tenants_json_is_machine_readable_and_filterable(clinic, other):
    call_command("set_plan", other.code, "premium", stdout=io.StringIO())
    rows = json.loads(run("tenants", json=True, plan="premium"))
    assert [r["code"] for r in rows] == [other.code]
    assert rows[0]["patients"] == {"current": 0, "max": None}
    assert rows[0]["doctors"] == {"current": 0, "max": 100}
    [listed] = events(action="platform.command", reason="manage.py tenants: list clinics")[-1:]
    assert listed.details["command"] == "tenants"


# --- set_plan, suspend_tenant, reactivate_tenant ------------------------------------------------


def test_set_plan_changes_the_plan_through_the_service(clinic):
    out = run("set_plan", clinic.code, "basic")
    assert "plan trial → basic" in out
    assert reload(clinic).plan == plans.BASIC
    with tenant_context(clinic):
        assert PlanChange.objects.get().to_plan == "basic"


def test_set_plan_below_usage_is_refused_with_the_numbers(live_db):
    tenant = create_clinic(plan="basic", trial_ends_at=timezone.now() + timedelta(days=9))
    with tenant_context(tenant):
        for _ in range(6):
            build(Doctor)
    with pytest.raises(CommandError, match="allows 5 doctors; this clinic has 6"):
        run("set_plan", tenant.code, "trial")
    assert reload(tenant).plan == plans.BASIC


def test_commands_refuse_an_unknown_clinic(live_db):
    for args in (
        ("set_plan", "no-such-clinic", "basic"),
        ("suspend_tenant", "no-such-clinic", "--reason", "x"),
        ("reactivate_tenant", "no-such-clinic"),
        ("export_tenant", "no-such-clinic"),
        ("purge_tenant", "no-such-clinic", "--reason", "x", "--confirm", "no-such-clinic"),
    ):
        with pytest.raises(CommandError, match="No clinic has the code 'no-such-clinic'"):
            run(*args)


def test_suspend_then_reactivate(clinic):
    assert "suspended" in run("suspend_tenant", clinic.code, reason="invoice unpaid")
    assert reload(clinic).status == Tenant.Status.SUSPENDED
    with pytest.raises(CommandError, match="already suspended"):
        run("suspend_tenant", clinic.code, reason="again")
    run("reactivate_tenant", clinic.code, reason="paid")
    assert reload(clinic).status == Tenant.Status.ACTIVE
    with pytest.raises(CommandError, match="Only a suspended clinic"):
        run("reactivate_tenant", clinic.code)
    with tenant_context(clinic):
        actions = list(AuditEvent.objects.values_list("action", "reason").order_by("created_at"))
    assert ("tenant.suspended", "invoice unpaid") in actions
    assert ("tenant.reactivated", "paid") in actions


def test_suspend_needs_a_reason(clinic):
    with pytest.raises(CommandError, match="--reason"):
        run("suspend_tenant", clinic.code)


# --- export_tenant --------------------------------------------------------------------------


@pytest.fixture
def office_letterheads(monkeypatch):
    """Pretend Office.name is a file field too: export and purge must find a clinic-owned
    model's files generically (the dental attachments are the real case, tested below)."""
    from django.db import models

    from tenants import dataset

    fake = models.FileField(name="name")
    fake.set_attributes_from_name("name")
    original = dataset.file_fields
    monkeypatch.setattr(
        dataset, "file_fields", lambda model: [fake] if model is Office else original(model)
    )


def test_export_writes_the_clinics_data_and_files_and_nothing_of_another_clinic(
    clinic, other, tmp_path, settings, office_letterheads
):
    settings.MEDIA_ROOT = tmp_path / "media"
    stored = default_storage.save(f"{clinic.pk}/letterhead.txt", ContentFile(b"Asha"))
    with tenant_context(clinic):
        patient = build(Patient)
        build(Office, name=stored)
        build(Office, name=f"{clinic.pk}/lost.txt")  # referenced, not in storage
        doctor = build(Doctor)
    with tenant_context(other):
        foreign = build(Patient)
        build(Office, name=default_storage.save("bharat.txt", ContentFile(b"Bharat")))
    archive = tmp_path / "asha.zip"

    out = run("export_tenant", clinic.code, output=str(archive))

    assert "Wrote" in out
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        patients = json.loads(zf.read("data/clinical.patient.json"))
        users = json.loads(zf.read("data/accounts.user.json"))
        everything = b"".join(zf.read(n) for n in names)
        assert zf.read(f"files/{stored}") == b"Asha"
    assert manifest["clinic"]["code"] == clinic.code
    assert manifest["counts"]["clinical.patient"] == 1 and manifest["files"] == 1
    assert manifest["missing_files"] == [f"{clinic.pk}/lost.txt"]
    assert [p["pk"] for p in patients] == [str(patient.pk)]
    assert {
        "data/clinical.doctor.json",
        "data/accounts.membership.json",
        "data/clinical.prescriptionitem.json",
        "data/clinical.appointment.json",
    } <= names
    assert {u["fields"]["email"] for u in users} == {"alice@asha.example", doctor.user.email}
    assert "password" not in users[0]["fields"]
    for secret in (str(foreign.pk), str(other.pk), "charlie@bharat.example", "secret_hash"):
        assert secret.encode() not in everything
    assert b"Bharat" not in everything
    with tenant_context(clinic):
        [event] = AuditEvent.objects.filter(action="tenant.exported")
    assert event.details["patients"] == 1 and event.details["file"] == "asha.zip"


def test_export_refuses_to_overwrite_without_force(clinic, tmp_path):
    archive = tmp_path / "asha.zip"
    archive.write_bytes(b"keep me")
    with pytest.raises(CommandError, match="already exists"):
        run("export_tenant", clinic.code, output=str(archive))
    assert archive.read_bytes() == b"keep me"
    run("export_tenant", clinic.code, output=str(archive), force=True)
    assert zipfile.is_zipfile(archive)


# --- purge_tenant ---------------------------------------------------------------------------


def test_purge_refuses_without_the_typed_code(clinic):
    run("suspend_tenant", clinic.code, reason="contract ended")
    with pytest.raises(CommandError, match="without confirmation"):
        run("purge_tenant", clinic.code, reason="contract ended")
    with pytest.raises(CommandError, match="does not match"):
        run("purge_tenant", clinic.code, reason="contract ended", confirm="asha")
    assert reload(clinic).pk == clinic.pk


def test_purge_refuses_an_active_clinic(clinic):
    with pytest.raises(CommandError, match="suspend it first"):
        run("purge_tenant", clinic.code, reason="oops", confirm=clinic.code)
    assert reload(clinic).status == Tenant.Status.ACTIVE


def test_purge_deletes_the_clinic_and_everything_it_owns_and_leaves_an_audit_entry(
    clinic, other, tmp_path, settings, office_letterheads
):
    settings.MEDIA_ROOT = tmp_path
    mine = default_storage.save(f"{clinic.pk}/letterhead.txt", ContentFile(b"Asha"))
    theirs = default_storage.save(f"{other.pk}/letterhead.txt", ContentFile(b"Bharat"))
    with tenant_context(clinic):
        build(Office, name=mine)
    with tenant_context(other):
        build(Office, name=theirs)
    shared = create_user("shared@example.com")
    add_member(clinic, user=shared, role="doctor")
    add_member(other, user=shared, role="nurse")
    with tenant_context(clinic):
        build(Patient), build(Office), build(Doctor), build(Invitation)
        # Records that protect what they point at (an appointment, a prescription with an
        # item): the purge finds every clinic-owned table and deletes in a safe order.
        build(Appointment)
        build(PrescriptionItem)
    with tenant_context(other):
        survivor = build(Patient)
    with tenant_context(clinic):
        patients = Patient.objects.count()
    run("suspend_tenant", clinic.code, reason="contract ended")

    out = run("purge_tenant", clinic.code, reason="contract ended", confirm=clinic.code)

    assert f"Purged {clinic.code}" in out
    with platform_access(reason="test: check the purge"):
        assert not Tenant.objects.filter(pk=clinic.pk).exists()
        for model in (
            Patient,
            Office,
            Doctor,
            Membership,
            Invitation,
            PlanChange,
            Appointment,
            Prescription,
            PrescriptionItem,
        ):
            assert not model.objects.filter(tenant_id=clinic.pk).exists(), model
        assert Patient.objects.filter(pk=survivor.pk).exists()
        emails = set(User.objects.values_list("email", flat=True))
    assert "alice@asha.example" not in emails, "an account of this clinic only goes"
    assert {"shared@example.com", "charlie@bharat.example"} <= emails
    [started] = events(action="platform.purge")
    [done] = events(action="tenant.purged")
    assert started.tenant_id == done.tenant_id == clinic.pk
    assert started.details["command"] == "purge_tenant"
    assert done.details["counts"]["clinical.patient"] == patients
    assert events(tenant_id=clinic.pk, action="tenant.suspended"), "history stays"
    assert not default_storage.exists(mine) and default_storage.exists(theirs)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _dental_records(tenant, content: bytes) -> tuple[DentalAttachment, str]:
    stored = default_storage.save(f"{tenant.pk}/dental/xray.png", ContentFile(content))
    with tenant_context(tenant):
        observation = build(DentalObservation)
        procedure = build(DentalProcedure, patient=observation.patient, observation=observation)
        build(DentalTemplate, name=f"Own template {tenant.code}")
        attachment = build(DentalAttachment, procedure=procedure, file=stored)
    return attachment, stored


def test_export_and_purge_cover_the_dental_records_and_their_files(
    clinic, other, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    _mine, stored = _dental_records(clinic, PNG + b"Asha")
    theirs, their_file = _dental_records(other, PNG + b"Bharat")
    with platform_access(reason="test: a shared template"):
        shared = SharedDentalTemplate.objects.create(name="Shared", notes="Shared text")

    archive = tmp_path / "asha.zip"
    run("export_tenant", clinic.code, output=str(archive))
    with zipfile.ZipFile(archive) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        everything = b"".join(zf.read(n) for n in names)
        assert zf.read(f"files/{stored}") == PNG + b"Asha"
        templates = json.loads(zf.read("data/clinical.dentaltemplate.json"))
    for label in ("dentalobservation", "dentalprocedure", "dentalattachment", "dentaltemplate"):
        assert manifest["counts"][f"clinical.{label}"] == 1, label
    assert manifest["files"] == 1 and manifest["missing_files"] == []
    assert [t["fields"]["name"] for t in templates] == [f"Own template {clinic.code}"]
    assert str(theirs.pk).encode() not in everything and b"Bharat" not in everything
    assert str(shared.pk).encode() not in everything, "shared templates are nobody's export"

    run("suspend_tenant", clinic.code, reason="contract ended")
    run("purge_tenant", clinic.code, reason="contract ended", confirm=clinic.code)
    with platform_access(reason="test: check the purge"):
        for model in (DentalObservation, DentalProcedure, DentalAttachment, DentalTemplate):
            assert not model.objects.filter(tenant_id=clinic.pk).exists(), model
            assert model.objects.filter(tenant_id=other.pk).exists(), model
        assert SharedDentalTemplate.objects.filter(pk=shared.pk).exists()
    assert not default_storage.exists(stored) and default_storage.exists(their_file)


def test_purge_can_keep_the_accounts(clinic):
    run("suspend_tenant", clinic.code, reason="contract ended")
    run("purge_tenant", clinic.code, reason="x", confirm=clinic.code, keep_users=True)
    assert person_by_email("alice@asha.example") is not None


# --- expire_trials --------------------------------------------------------------------------


def test_expire_trials_reports_what_it_expired(clinic):
    with tenant_context(clinic):
        Tenant.objects.filter(pk=clinic.pk).update(
            trial_ends_at=timezone.now() - timedelta(minutes=1)
        )
    assert "expired: asha-dental-care" in run("expire_trials")
    assert reload(clinic).status == Tenant.Status.EXPIRED
