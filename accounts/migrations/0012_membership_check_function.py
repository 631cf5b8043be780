"""Issue 17: the per-request membership check through `clinic_membership_check()`, a SECURITY
INVOKER plpgsql function whose plan is cached per connection, instead of a three-table
statement whose ten policy sub-selects PostgreSQL rewrote and planned on every API request.

As an invoker it reads memberships, people and clinics under the caller's own row-level
security, exactly as the statement it replaces did (accounts.selectors.membership_for_token);
tenants.people_sql.INVOKER_FUNCTIONS holds its body and check_rls verifies it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations

from tenants import people_sql

NAMES = ["clinic_membership_check"]


def create_function(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for statement in people_sql.member_functions_sql(
            names=NAMES,
            runtime=settings.DATABASES["default"]["USER"],
            platform=settings.DATABASES["platform"]["USER"],
        ):
            cursor.execute(statement)


def drop_function(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for statement in people_sql.drop_member_functions_sql(names=NAMES):
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_join_people_policy"),
    ]

    operations = [
        migrations.RunPython(create_function, drop_function),
    ]
