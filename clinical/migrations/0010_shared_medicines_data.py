"""Issue 17, part 2: the shared medicines move to a reference table of their own (step 2 of 3).

The shared rows of `clinical_medicine` (tenant_id NULL) move to `clinical_sharedmedicine`,
keeping their ids, and every prescription or short-key line that named one names it in
`shared_medicine_id` instead. Lines are rows of every clinic, so the move works across
clinics explicitly (migration_platform_context: the owner role lifts FORCE row-level
security on just these tables for this transaction, and the audit log records why).
"""

from django.db import migrations

from tenants.operations import migration_platform_context

COLUMNS = (
    "id, name, generic_name, composition, manufacturer, dosage_form, strength, category, "
    "price, prescription_only, atc_code, notes, is_active, created_at, updated_at"
)
LINE_TABLES = ("clinical_prescriptionitem", "clinical_shortkeyitem")

FORWARDS = [
    f"INSERT INTO clinical_sharedmedicine ({COLUMNS}) "
    f"SELECT {COLUMNS} FROM clinical_medicine WHERE tenant_id IS NULL",
    *(
        f"UPDATE {table} SET shared_medicine_id = medicine_id, medicine_id = NULL "
        "WHERE medicine_id IN (SELECT id FROM clinical_sharedmedicine)"
        for table in LINE_TABLES
    ),
    "DELETE FROM clinical_medicine WHERE tenant_id IS NULL",
]

BACKWARDS = [
    f"INSERT INTO clinical_medicine (tenant_id, {COLUMNS}) "
    f"SELECT NULL, {COLUMNS} FROM clinical_sharedmedicine",
    *(
        f"UPDATE {table} SET medicine_id = shared_medicine_id, shared_medicine_id = NULL "
        "WHERE shared_medicine_id IS NOT NULL"
        for table in LINE_TABLES
    ),
    "DELETE FROM clinical_sharedmedicine",
]


def _run(apps, schema_editor, statements, reason):
    models = [
        apps.get_model("clinical", name)
        for name in ("Medicine", "SharedMedicine", "PrescriptionItem", "ShortKeyItem")
    ]
    with migration_platform_context(schema_editor, *models, reason=reason):
        with schema_editor.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            # Check the deferred foreign keys now: FORCE row-level security is restored on
            # these tables when the block ends, which PostgreSQL refuses while checks are
            # pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def forwards(apps, schema_editor):
    _run(apps, schema_editor, FORWARDS, "issue 17: shared medicines to their reference table")


def backwards(apps, schema_editor):
    _run(apps, schema_editor, BACKWARDS, "issue 17: shared medicines back into clinical_medicine")


class Migration(migrations.Migration):

    dependencies = [
        ('clinical', '0009_shared_medicines'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
