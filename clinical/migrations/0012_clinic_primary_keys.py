"""Issue 17: the primary key of every clinic table of this app is (tenant_id, id) in the
database (Django keeps `id` as the pk field), as a table distributed by clinic requires.

Not here: medicines and dental templates, which are being split into a shared reference
table and the clinics' own (their single-column foreign keys must become composite first).
"""

from __future__ import annotations

from django.db import migrations

from tenants.operations import ClinicPrimaryKey


class Migration(migrations.Migration):
    dependencies = [
        ("clinical", "0008_print_templates"),
        # Memberships and invitations first: a doctor refers to a pending invitation.
        ("accounts", "0008_clinic_primary_keys"),
    ]

    operations = [
        ClinicPrimaryKey("office"),
        ClinicPrimaryKey("patient"),
        ClinicPrimaryKey("doctor"),
        ClinicPrimaryKey("doctoroffice"),
        ClinicPrimaryKey("doctoravailability"),
        ClinicPrimaryKey("numbercounter"),
        ClinicPrimaryKey("appointment"),
        ClinicPrimaryKey("prescription"),
        ClinicPrimaryKey("prescriptionitem"),
        ClinicPrimaryKey("prescriptionprint"),
        ClinicPrimaryKey("printtemplate"),
        ClinicPrimaryKey("shortkey"),
        ClinicPrimaryKey("shortkeyitem"),
        ClinicPrimaryKey("dentalobservation"),
        ClinicPrimaryKey("dentalprocedure"),
        ClinicPrimaryKey("dentalattachment"),
    ]
