"""Issue 17: a paid or void invoice stays as it is without triggers, which Citus refuses on
distributed tables: privileges and row-level security policies instead
(tenants.billing.operations, docs/scale-out.md).

* Invoice lines are insert-only for the runtime role (the platform role already had no
  UPDATE and keeps DELETE for the purge of a whole clinic).
* The runtime role may update only an invoice's life-cycle columns and delete none.
* Restrictive UPDATE and DELETE policies hide a paid or void invoice from both.
"""

from __future__ import annotations

from django.db import migrations

from tenants.billing.operations import (
    FREEZE_SQL,
    INVOICE_LIFECYCLE_COLUMNS,
    UNFREEZE_SQL,
    LimitUpdateToColumns,
    RevokeFromRole,
    drop_frozen_policies_sql,
    frozen_policies_sql,
)


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0008_clinic_primary_keys"),
    ]

    operations = [
        RevokeFromRole("invoiceline", "UPDATE, DELETE", "default"),
        RevokeFromRole("invoice", "DELETE", "default"),
        LimitUpdateToColumns("invoice", list(INVOICE_LIFECYCLE_COLUMNS), "default"),
        migrations.RunSQL(frozen_policies_sql(), drop_frozen_policies_sql()),
        migrations.RunSQL(UNFREEZE_SQL, FREEZE_SQL),
    ]
