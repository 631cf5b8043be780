"""Joins two lines of work of issue 17: the clinic primary keys (0008) and the clinics table's
policy without the member sub-select (0009). Nothing to do in the database."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_clinic_primary_keys"),
        ("accounts", "0009_clinics_policy_without_subselect"),
    ]

    operations = []
