"""Issue 12, item 5: the runtime role cannot rewrite identities or read secrets.

Password hashes move to `accounts_password` (no privilege for the runtime or platform role;
reached only through the credentials functions), admin flags change only through them or the
platform role, django-axes' records cannot be deleted by the runtime role, outstanding refresh
tokens are kept as digests (existing ones are digested here) and sessions are stored by a
digest of their key (existing sessions end: everybody signs in once more). See
tenants/people_sql.py for the statements and docs/architecture.md for the reasons.
"""

from __future__ import annotations

from django.conf import settings
from django.db import migrations

from tenants import people_sql


def _roles():
    return settings.DATABASES["default"]["USER"], settings.DATABASES["platform"]["USER"]


def forwards(apps, schema_editor):
    runtime, platform = _roles()
    with schema_editor.connection.cursor() as cursor:
        for statement in people_sql.people_sql(runtime=runtime, platform=platform):
            cursor.execute(statement)
        cursor.execute(
            "INSERT INTO accounts_password (user_id, password) "
            "SELECT id, password FROM accounts_user WHERE password <> '' "
            "ON CONFLICT (user_id) DO NOTHING"
        )
        # The digest trigger rewrites every raw token it sees.
        cursor.execute(f"UPDATE {people_sql.TOKEN_TABLE} SET token = token")
        cursor.execute("DELETE FROM django_session")
        people_sql.install_credentials_key(cursor, settings.SECRET_KEY)


def backwards(apps, schema_editor):
    runtime, platform = _roles()
    q = people_sql.sql_identifier
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user u SET password = p.password FROM accounts_password p "
            "WHERE p.user_id = u.id"
        )
        for table, (trigger, _events, _function) in people_sql.TRIGGERS.items():
            cursor.execute(f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table}"')
        for name, (args, *_rest) in people_sql.DEFINER_FUNCTIONS.items():
            types = ", ".join(a.split()[1] for a in args.split(", "))
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}({types})")
        for name in people_sql.TRIGGER_FUNCTIONS:
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        cursor.execute("DROP TABLE IF EXISTS accounts_password, clinic_credentials_key")
        cursor.execute(
            f"GRANT DELETE ON {people_sql.AXES_ATTEMPT_TABLE} TO {q(runtime)}, {q(platform)}"
        )
        cursor.execute("DELETE FROM django_session")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_invitations_without_people"),
        ("axes", "0010_accessattemptexpiration"),
        ("sessions", "0001_initial"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        # The column goes; its hashes were copied to accounts_password above. (Reversed, the
        # column comes back empty first and backwards() fills it again.)
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="user", name="password")],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE accounts_user DROP COLUMN password",
                    "ALTER TABLE accounts_user ADD COLUMN password varchar(128) NOT NULL "
                    "DEFAULT ''; ALTER TABLE accounts_user ALTER COLUMN password DROP DEFAULT",
                )
            ],
        ),
    ]
