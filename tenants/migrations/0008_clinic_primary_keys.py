"""Issue 17: the primary key of every clinic table of this app is (tenant_id, id) in the
database (Django keeps `id` as the pk field), as a table distributed by clinic requires.

Not here: the platform's audit events and the e-mail outbox, which are being reshaped
(shared rows apart; the outbox stays a coordinator-local table, tenants.distribution).
"""

from __future__ import annotations

from django.db import migrations

from tenants.operations import ClinicPrimaryKey


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0006_outboxemail"),
    ]

    operations = [
        ClinicPrimaryKey("planchange"),
        ClinicPrimaryKey("idempotencykey"),
        ClinicPrimaryKey("invoice"),
        ClinicPrimaryKey("invoiceline"),
        ClinicPrimaryKey("payment"),
        ClinicPrimaryKey("paymentevent"),
    ]
