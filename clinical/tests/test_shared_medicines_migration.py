"""Clinical migrations 0009-0011: the shared medicines move out of `clinical_medicine` into
their reference table, keeping their ids, and the lines that named them follow; backwards,
they move back. Run on committed rows of two clinics, as `migrate` runs them (owner role)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from accounts.testing import create_clinic
from clinical.models import Medicine, PrescriptionItem, SharedMedicine, ShortKeyItem
from clinical.services import medicine_catalogue_load
from tenants.context import tenant_context
from tenants.platform import platform_access
from tenants.testing import build

BEFORE = "0008_print_templates"


def _rows(sql: str) -> set[tuple]:
    with platform_access(reason="test: read the rows as they are"):
        with connections["platform"].cursor() as cursor:
            cursor.execute(sql)
            return set(cursor.fetchall())


def test_the_shared_rows_move_with_their_ids_and_the_lines_follow(live_db):
    medicine_catalogue_load(
        rows=[(2, {"name": "Paracetamol", "dosage_form": "tablet", "strength": "500 mg"})],
        reason="test: one shared medicine",
    )
    with platform_access(reason="test: its id"):
        shared = SharedMedicine.objects.get().pk
    lines = {}
    for clinic in (create_clinic(), create_clinic()):
        with tenant_context(clinic):
            own = build(Medicine, name="House syrup", dosage_form="syrup").pk
            for model in (PrescriptionItem, ShortKeyItem):
                lines[build(model, shared_medicine_id=shared).pk] = ("shared", shared)
                lines[build(model, medicine_id=own).pk] = ("own", own)

    try:
        # The models describe the new schema, so the row-level security check that `migrate`
        # runs at the end reports the old one: expected here, the migration itself ran.
        with pytest.raises(CommandError, match="Migrated, but"):
            call_command(
                "migrate",
                "clinical",
                BEFORE,
                verbosity=0,
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
        # Back in one mixed table: the shared row with no clinic, lines naming it directly.
        assert (shared,) in _rows("SELECT id FROM clinical_medicine WHERE tenant_id IS NULL")
        named = _rows(
            "SELECT id, medicine_id FROM clinical_prescriptionitem "
            "UNION ALL SELECT id, medicine_id FROM clinical_shortkeyitem"
        )
        assert named == {(line, medicine) for line, (_, medicine) in lines.items()}
    finally:
        call_command("migrate", "clinical", verbosity=0, stdout=io.StringIO())

    assert _rows("SELECT id FROM clinical_sharedmedicine") == {(shared,)}
    assert not _rows("SELECT id FROM clinical_medicine WHERE tenant_id IS NULL")
    named = _rows(
        "SELECT id, medicine_id, shared_medicine_id FROM clinical_prescriptionitem "
        "UNION ALL SELECT id, medicine_id, shared_medicine_id FROM clinical_shortkeyitem"
    )
    assert named == {
        (line, None, medicine) if kind == "shared" else (line, medicine, None)
        for line, (kind, medicine) in lines.items()
    }
