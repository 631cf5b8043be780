"""Issue 17, part 3: the clinics table's policy loses its sub-select on memberships.

Until now `tenants_tenant` was readable in a clinic's context (its own row) and, for the
person in context, for every clinic they are an active member of: a sub-select on
`accounts_membership` (itself under row-level security) that PostgreSQL planned on every
statement reading the clinics table, the per-request membership check included (1.85x its
cost without row-level security). The policy is now the bare "this clinic" equality
(tenants.rls, kind "tenant_root"); the membership check reads the clinic in the token's
clinic context, and the pages that list a person's clinics read each one in its own context
(accounts.selectors). See docs/security.md.
"""

from __future__ import annotations

from django.db import migrations

from tenants import rls

TABLE = "tenants_tenant"


def _run(schema_editor, kind: str) -> None:
    for statement in rls.enable_sql(TABLE, kind):
        schema_editor.execute(statement, params=None)


def forwards(apps, schema_editor):
    _run(schema_editor, "tenant_root")


def backwards(apps, schema_editor):
    _run(schema_editor, "tenant_root_with_member_clinics")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_people_rls"),
        ("tenants", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
