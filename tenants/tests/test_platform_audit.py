"""The platform's own audit events live apart from the clinics' (issue 17, part 2): a clinic's
event goes to `tenants_auditevent` with its clinic (NOT NULL, so the table can be distributed
by clinic), an event of no clinic to `tenants_platformauditevent`, which any code may append
to, no clinic reads, and only the platform role reads; neither can be changed or deleted."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, connections, transaction

from accounts.testing import bearer, create_clinic
from tenants import keys
from tenants.audit import audit_record
from tenants.context import TenantContextMissing, tenant_context
from tenants.models import AuditEvent, PlatformAuditEvent
from tenants.platform import platform_access


@pytest.fixture
def clinics(live_db):
    """Clinics A and B, committed: the platform role reads through its own connection, which
    sees only committed rows."""
    a = create_clinic("Asha Dental Care", owner_email="alice@asha.example")
    b = create_clinic("Bharat Family Clinic", owner_email="charlie@bharat.example")
    return a, b


def platform_events(**filters) -> list[PlatformAuditEvent]:
    with platform_access(reason="test: read the platform's audit events"):
        return list(PlatformAuditEvent.objects.filter(**filters))


def test_an_event_of_no_clinic_lands_in_the_platform_table(live_db):
    event = audit_record(action="test.platform_event", details={"n": 1})
    assert isinstance(event, PlatformAuditEvent)
    [stored] = platform_events(action="test.platform_event")
    assert stored.pk == event.pk and stored.details == {"n": 1}


def test_a_clinic_event_lands_in_the_clinic_table_with_its_clinic(clinics):
    clinic_a = clinics[0]
    with tenant_context(clinic_a):
        event = audit_record(action="test.clinic_event")
        assert isinstance(event, AuditEvent)
        assert AuditEvent.objects.get(pk=event.pk).tenant_id == clinic_a.pk
    assert platform_events(action="test.clinic_event") == []


def test_the_clinic_table_refuses_an_event_of_no_clinic(clinics):
    clinic_a = clinics[0]
    for context in (tenant_context(clinic_a), platform_access(reason="test: NULL clinic")):
        with context, pytest.raises(DatabaseError), transaction.atomic(using=AuditEvent.objects.db):
            AuditEvent(tenant_id=None, action="test.nowhere").save(force_insert=True)


def test_a_failed_login_without_a_clinic_lands_in_the_platform_table(api, clinics):
    clinic_a = clinics[0]
    response = api.post(
        "/api/v1/auth/token", {"email": "nobody@nowhere.example", "password": "wrong-Password-1"}
    )
    assert response.status_code in (400, 401)
    [event] = platform_events(action="auth.login_failed")
    assert event.details["email"] == "nobody@nowhere.example"
    with tenant_context(clinic_a):
        assert not AuditEvent.objects.filter(action="auth.login_failed").exists()


def test_no_clinic_reads_platform_events(api, clinics):
    clinic_a, clinic_b = clinics
    alice, charlie = clinic_a.owner, clinic_b.owner
    audit_record(action="test.platform_event")
    with tenant_context(clinic_a):
        own = audit_record(action="test.clinic_event")
    with tenant_context(clinic_b):
        foreign = audit_record(action="test.clinic_event")
    for clinic in (clinic_a, clinic_b):
        with tenant_context(clinic):
            # The manager refuses outside platform_access, and the database shows nothing.
            with pytest.raises(TenantContextMissing):
                list(PlatformAuditEvent.objects.all())
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM tenants_platformauditevent")
                assert cursor.fetchone()[0] == 0
    listed = [
        row["id"] for row in api.get("/api/v1/audit/", **bearer(alice, clinic_a)).json()["results"]
    ]
    assert listed == [str(own.pk)]
    listed_b = [
        row["id"]
        for row in api.get("/api/v1/audit/", **bearer(charlie, clinic_b)).json()["results"]
    ]
    assert listed_b == [str(foreign.pk)]


def test_the_platform_role_reads_every_platform_event(live_db):
    audit_record(action="test.platform_event")
    assert len(platform_events(action="test.platform_event")) == 1


@pytest.mark.parametrize("table", ["tenants_auditevent", "tenants_platformauditevent"])
@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET action = 'x'", "DELETE FROM {table}", "TRUNCATE {table}"]
)
def test_neither_audit_table_can_be_changed_or_deleted(clinics, table, statement):
    clinic_a = clinics[0]
    with tenant_context(clinic_a):
        audit_record(action="test.clinic_event")
    audit_record(action="test.platform_event")
    with tenant_context(clinic_a), pytest.raises(DatabaseError) as runtime:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.format(table=table))
    assert "permission denied" in str(runtime.value)
    with (
        platform_access(reason="test: try to rewrite history"),
        pytest.raises(DatabaseError) as platform,
    ):
        with transaction.atomic(using="platform"), connections["platform"].cursor() as cursor:
            cursor.execute(statement.format(table=table))
    assert "permission denied" in str(platform.value)


class _SchemaEditor:
    """What the migration's RunPython function uses of a schema editor."""

    def __init__(self, connection):
        self.connection = connection


def test_the_migration_moves_the_events_of_no_clinic_keeping_ids_and_times(clinics):
    """tenants.0007's data step, run as `migrate` runs it (the owner role, FORCE row-level
    security) on an event of no clinic written the old way; all inside a transaction that is
    rolled back, so the test database keeps its schema."""
    import datetime
    import importlib
    import uuid

    from django.apps import apps

    migration = importlib.import_module("tenants.migrations.0007_platform_audit")
    owner = connections["owner"]
    lost, kept = uuid.uuid4(), uuid.uuid4()
    when = datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    columns = "(id, created_at, tenant_id, action, reason, details, actor_email, object_type, "
    columns += "object_id, user_agent)"
    with transaction.atomic(using="owner"), owner.cursor() as cursor:
        # The table as it was before 0007: primary key (id) (tenants.0010 made it
        # (tenant_id, id)) and a clinic that may be NULL.
        for statement in keys.clinic_primary_key_reverse_sql("tenants_auditevent"):
            cursor.execute(statement)
        cursor.execute("ALTER TABLE tenants_auditevent ALTER COLUMN tenant_id DROP NOT NULL")
        cursor.execute("ALTER TABLE tenants_auditevent NO FORCE ROW LEVEL SECURITY")
        cursor.execute(
            f"INSERT INTO tenants_auditevent {columns} VALUES "
            "(%s, %s, NULL, 'auth.login_failed', '', '{}', 'x@y.example', '', '', ''), "
            "(%s, %s, %s, 'patient.read', '', '{}', '', '', '', '')",
            [lost, when, kept, when, clinics[0].pk],
        )
        cursor.execute("ALTER TABLE tenants_auditevent FORCE ROW LEVEL SECURITY")

        migration.move_platform_events(apps, _SchemaEditor(owner))

        for table in ("tenants_auditevent", "tenants_platformauditevent"):
            cursor.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        cursor.execute(
            "SELECT id, created_at, actor_email FROM tenants_platformauditevent "
            "WHERE action = 'auth.login_failed'"
        )
        assert cursor.fetchall() == [(lost, when, "x@y.example")]
        cursor.execute("SELECT id FROM tenants_auditevent WHERE id IN (%s, %s)", [lost, kept])
        assert cursor.fetchall() == [(kept,)]
        transaction.set_rollback(True, using="owner")
