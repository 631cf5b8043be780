"""Issue 17: the clinics' audit log gets the primary key (tenant_id, id), now that the
platform's own events live in `tenants_platformauditevent` (0007) and every row of this table
has a clinic. This migration also joins the two lines of work (0007 and 0009)."""

from __future__ import annotations

from django.db import migrations

from tenants.operations import ClinicPrimaryKey


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0007_platform_audit"),
        ("tenants", "0009_invoices_without_triggers"),
    ]

    operations = [
        ClinicPrimaryKey("auditevent"),
    ]
