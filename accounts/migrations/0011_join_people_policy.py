"""Joins two lines of work of issue 17: the clinics table's policy without the member
sub-select (0009, joined with the clinic primary keys in 0010_join_keys_and_clinics_policy)
and the cheaper people policy (0010_people_policy_cached). Nothing to do in the database."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_join_keys_and_clinics_policy"),
        ("accounts", "0010_people_policy_cached"),
    ]

    operations = []
