"""Issue 17: the clinics' own dental templates get the primary key (tenant_id, id), now that
the shared ones live in `clinical_shareddentaltemplate` (0011). This migration also joins
the two lines of work (0011_shared_dental_templates and 0013)."""

from __future__ import annotations

from django.db import migrations

from tenants.operations import ClinicPrimaryKey


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0011_shared_dental_templates"),
        ("clinical", "0013_medicine_primary_key"),
    ]

    operations = [
        ClinicPrimaryKey("dentaltemplate"),
    ]
