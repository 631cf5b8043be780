"""Issue 17: the people policy at almost no cost per statement, letting through exactly what
accounts/0007's did.

* The clinic's members come from `clinic_member_ids()`, a SECURITY INVOKER plpgsql function
  (its plan cached per session, called once per statement as an InitPlan) instead of a
  sub-select on memberships that every statement reading people rewrote and planned again.
  As an invoker it reads memberships under the caller's own row-level security.
* The definer gate compares `current_user` with the table owner's name written into the
  policy as a literal when it is installed, instead of a catalogue sub-select.

tenants.rls (kind "people"), tenants.people_sql.INVOKER_FUNCTIONS; check_rls verifies both.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations

from tenants import people_sql
from tenants.operations import EnableTenantRLS


def create_functions(apps, schema_editor):
    runtime = settings.DATABASES["default"]["USER"]
    with schema_editor.connection.cursor() as cursor:
        for statement in people_sql.member_functions_sql(names=["clinic_member_ids"], runtime=runtime):
            cursor.execute(statement)


def drop_functions(apps, schema_editor):
    # Runs after the policies of accounts/0007 are back (operations reverse in reverse order),
    # so nothing depends on the functions any more.
    with schema_editor.connection.cursor() as cursor:
        for statement in people_sql.drop_member_functions_sql(names=["clinic_member_ids"]):
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_clinic_primary_keys"),
    ]

    operations = [
        migrations.RunPython(create_functions, drop_functions),
        EnableTenantRLS("user", kind="people", previous_kind="people_0007"),
    ]
