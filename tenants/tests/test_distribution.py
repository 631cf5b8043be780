"""`check_distribution`: the rules of a PostgreSQL distributed by clinic, checked on a live
schema. A scratch schema (created and rolled back inside the test) shows that each rule's
violation is caught and that a compliant schema passes; the project's own schema is then
inspected and planned."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from tenants.distribution import inspect

# The scratch schema is built through the migration owner's connection, inside the test's
# transaction on that alias, and rolled back with it.
pytestmark = pytest.mark.django_db(databases=["default", "owner"])

SCRATCH = "dist_check"

COMPLIANT = [
    f"CREATE SCHEMA {SCRATCH}",
    f"CREATE TABLE {SCRATCH}.clinic (id uuid PRIMARY KEY, name text)",
    f"""CREATE TABLE {SCRATCH}.patient (
        tenant_id uuid NOT NULL REFERENCES {SCRATCH}.clinic (id), id uuid NOT NULL,
        mobile text, PRIMARY KEY (tenant_id, id), UNIQUE (tenant_id, mobile))""",
    f"""CREATE TABLE {SCRATCH}.visit (
        tenant_id uuid NOT NULL REFERENCES {SCRATCH}.clinic (id), id uuid NOT NULL,
        patient_id uuid NOT NULL, PRIMARY KEY (tenant_id, id),
        FOREIGN KEY (tenant_id, patient_id) REFERENCES {SCRATCH}.patient (tenant_id, id))""",
    # A declared coordinator-local queue: a NULL tenant_id, a key without it and a trigger
    # are its own business; it refers to a reference table only.
    f"""CREATE TABLE {SCRATCH}.queue (
        id uuid PRIMARY KEY, tenant_id uuid REFERENCES {SCRATCH}.clinic (id), body text)""",
    f"""CREATE FUNCTION {SCRATCH}.touch() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN RETURN NEW; END $$""",
    f"""CREATE TRIGGER queue_touch BEFORE INSERT ON {SCRATCH}.queue
        FOR EACH ROW EXECUTE FUNCTION {SCRATCH}.touch()""",
]
LOCAL = {"queue": "a queue drained across all clinics"}

VIOLATIONS = {
    "pk": [
        f"ALTER TABLE {SCRATCH}.visit DROP CONSTRAINT visit_pkey",
        f"ALTER TABLE {SCRATCH}.visit ADD PRIMARY KEY (id)",
    ],
    "unique": [f"CREATE UNIQUE INDEX patient_mobile_everywhere ON {SCRATCH}.patient (mobile)"],
    "colocated-fk": [
        # Two columns, but tenant_id is paired with the patient's id: not checkable in a shard.
        f"""ALTER TABLE {SCRATCH}.visit ADD FOREIGN KEY (patient_id, tenant_id)
            REFERENCES {SCRATCH}.patient (tenant_id, id)"""
    ],
    "reference-fk": [
        f"ALTER TABLE {SCRATCH}.clinic ADD COLUMN first_tenant uuid, ADD COLUMN first_patient uuid",
        f"""ALTER TABLE {SCRATCH}.clinic ADD FOREIGN KEY (first_tenant, first_patient)
            REFERENCES {SCRATCH}.patient (tenant_id, id)""",
    ],
    "shared-rows": [f"CREATE TABLE {SCRATCH}.medicine (tenant_id uuid, name text NOT NULL)"],
    "trigger": [
        f"""CREATE TRIGGER patient_touch BEFORE INSERT ON {SCRATCH}.patient
            FOR EACH ROW EXECUTE FUNCTION {SCRATCH}.touch()""",
    ],
    # A distributed table refers to the coordinator-local queue.
    "local-fk": [
        f"ALTER TABLE {SCRATCH}.visit ADD COLUMN queued_id uuid",
        f"ALTER TABLE {SCRATCH}.visit ADD FOREIGN KEY (queued_id) REFERENCES {SCRATCH}.queue (id)",
    ],
}

SET_LOCAL = "SET LOCAL app.tenant_id = 'x'; SET LOCAL app.user_id = ''; "


def _inspect_scratch(extra: list[str], *, prefix: str = SET_LOCAL, local=LOCAL):
    """Build the scratch schema as the migration owner, inspect it, roll it all back."""
    owner = connections["owner"]
    with transaction.atomic(using="owner"):
        with owner.cursor() as cursor:
            for statement in COMPLIANT + extra:
                cursor.execute(statement)
            report = inspect(cursor, SCRATCH, context_prefix=prefix, local_tables=local)
        transaction.set_rollback(True, using="owner")
    return report


def test_a_compliant_schema_passes_and_is_planned_in_dependency_order(db):
    report = _inspect_scratch([])
    assert report.violations == []
    assert report.plan() == [
        "SELECT create_reference_table('clinic');",
        "SELECT citus_add_local_table_to_metadata('queue');",
        "SELECT create_distributed_table('patient', 'tenant_id', colocate_with => 'none');",
        "SELECT create_distributed_table('visit', 'tenant_id', colocate_with => 'patient');",
    ]


@pytest.mark.parametrize("rule", sorted(VIOLATIONS))
def test_each_rule_catches_its_violation(db, rule):
    report = _inspect_scratch(VIOLATIONS[rule])
    assert {v.rule for v in report.violations} == {rule}, [str(v) for v in report.violations]


@pytest.mark.parametrize(
    "statements",
    [
        # A reference table (the clinics) refers to the local queue.
        [
            f"ALTER TABLE {SCRATCH}.clinic ADD COLUMN last_mail uuid",
            f"ALTER TABLE {SCRATCH}.clinic ADD FOREIGN KEY (last_mail) "
            f"REFERENCES {SCRATCH}.queue (id)",
        ],
        # The local queue refers to a distributed table.
        [
            f"ALTER TABLE {SCRATCH}.queue ADD COLUMN patient_id uuid",
            f"ALTER TABLE {SCRATCH}.queue ADD FOREIGN KEY (tenant_id, patient_id) "
            f"REFERENCES {SCRATCH}.patient (tenant_id, id)",
        ],
    ],
    ids=["reference-to-local", "local-to-distributed"],
)
def test_a_local_table_is_referred_to_by_none_and_refers_to_reference_tables_only(db, statements):
    report = _inspect_scratch(statements)
    assert [v.rule for v in report.violations] == ["local-fk"], [str(v) for v in report.violations]


def test_an_undeclared_table_with_a_nullable_tenant_id_is_still_shared_rows(db):
    report = _inspect_scratch([], local={})
    found = {(v.rule, v.table) for v in report.violations}
    assert ("shared-rows", "queue") in found and ("trigger", "queue") in found, found
    assert "queue" in report.distributed_tables and not report.local_tables


def test_the_outbox_is_the_projects_declared_coordinator_local_table(db):
    with connection.cursor() as cursor:
        report = inspect(cursor)
    assert report.local_tables == ["tenants_outboxemail"]
    assert "tenants_outboxemail" not in report.distributed_tables
    assert "tenants_outboxemail" not in {v.table for v in report.violations}
    plan = report.plan()
    local = plan.index("SELECT citus_add_local_table_to_metadata('tenants_outboxemail');")
    assert all("create_reference_table" in s for s in plan[:local])
    assert all("create_distributed_table" in s for s in plan[local + 1 :])


def test_a_context_sent_with_set_config_is_a_violation(db):
    report = _inspect_scratch([], prefix="SELECT set_config('app.tenant_id', 'x', true); ")
    assert [v.rule for v in report.violations] == ["context"]


def test_the_projects_context_is_sent_as_set_local(db):
    with connection.cursor() as cursor:
        report = inspect(cursor)
    assert "context" not in {v.rule for v in report.violations}


def test_the_projects_schema_is_planned_with_clinic_tables_distributed(db):
    with connection.cursor() as cursor:
        report = inspect(cursor)
    assert {"clinical_patient", "clinical_prescription", "accounts_membership"} <= set(
        report.distributed_tables
    )
    assert "tenants_tenant" in report.reference_tables
    order = report.distributed_tables
    assert order.index("clinical_patient") < order.index("clinical_prescription")
    plan = report.plan()
    first_distributed = next(i for i, s in enumerate(plan) if "create_distributed" in s)
    assert all(
        "create_reference_table" in s or "citus_add_local_table_to_metadata" in s
        for s in plan[:first_distributed]
    )


def test_the_projects_schema_is_ready_to_distribute(db, capsys):
    # Every clinic table keyed (tenant_id, id), no shared rows or triggers in them, the shared
    # catalogues in reference tables, the outbox declared coordinator-local.
    call_command("check_distribution")
    out, err = capsys.readouterr()
    assert "Ready to distribute" in out and err == ""
    for table in ("clinical_sharedmedicine", "clinical_shareddentaltemplate"):
        assert f"SELECT create_reference_table('{table}');" in out
    for table in ("clinical_medicine", "clinical_dentaltemplate", "tenants_auditevent"):
        assert f"SELECT create_distributed_table('{table}', 'tenant_id'" in out
    assert "tenants_platformauditevent" not in out  # stays on the coordinator, unreferenced


def test_the_command_lists_violations_and_exits_1(db, capsys):
    # A violation injected into the project's own schema (a trigger and a key without the
    # clinic on the patients), seen through the migration owner's connection inside its
    # transaction, and rolled back with it.
    owner = connections["owner"]
    with transaction.atomic(using="owner"):
        with owner.cursor() as cursor:
            cursor.execute(
                "CREATE FUNCTION dist_touch() RETURNS trigger LANGUAGE plpgsql "
                "AS $$ BEGIN RETURN NEW; END $$"
            )
            cursor.execute(
                "CREATE TRIGGER patient_touch BEFORE INSERT ON clinical_patient "
                "FOR EACH ROW EXECUTE FUNCTION dist_touch()"
            )
            cursor.execute("CREATE UNIQUE INDEX patient_everywhere ON clinical_patient (id)")
        with pytest.raises(CommandError, match="2 violation"):
            call_command("check_distribution", database="owner")
        transaction.set_rollback(True, using="owner")
    out, err = capsys.readouterr()
    assert "SELECT create_reference_table('tenants_tenant');" in out
    assert "[trigger] clinical_patient: trigger patient_touch" in err
    assert "[unique] clinical_patient: unique key patient_everywhere (id)" in err
