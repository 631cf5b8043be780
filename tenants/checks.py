"""Verify in the live database that the tenancy invariants hold.

`inspect_database()` is shared by `manage.py check_rls`, the `migrate` command and the system
checks. It compares what PostgreSQL actually has with what the models say it should have:

* every clinic-owned table: row-level security enabled and forced, exactly the policies of
  its kind (no missing, changed or extra policy: an extra permissive policy could widen
  access), `PRIMARY KEY (tenant_id, id)` or `UNIQUE (tenant_id, id)`, every unique
  constraint including `tenant_id`, and a same-clinic constraint for each reference to
  another clinic-owned table;
* every table with a `tenant_id` column is one of those tables;
* no view without `security_invoker`, no materialised view, no SECURITY DEFINER function;
* no role may change a frozen invoice through a privilege given back by hand
  (tenants.billing.operations.frozen_grant_problems);
* the runtime role is not a superuser, cannot bypass row-level security, owns no clinic
  table and is not a member of the role that owns them;
* what the runtime role may not do to people (issue 12, item 5; tenants.dbroles): no
  privilege on the password hashes, admin flags guarded, no deleting failed-login records,
  refresh tokens stored as digests, and the credentials functions exactly as installed.

Each clinic table is compared with its model by tenants.table_checks, whose expected policy
text PostgreSQL itself produces; everything runs in one transaction that is rolled back.
"""

from __future__ import annotations

import itertools

import psycopg
from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError, connections, models, transaction

from tenants import people_checks, people_sql
from tenants.billing.operations import frozen_grant_problems
from tenants.dbroles import RUNTIME_LIMITED_TABLES
from tenants.scoping import TenantForeignKey
from tenants.table_checks import fetchall, is_clinic_scoped, table_problems


def protected_models() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if getattr(model, "rls_kind", None) and not model._meta.proxy
    ]


# --- static checks (no database) ------------------------------------------------------------


@register()
def check_foreign_keys(app_configs=None, **kwargs):
    """A plain ForeignKey between clinic-owned models would lack the same-clinic constraint."""
    errors = []
    for model in protected_models():
        for field in model._meta.fields:
            if not field.is_relation or field.name == "tenant" or not field.related_model:
                continue
            target = field.related_model
            if not is_clinic_scoped(target) or isinstance(field, TenantForeignKey):
                continue
            # A catalogue's shared rows live in a reference table (SharedCatalogModel), which
            # a plain ForeignKey may reference; its clinic rows are referenced like any.
            errors.append(
                Error(
                    f"{model._meta.label}.{field.name} references clinic-owned "
                    f"{target._meta.label} with a plain ForeignKey.",
                    hint="Use tenants.scoping.TenantForeignKey and add AddTenantForeignKey to "
                    "the migration.",
                    obj=field,
                    id="tenants.E001",
                )
            )
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through
            if is_clinic_scoped(field.related_model) and not is_clinic_scoped(through):
                errors.append(
                    Error(
                        f"{model._meta.label}.{field.name} links clinic-owned rows through "
                        f"{through._meta.label}, which has no tenant_id.",
                        hint="Declare an explicit through model that subclasses "
                        "TenantOwnedModel with TenantForeignKeys.",
                        obj=field,
                        id="tenants.E004",
                    )
                )
    return errors


# --- database inspection ----------------------------------------------------------------------


def _runtime_role_problems(cursor, role: str, tables: list[str]) -> list[str]:
    rows = fetchall(
        cursor, "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", [role]
    )
    if not rows:
        return [f"runtime role {role} does not exist (run manage.py setup_db)"]
    problems = []
    superuser, bypass = rows[0]
    if superuser:
        problems.append(f"runtime role {role} is a superuser: row-level security does not apply")
    if bypass:
        problems.append(f"runtime role {role} has BYPASSRLS")
    existing = [t for t in tables if fetchall(cursor, "SELECT to_regclass(%s)", [f'"{t}"'])[0][0]]
    for table, owner in fetchall(
        cursor,
        "SELECT c.relname, c.relowner::regrole::text FROM pg_class c "
        "WHERE c.oid = ANY(%s::regclass[])",
        [[f'"{t}"' for t in existing]],
    ):
        if owner == role:
            problems.append(f"runtime role {role} owns {table}: owners can lift row-level security")
        elif fetchall(cursor, "SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])[0][0]:
            problems.append(f"runtime role {role} is a member of {owner}, which owns {table}")
    return problems


def _schema_problems(cursor, protected_tables: set[str]) -> list[str]:
    problems = []
    for (table,) in fetchall(
        cursor,
        "SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') "
        "AND a.attname = 'tenant_id' AND NOT a.attisdropped ORDER BY 1",
    ):
        if table not in protected_tables:
            problems.append(f"{table}: has tenant_id but no model declares its row-level security")
    for name, kind, options in fetchall(
        cursor,
        "SELECT relname, relkind, reloptions FROM pg_class WHERE relkind IN ('v', 'm') "
        "AND relnamespace = current_schema()::regnamespace",
    ):
        if kind == "m":
            problems.append(f"{name}: materialised views carry no row-level security")
        elif "security_invoker=true" not in (options or []):
            problems.append(f"{name}: view without security_invoker=true runs as its owner")
    for (name,) in fetchall(
        cursor,
        "SELECT proname FROM pg_proc WHERE prosecdef "
        "AND pronamespace = current_schema()::regnamespace",
    ):
        if name in people_sql.all_definer_functions():
            # The credentials functions expose no clinic rows; their exact bodies, owner and
            # grants are verified by people_checks.people_problems().
            continue
        problems.append(f"{name}(): SECURITY DEFINER function runs as its owner")
    return problems


def _limited_grant_problems(cursor, role: str) -> list[str]:
    """Tables where the runtime role must have exactly the grants tenants.dbroles lists (the
    e-mail outbox: append and read its progress, never a recipient or a message)."""

    problems = []
    for table, spec in RUNTIME_LIMITED_TABLES.items():
        if fetchall(cursor, "SELECT to_regclass(%s)", [f'"{table}"'])[0][0] is None:
            continue
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES"):
            has = fetchall(
                cursor, "SELECT has_table_privilege(%s, %s, %s)", [role, f'"{table}"', privilege]
            )[0][0]
            if has != (privilege in spec["privileges"]):
                problems.append(
                    f"{table}: runtime role {role} {'has' if has else 'lacks'} {privilege} "
                    f"(expected only {', '.join(spec['privileges'])} on the table)"
                )
        for (column,) in fetchall(
            cursor,
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [f'"{table}"'],
        ):
            readable = fetchall(
                cursor,
                "SELECT has_column_privilege(%s, %s, %s, 'SELECT')",
                [role, f'"{table}"', column],
            )[0][0]
            if readable != (column in spec["select_columns"]):
                problems.append(
                    f"{table}.{column}: runtime role {role} "
                    f"{'can' if readable else 'cannot'} read it "
                    f"(readable: {', '.join(spec['select_columns'])})"
                )
    return problems


def inspect_database(alias: str = "default", *, missing_ok: bool = False) -> list[str]:
    """Every way the live database departs from the tenancy invariants (empty: all good)."""
    connection = connections[alias]
    models_ = protected_models()
    tables = [m._meta.db_table for m in models_]
    counter = itertools.count(1)
    problems: list[str] = []
    # Everything runs in one transaction that is always rolled back (the probe tables).
    with transaction.atomic(using=alias):
        with connection.cursor() as cursor:
            for model in models_:
                problems += table_problems(cursor, model, counter, missing_ok=missing_ok)
            problems += _schema_problems(cursor, set(tables))
            problems += _runtime_role_problems(
                cursor, settings.DATABASES["default"]["USER"], tables
            )
            problems += _limited_grant_problems(cursor, settings.DATABASES["default"]["USER"])
            problems += frozen_grant_problems(
                cursor,
                runtime=settings.DATABASES["default"]["USER"],
                platform=settings.DATABASES["platform"]["USER"],
            )
            problems += _people_problems(cursor)
        transaction.set_rollback(True, using=alias)
    return problems


def _people_problems(cursor) -> list[str]:
    # What the runtime role may not do to people, tokens and failed logins (issue 12, item 5).
    return people_checks.people_problems(
        cursor,
        runtime=settings.DATABASES["default"]["USER"],
        platform=settings.DATABASES["platform"]["USER"],
    )


def runtime_role_problems(alias: str = "default") -> list[str]:
    tables = [m._meta.db_table for m in protected_models()]
    with connections[alias].cursor() as cursor:
        problems = _runtime_role_problems(cursor, settings.DATABASES[alias]["USER"], tables)
        return problems + _people_problems(cursor)


def _credentials_key_installed(alias: str) -> bool:
    # The key travels as a bound parameter of a server-side prepared statement (psycopg's
    # plain cursor), as in accounts.credentials, so it never shows in pg_stat_activity.
    connection = connections[alias]
    key = people_sql.credentials_key(settings.SECRET_KEY)
    try:
        with transaction.atomic(using=alias):
            connection.ensure_connection()
            with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cur:
                cur.execute("SELECT clinic_credentials_check(%s)", [key])
    except DatabaseError:
        return False
    return True


def credentials_key_problems(alias: str = "default") -> list[str]:
    """The credentials functions refuse a key the database does not know: after SECRET_KEY
    changed, logins would fail until `migrate` stores the new key's digest."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT to_regprocedure('clinic_credentials_check(text)')")
        if cursor.fetchone()[0] is None:
            return []
    if _credentials_key_installed(alias):
        return []
    return ["the database does not know this SECRET_KEY's credentials key: run manage.py migrate"]


# --- system checks ----------------------------------------------------------------------------


@register()
def check_runtime_role(app_configs=None, **kwargs):
    """Refuse to start when the application's own connection could bypass row-level security."""
    try:
        problems = runtime_role_problems()
    except DatabaseError as exc:
        return [
            Warning(
                f"Could not verify the runtime database role: {str(exc).strip()}",
                id="tenants.W001",
            )
        ]
    # The credentials key is checked when a server starts (assert_runtime_role_safe), not
    # here: `migrate` runs these checks, and it is what installs the key.
    return [Error(problem, id="tenants.E002") for problem in problems]


@register(Tags.database)
def check_row_level_security(app_configs=None, databases=None, **kwargs):
    if not databases:
        return []
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connections["owner"])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            # `migrate` verifies again once it has applied them (tenants' migrate command).
            return []
        problems = inspect_database("default", missing_ok=True)
    except DatabaseError as exc:
        return [Warning(f"Could not inspect row-level security: {exc}", id="tenants.W002")]
    return [Error(problem, id="tenants.E003") for problem in problems]


def assert_runtime_role_safe() -> None:
    """Called by wsgi.py and asgi.py: a server that could bypass RLS must not start."""
    import logging

    from django.core.exceptions import ImproperlyConfigured

    try:
        problems = runtime_role_problems() + credentials_key_problems()
    except DatabaseError as exc:
        # The database may come up after the server; /healthz reports it meanwhile.
        logging.getLogger(__name__).warning("Could not verify the runtime role yet: %s", exc)
        return
    finally:
        # Do not hand a connection opened at import time to forked workers.
        connections["default"].close()
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start: " + "; ".join(problems) + ". Run manage.py check_rls."
        )
