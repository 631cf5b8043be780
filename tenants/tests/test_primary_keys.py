"""Primary keys (tenant_id, id) on the clinic tables (issue 17): the migration operation that
swaps a table's key, on scratch tables; lookups by id alone that still use an index; and
the composite foreign keys, now relying on the new keys, that still refuse a reference to
another clinic's row."""

from __future__ import annotations

import json
import uuid

import pytest
from django.db import DatabaseError, connections, models, transaction
from django.db.migrations.state import ModelState, ProjectState

from accounts.testing import create_clinic
from clinical.models import DoctorOffice, Office
from tenants import keys, rls
from tenants.context import tenant_context
from tenants.operations import ClinicPrimaryKey
from tenants.platform import platform_access
from tenants.routers import PLATFORM_ALIAS
from tenants.testing import build

APP = "pkscratch"
SCRATCH_TABLES = [
    f"""CREATE TABLE {APP}_parent (
        tenant_id uuid NOT NULL, id uuid NOT NULL CONSTRAINT {APP}_parent_pkey PRIMARY KEY,
        CONSTRAINT {APP}_parent_tenant_id_uniq UNIQUE (tenant_id, id))""",
    f"""CREATE TABLE {APP}_child (
        tenant_id uuid NOT NULL, id uuid NOT NULL CONSTRAINT {APP}_child_pkey PRIMARY KEY,
        parent_id uuid, previous_id uuid,
        CONSTRAINT {APP}_child_tenant_id_uniq UNIQUE (tenant_id, id),
        CONSTRAINT child_parent_fk FOREIGN KEY (tenant_id, parent_id)
            REFERENCES {APP}_parent (tenant_id, id) DEFERRABLE,
        CONSTRAINT child_previous_fk FOREIGN KEY (tenant_id, previous_id)
            REFERENCES {APP}_child (tenant_id, id) ON DELETE CASCADE)""",
]


def _state() -> ProjectState:
    state = ProjectState()
    for name in ("Parent", "Child"):
        state.add_model(
            ModelState(
                APP,
                name,
                [("id", models.UUIDField(primary_key=True))],
                options={"db_table": f"{APP}_{name.lower()}"},
            )
        )
    return state


def _keys(cursor) -> dict[str, tuple]:
    """Every constraint of the scratch tables: its definition and the index it relies on."""
    cursor.execute(
        "SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid), "
        "c.conindid::regclass::text FROM pg_constraint c "
        "WHERE c.conrelid IN (%s::regclass, %s::regclass) AND c.contype IN ('p', 'u', 'f')",
        [f"{APP}_parent", f"{APP}_child"],
    )
    return {name: rest for name, *rest in cursor.fetchall()}


def _indexes(cursor) -> dict[str, str]:
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN (%s, %s)",
        [f"{APP}_parent", f"{APP}_child"],
    )
    return dict(cursor.fetchall())


def _run(operation: ClinicPrimaryKey, *, forwards: bool) -> None:
    state = _state()
    with connections["owner"].schema_editor(atomic=False) as editor:
        if forwards:
            operation.database_forwards(APP, editor, state, state)
        else:
            operation.database_backwards(APP, editor, state, state)


@pytest.fixture
def scratch(db):
    """The scratch tables, made as the migration owner and rolled back after the test."""
    owner = connections["owner"]
    with transaction.atomic(using="owner"):
        with owner.cursor() as cursor:
            for statement in SCRATCH_TABLES:
                cursor.execute(statement)
            yield cursor
        transaction.set_rollback(True, using="owner")


OWNER_DB = pytest.mark.django_db(databases=["default", "owner"])


@OWNER_DB
def test_the_operation_swaps_the_key_keeps_the_references_and_reverses(scratch):
    before = _keys(scratch)
    indexes_before = _indexes(scratch)
    operations = [ClinicPrimaryKey("parent"), ClinicPrimaryKey("child")]
    for operation in operations:
        _run(operation, forwards=True)
    after = _keys(scratch)
    assert after[f"{APP}_parent_pkey"] == [
        f"{APP}_parent",
        "PRIMARY KEY (tenant_id, id)",
        f"{APP}_parent_pkey",
    ]
    assert after[f"{APP}_child_pkey"][1] == "PRIMARY KEY (tenant_id, id)"
    assert f"{APP}_parent_tenant_id_uniq" not in after
    assert f"{APP}_child_tenant_id_uniq" not in after
    # The same foreign keys, word for word, now relying on the new primary keys.
    for fk, target in (("child_parent_fk", "parent"), ("child_previous_fk", "child")):
        assert after[fk][:2] == before[fk][:2]
        assert after[fk][2] == f"{APP}_{target}_pkey"
    assert _indexes(scratch)[f"{APP}_parent_id_idx"].endswith("USING btree (id)")

    # Idempotent: a second run changes nothing.
    for operation in operations:
        _run(operation, forwards=True)
    assert _keys(scratch) == after

    for operation in reversed(operations):
        _run(operation, forwards=False)
        _run(operation, forwards=False)
    assert _keys(scratch) == before
    assert _indexes(scratch) == indexes_before


@OWNER_DB
def test_the_swapped_keys_still_refuse_a_reference_to_another_clinics_row(scratch):
    for operation in (ClinicPrimaryKey("parent"), ClinicPrimaryKey("child")):
        _run(operation, forwards=True)
    clinic_a, clinic_b, parent_b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    scratch.execute(f"INSERT INTO {APP}_parent VALUES (%s, %s)", [clinic_b, parent_b])
    scratch.execute(
        f"INSERT INTO {APP}_child (tenant_id, id, parent_id) VALUES (%s, %s, %s)",
        [clinic_b, uuid.uuid4(), parent_b],
    )
    with pytest.raises(DatabaseError, match="foreign key"):
        with transaction.atomic(using="owner"):
            scratch.execute(
                f"INSERT INTO {APP}_child (tenant_id, id, parent_id) VALUES (%s, %s, %s)",
                [clinic_a, uuid.uuid4(), parent_b],
            )


@OWNER_DB
def test_a_table_without_the_unique_pair_gets_the_key_too(scratch):
    # The audit log's kind adds no UNIQUE (tenant_id, id): the swap needs none.
    scratch.execute(f"ALTER TABLE {APP}_child DROP CONSTRAINT child_previous_fk")
    scratch.execute(f"ALTER TABLE {APP}_child DROP CONSTRAINT {APP}_child_tenant_id_uniq")
    _run(ClinicPrimaryKey("child"), forwards=True)
    assert _keys(scratch)[f"{APP}_child_pkey"][1] == "PRIMARY KEY (tenant_id, id)"


@OWNER_DB
def test_a_reference_to_the_id_alone_stops_the_swap_and_changes_nothing(scratch):
    scratch.execute(
        f"CREATE TABLE {APP}_loose (id uuid PRIMARY KEY, "
        f"parent_id uuid REFERENCES {APP}_parent (id))"
    )
    before = _keys(scratch)
    with pytest.raises(DatabaseError, match="alone"):
        with transaction.atomic(using="owner"):
            _run(ClinicPrimaryKey("parent"), forwards=True)
    assert _keys(scratch) == before


@OWNER_DB
def test_the_clinic_tables_have_the_composite_primary_key(db):
    with connections["owner"].cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'clinical_patient'::regclass AND contype = 'p'"
        )
        assert cursor.fetchone() == ("PRIMARY KEY (tenant_id, id)",)
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conname = %s",
            [rls.tenant_unique_name("clinical_patient")],
        )
        assert cursor.fetchone() == (0,)


def _plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)


def test_a_lookup_by_id_alone_uses_the_id_index(live_db):
    # The platform role has no clinic in context and gives no tenant_id: without the plain
    # (id) index this lookup would scan the table (or skip-scan every clinic's part of the
    # (tenant_id, id) key on PostgreSQL 18).
    with platform_access(reason="test: look a patient up by id alone"):
        with transaction.atomic(using=PLATFORM_ALIAS):
            with connections[PLATFORM_ALIAS].cursor() as cursor:
                cursor.execute("SET LOCAL enable_seqscan = off")
                cursor.execute(
                    "EXPLAIN (FORMAT JSON) SELECT * FROM clinical_patient WHERE id = %s",
                    [uuid.uuid4()],
                )
                plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    used = {node.get("Index Name") for node in _plan_nodes(plan[0]["Plan"])}
    assert keys.id_lookup_index_name("clinical_patient") in used, plan


def test_the_composite_key_refuses_a_row_pointing_at_another_clinics_row(live_db):
    # As the platform role, which bypasses row-level security: only the foreign key, which
    # now relies on the office table's primary key (tenant_id, id), can refuse it.
    a, b = create_clinic(), create_clinic()
    with tenant_context(a):
        link = build(DoctorOffice)
    with tenant_context(b):
        office_b = build(Office)
    with platform_access(reason="test: point a clinic's row at another clinic's office"):
        with pytest.raises(DatabaseError, match="foreign key"):
            with transaction.atomic(using=PLATFORM_ALIAS):
                with connections[PLATFORM_ALIAS].cursor() as cursor:
                    cursor.execute(
                        "UPDATE clinical_doctoroffice SET office_id = %s WHERE id = %s",
                        [office_b.pk, link.pk],
                    )
        with transaction.atomic(using=PLATFORM_ALIAS):
            with connections[PLATFORM_ALIAS].cursor() as cursor:
                cursor.execute(
                    "SELECT c.conindid::regclass::text FROM pg_constraint c WHERE c.conname = %s",
                    [keys.composite_fk_names("clinical_doctoroffice", "office_id")[0]],
                )
                assert cursor.fetchone() == ("clinical_office_pkey",)
    with tenant_context(a):
        assert DoctorOffice.objects.get(pk=link.pk).office_id != office_b.pk
