"""The three database roles (invariant 5) and audited platform access."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, connections, transaction

from accounts.testing import create_clinic, create_user
from clinical.models import Patient
from tenants.backend.base import PlatformAccessRequired
from tenants.checks import _runtime_role_problems, protected_models, runtime_role_problems
from tenants.context import tenant_context
from tenants.models import AuditEvent, PlatformAuditEvent, Tenant
from tenants.platform import platform_access
from tenants.testing import build

TABLES = [m._meta.db_table for m in protected_models()]


def test_runtime_role_is_unprivileged(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb "
            "FROM pg_roles WHERE rolname = current_user"
        )
        user, superuser, bypass, createrole, createdb = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
            "WHERE rolname = current_user) AND relnamespace = 'public'::regnamespace"
        )
        owned = cursor.fetchone()[0]
        cursor.execute("SELECT pg_has_role(current_user, 'clinic_owner', 'MEMBER')")
        member_of_owner = cursor.fetchone()[0]
    assert user == "clinic_app"
    assert (superuser, bypass, createrole, createdb) == (False, False, False, False)
    assert owned == 0
    assert member_of_owner is False
    assert runtime_role_problems() == []


@pytest.mark.parametrize(
    ("role", "problem"),
    [
        ("postgres", "is a superuser"),
        ("clinic_platform", "has BYPASSRLS"),
        ("clinic_owner", "owns clinical_patient"),
    ],
)
def test_startup_check_refuses_privileged_runtime_roles(db, role, problem):
    with connection.cursor() as cursor:
        problems = _runtime_role_problems(cursor, role, TABLES)
    assert any(problem in p for p in problems), problems


def test_runtime_role_cannot_switch_row_security_off(db):
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute('ALTER TABLE "clinical_patient" DISABLE ROW LEVEL SECURITY')
    assert "must be owner" in str(excinfo.value)


def test_platform_alias_refuses_work_outside_platform_access(live_db):
    create_clinic()
    with pytest.raises(PlatformAccessRequired):
        list(Tenant._base_manager.using("platform").all())
    with pytest.raises(PlatformAccessRequired), connections["platform"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM clinical_patient")


def test_platform_access_sees_every_clinic_and_is_audited(live_db):
    a, b = create_clinic(), create_clinic()
    with tenant_context(a):
        pa = build(Patient)
    with tenant_context(b):
        pb = build(Patient)
    operator = create_user("ops@platform.example", is_staff=True, is_superuser=True)

    with platform_access(reason="support ticket 42", actor=operator):
        assert {pa.pk, pb.pk} <= set(Patient.objects.values_list("pk", flat=True))
        assert {a.pk, b.pk} <= set(Tenant.objects.values_list("pk", flat=True))
        with connections["platform"].cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == "clinic_platform"
        # An access that names no clinic is one of the platform's own events.
        events = list(PlatformAuditEvent.objects.filter(action="platform.access"))
    assert [(e.reason, e.actor_id, e.actor_email) for e in events] == [
        ("support ticket 42", operator.pk, "ops@platform.example")
    ]


def test_platform_audit_entry_survives_a_failed_block(live_db):
    with pytest.raises(RuntimeError), platform_access(reason="purge that fails"):
        raise RuntimeError("boom")
    with platform_access(reason="read the log"):
        reasons = set(PlatformAuditEvent.objects.values_list("reason", flat=True))
    assert "purge that fails" in reasons


def test_platform_access_needs_a_reason(db):
    with pytest.raises(ValueError), platform_access(reason="  "):
        pass


def test_audit_log_is_append_only_for_the_runtime_role(clinic_a):
    with tenant_context(clinic_a):
        event = AuditEvent.objects.create(tenant_id=clinic_a.pk, action="patient.read")
        with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE tenants_auditevent SET action = 'x' WHERE id = %s", [event.pk]
                )
    assert "permission denied" in str(excinfo.value)


def test_audit_log_rows_of_another_clinic_are_invisible(clinic_a, clinic_b):
    with tenant_context(clinic_b):
        AuditEvent.objects.create(tenant_id=clinic_b.pk, action="patient.read")
    with tenant_context(clinic_a):
        AuditEvent.objects.create(tenant_id=clinic_a.pk, action="patient.read")
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT tenant_id FROM tenants_auditevent")
            tenants = {row[0] for row in cursor.fetchall()}
    assert tenants == {clinic_a.pk}
