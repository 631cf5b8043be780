"""Issue 17: the clinic's own medicines get the primary key (tenant_id, id) too, now that
their shared rows live in `clinical_sharedmedicine` (0009–0011) and every reference to them
is composite. This migration also joins the two lines of work (0011 and 0012)."""

from __future__ import annotations

from django.db import migrations

from tenants.operations import ClinicPrimaryKey


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0011_shared_medicines_constraints"),
        ("clinical", "0012_clinic_primary_keys"),
    ]

    operations = [
        ClinicPrimaryKey("medicine"),
    ]
