"""Issue 12, item 5: people (`accounts_user`) under row-level security.

The runtime role sees a person only when acting as that person (`app.user_id`) or, in a
clinic's context, when the person has a membership in that clinic; only the person themself
writes their row (tenants.rls, kind "people"). Looking a person up by e-mail (login, password
reset, sign-up, accepting an invitation) goes through a key-checked SECURITY DEFINER function
that answers one id for one exact address, and the flags function may now see the person it
changes (tenants.people_sql.PEOPLE_FUNCTIONS). See docs/security.md, section 5.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations

from tenants import people_sql
from tenants.operations import EnableTenantRLS


def _roles():
    return settings.DATABASES["default"]["USER"], settings.DATABASES["platform"]["USER"]


def forwards(apps, schema_editor):
    runtime, platform = _roles()
    with schema_editor.connection.cursor() as cursor:
        for statement in people_sql.people_rls_sql(runtime=runtime, platform=platform):
            cursor.execute(statement)


def backwards(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION IF EXISTS {people_sql.function_signature('clinic_person_by_email')}")
        # The flags function of accounts/0006, without the look-up flag.
        cursor.execute(people_sql._definer_sql("clinic_user_flags_set"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_people_secrets"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        # The policies exactly as this migration first installed them; accounts/0010 replaces
        # them with the cheaper form of kind "people".
        EnableTenantRLS("user", kind="people_0007"),
    ]
