"""The shared dental templates leave the clinic table (issue 17, part 2).

`clinical_dentaltemplate` mixed the shared starter set (`tenant_id` NULL) with each clinic's
own templates. A table distributed by clinic cannot hold rows without one, so the shared rows
move, with their ids and times, to `clinical_shareddentaltemplate`, a reference table (row-level
security kind "reference": every clinic reads it, none writes it, the platform loads it), and
the clinic table's `tenant_id` becomes NOT NULL with the plain clinic policies ("tenant").
Nothing refers to a dental template by foreign key, so no reference has to follow the move.
"""

import uuid

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from tenants import rls
from tenants.operations import EnableTenantRLS, migration_platform_context

TABLE = "clinical_dentaltemplate"
COLUMNS = (
    "id, name, condition_type, tooth_surface, severity, notes, treatment_required, "
    "procedure_code, is_active, created_at, updated_at"
)

# The clinic table's policies before this migration (kind "catalog": shared rows readable by
# every clinic), frozen here so that reversing restores exactly them.
_MINE = "tenant_id = (SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
_SHARED_OR_MINE = f"(tenant_id IS NULL OR {_MINE})"
CATALOG_POLICIES = [
    f'CREATE POLICY "clinic_access" ON "{TABLE}" AS PERMISSIVE FOR ALL TO PUBLIC '
    f"USING ({_MINE}) WITH CHECK ({_MINE})",
    f'CREATE POLICY "clinic_catalog_read" ON "{TABLE}" AS PERMISSIVE FOR SELECT TO PUBLIC '
    f"USING ({_SHARED_OR_MINE})",
    f'CREATE POLICY "clinic_isolation" ON "{TABLE}" AS RESTRICTIVE FOR ALL TO PUBLIC '
    f"USING ({_SHARED_OR_MINE}) WITH CHECK ({_MINE})",
]


def _move(apps, schema_editor, *, reason, source, target, where, tenant):
    DentalTemplate = apps.get_model("clinical", "DentalTemplate")
    SharedDentalTemplate = apps.get_model("clinical", "SharedDentalTemplate")
    # The migration runs as the tables' owner, which FORCE row-level security filters too: it
    # could neither delete the shared rows nor write the reference table without lifting it.
    with migration_platform_context(
        schema_editor, DentalTemplate, SharedDentalTemplate, reason=reason
    ):
        with schema_editor.connection.cursor() as cursor:
            columns = f"{tenant}{COLUMNS}"
            values = f"{'NULL, ' if tenant else ''}{COLUMNS}"
            cursor.execute(
                f"INSERT INTO {target} ({columns}) SELECT {values} FROM {source} {where}"
            )
            cursor.execute(f"DELETE FROM {source} {where}")
            # Check deferred constraints now: FORCE is restored when the block ends, which
            # PostgreSQL refuses while checks are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def move_shared_templates(apps, schema_editor):
    _move(
        apps,
        schema_editor,
        reason="issue 17: the shared dental templates move to a reference table",
        source=TABLE,
        target="clinical_shareddentaltemplate",
        where="WHERE tenant_id IS NULL",
        tenant="",
    )


def restore_shared_templates(apps, schema_editor):
    _move(
        apps,
        schema_editor,
        reason="issue 17 reversed: the shared dental templates move back",
        source="clinical_shareddentaltemplate",
        target=TABLE,
        where="",
        tenant="tenant_id, ",
    )


def clinic_policies(apps, schema_editor):
    for statement in rls.enable_sql(TABLE, "tenant"):
        schema_editor.execute(statement, params=None)


def catalog_policies(apps, schema_editor):
    for statement in rls.enable_sql(TABLE, "tenant")[:3] + CATALOG_POLICIES:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0008_print_templates"),
    ]

    operations = [
        migrations.CreateModel(
            name="SharedDentalTemplate",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("name", models.CharField(max_length=200)),
                (
                    "condition_type",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("caries", "Caries"),
                            ("fracture", "Fracture"),
                            ("missing", "Missing"),
                            ("filled", "Filled"),
                            ("crown", "Crown"),
                            ("root_canal_treated", "Root canal treated"),
                            ("mobility", "Mobility"),
                            ("periodontal_pocket", "Periodontal pocket"),
                            ("impacted", "Impacted"),
                            ("other", "Other"),
                        ],
                        max_length=30,
                    ),
                ),
                (
                    "tooth_surface",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("mesial", "Mesial"),
                            ("distal", "Distal"),
                            ("occlusal", "Occlusal / incisal"),
                            ("buccal", "Buccal / labial"),
                            ("lingual", "Lingual / palatal"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "severity",
                    models.CharField(
                        blank=True,
                        choices=[("mild", "Mild"), ("moderate", "Moderate"), ("severe", "Severe")],
                        max_length=10,
                    ),
                ),
                ("notes", models.TextField()),
                ("treatment_required", models.BooleanField(default=False)),
                (
                    "procedure_code",
                    models.CharField(
                        blank=True,
                        max_length=5,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^D\\d{4}$",
                                "Enter a CDT-style procedure code: D and four digits, such as "
                                "D2391.",
                                code="invalid_procedure_code",
                            )
                        ],
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["name", "id"],
                "abstract": False,
            },
        ),
        migrations.AddIndex(
            model_name="shareddentaltemplate",
            index=models.Index(
                fields=["condition_type", "name", "id"], name="shareddentaltemplate_cond"
            ),
        ),
        migrations.AddConstraint(
            model_name="shareddentaltemplate",
            constraint=models.UniqueConstraint(
                fields=("name",), name="shareddentaltemplate_name_uniq"
            ),
        ),
        EnableTenantRLS("shareddentaltemplate", kind="reference"),
        migrations.RunPython(move_shared_templates, restore_shared_templates),
        migrations.RemoveConstraint(
            model_name="dentaltemplate",
            name="dentaltemplate_tenant_name_uniq",
        ),
        migrations.AlterField(
            model_name="dentaltemplate",
            name="tenant",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="tenants.tenant",
            ),
        ),
        migrations.AddConstraint(
            model_name="dentaltemplate",
            constraint=models.UniqueConstraint(
                fields=("tenant", "name"), name="dentaltemplate_tenant_name_uniq"
            ),
        ),
        migrations.RunPython(clinic_policies, catalog_policies),
    ]
