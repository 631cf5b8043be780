"""Issue 17: the primary keys of memberships and invitations are (tenant_id, id) in the
database (Django keeps `id` as the pk field), as a table distributed by clinic requires.

The composite foreign keys into them (a doctor's pending invitation, in clinical) are
dropped and added back by the operation itself, whichever app's migration made them.
"""

from __future__ import annotations

from django.db import migrations

from tenants.operations import ClinicPrimaryKey


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_people_rls"),
        ("tenants", "0008_clinic_primary_keys"),
    ]

    operations = [
        ClinicPrimaryKey("membership"),
        ClinicPrimaryKey("invitation"),
    ]
