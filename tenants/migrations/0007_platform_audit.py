"""The platform's own audit events leave the clinic table (issue 17, part 2).

`tenants_auditevent` mixed clinic events with events of no clinic (`tenant_id` NULL: failed
logins, sign-ups, operators' actions, catalogue loads). A table distributed by clinic cannot
hold rows without one, so those move, with their ids and times, to the new
`tenants_platformauditevent` (row-level security kind "platform_audit": anyone appends, no
clinic reads, the platform role reads all; append-only), and the clinic table's `tenant_id`
becomes NOT NULL with policies that accept only the clinic in context.
"""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from tenants import rls
from tenants.operations import EnableTenantRLS, RevokeWrites, migration_platform_context

COLUMNS = (
    "id, created_at, actor_id, actor_email, action, reason, object_type, object_id, "
    "patient_id, ip_address, user_agent, details"
)

# The clinic table's policies before this migration (events of no clinic were accepted),
# frozen here so that reversing restores exactly them.
_MINE = "(SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid)"
PREVIOUS_AUDIT_POLICIES = [
    'CREATE POLICY "clinic_read" ON "tenants_auditevent" AS PERMISSIVE FOR SELECT TO PUBLIC '
    f"USING (tenant_id = {_MINE})",
    'CREATE POLICY "clinic_append" ON "tenants_auditevent" AS PERMISSIVE FOR INSERT TO PUBLIC '
    f"WITH CHECK ((tenant_id IS NULL OR tenant_id = {_MINE}))",
    'CREATE POLICY "clinic_isolation" ON "tenants_auditevent" AS RESTRICTIVE FOR ALL TO PUBLIC '
    f"USING (tenant_id = {_MINE}) "
    f"WITH CHECK ((tenant_id IS NULL OR tenant_id = {_MINE}))",
]


def move_platform_events(apps, schema_editor):
    AuditEvent = apps.get_model("tenants", "AuditEvent")
    # The migration runs as the tables' owner, which FORCE row-level security filters too:
    # it could neither read nor delete the events of no clinic without lifting it here.
    with migration_platform_context(
        schema_editor,
        AuditEvent,
        reason="issue 17: the platform's audit events move to their own table",
    ):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO tenants_platformauditevent ({COLUMNS}) "
                f"SELECT {COLUMNS} FROM tenants_auditevent WHERE tenant_id IS NULL"
            )
            cursor.execute("DELETE FROM tenants_auditevent WHERE tenant_id IS NULL")


def restore_platform_events(apps, schema_editor):
    AuditEvent = apps.get_model("tenants", "AuditEvent")
    PlatformAuditEvent = apps.get_model("tenants", "PlatformAuditEvent")
    with migration_platform_context(
        schema_editor,
        AuditEvent,
        PlatformAuditEvent,
        reason="issue 17 reversed: the platform's audit events move back",
    ):
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO tenants_auditevent ({COLUMNS}) "
                f"SELECT {COLUMNS} FROM tenants_platformauditevent"
            )


def strict_audit_policies(apps, schema_editor):
    for statement in rls.enable_sql("tenants_auditevent", "audit"):
        schema_editor.execute(statement, params=None)


def lenient_audit_policies(apps, schema_editor):
    for statement in rls.enable_sql("tenants_auditevent", "audit")[:3] + PREVIOUS_AUDIT_POLICIES:
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_outboxemail"),
    ]

    operations = [
        migrations.CreateModel(
            name="PlatformAuditEvent",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("actor_id", models.UUIDField(blank=True, null=True)),
                ("actor_email", models.CharField(blank=True, max_length=254)),
                ("action", models.CharField(max_length=64)),
                ("reason", models.TextField(blank=True)),
                ("object_type", models.CharField(blank=True, max_length=64)),
                ("object_id", models.CharField(blank=True, max_length=64)),
                ("patient_id", models.UUIDField(blank=True, null=True)),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                ("user_agent", models.CharField(blank=True, max_length=300)),
                ("details", models.JSONField(blank=True, default=dict)),
            ],
            options={
                "verbose_name": "platform audit event",
                "ordering": ["-created_at"],
                "abstract": False,
                "indexes": [
                    models.Index(fields=["-created_at"], name="platformaudit_created"),
                ],
            },
        ),
        EnableTenantRLS("platformauditevent", kind="platform_audit"),
        RevokeWrites("platformauditevent"),
        migrations.RunPython(move_platform_events, restore_platform_events),
        migrations.AlterField(
            model_name="auditevent",
            name="tenant",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tenants.tenant",
            ),
        ),
        # A clinic's log reads its own range of (tenant, -created_at); an index on the time
        # alone let the planner walk every clinic's recent events instead.
        migrations.AlterField(
            model_name="auditevent",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(strict_audit_policies, lenient_audit_policies),
    ]
