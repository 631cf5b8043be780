"""The live database against one clinic table's model (tenants.checks.inspect_database): row-level
security enabled and forced, exactly the policies of its kind, the clinic in its keys, unique
indexes and foreign keys.

The expected policy text is produced by PostgreSQL itself: the expected policies are created
on a temporary copy of the table inside the caller's transaction, which is rolled back, so the
comparison does not depend on how a server version prints expressions.
"""

from __future__ import annotations

from tenants import people_checks, rls
from tenants.scoping import TenantForeignKey


def is_clinic_scoped(model) -> bool:
    return getattr(model, "rls_kind", None) in ("tenant", "catalog", "membership", "invitation")


def fetchall(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchall()


def _attnums(cursor, table: str) -> dict[str, int]:
    return dict(
        fetchall(
            cursor,
            "SELECT attname, attnum FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped",
            [f'"{table}"'],
        )
    )


def _policies(cursor, table: str, schema_sql: str) -> dict[str, tuple]:
    rows = fetchall(
        cursor,
        "SELECT policyname, permissive, cmd, roles::text[], qual, with_check FROM pg_policies "
        f"WHERE tablename = %s AND schemaname = {schema_sql}",
        [table],
    )
    return {row[0]: row[1:] for row in rows}


def _expected_policies(cursor, table: str, kind: str, counter, extra=()) -> dict[str, tuple]:
    probe = f"_rls_probe_{next(counter)}"
    # The probe's columns come from the catalogue rather than `LIKE`, which needs SELECT on
    # the whole table: the runtime role may read only some columns of the e-mail outbox.
    columns = fetchall(
        cursor,
        "SELECT quote_ident(attname) || ' ' || format_type(atttypid, atttypmod) "
        "FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum",
        [f'"{table}"'],
    )
    cursor.execute(f'CREATE TEMP TABLE "{probe}" ({", ".join(c for (c,) in columns)})')
    owner = None
    if kind == "people":
        # The definer gate names the owner as a literal: expect the table's actual owner, so
        # a gate naming any other role (the runtime role, say) is reported as drift.
        owner = fetchall(
            cursor,
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass",
            [f'"{table}"'],
        )[0][0]
    for policy in [*rls.policies_for(kind, owner=owner), *extra]:
        cursor.execute(policy.create_sql(probe))
    return _policies(cursor, probe, "pg_my_temp_schema()::regnamespace::text")


CLINICS_POLICY_MIGRATION = ("accounts", "0009_clinics_policy_without_subselect")


def _clinics_policy_narrowed(cursor) -> bool:
    cursor.execute(
        "SELECT to_regclass('django_migrations') IS NOT NULL AND EXISTS (SELECT 1 FROM "
        "django_migrations WHERE app = %s AND name = %s)",
        list(CLINICS_POLICY_MIGRATION),
    )
    return bool(cursor.fetchone()[0])


def _describe(policy: tuple) -> str:
    permissive, command, roles, using, check = policy
    text = f"{permissive} FOR {command} TO {','.join(roles)}"
    if using:
        text += f" USING {using}"
    if check:
        text += f" WITH CHECK {check}"
    return text


def table_problems(cursor, model, counter, *, missing_ok: bool) -> list[str]:
    table = model._meta.db_table
    kind = model.rls_kind
    cursor.execute("SELECT to_regclass(%s)", [f'"{table}"'])
    if cursor.fetchone()[0] is None:
        return [] if missing_ok else [f"{table}: table does not exist (run migrate)"]
    if kind == "people" and not people_checks.people_rls_applied(cursor):
        return []  # people were put under row-level security later than their table was made

    problems = []
    enabled, forced, owner = fetchall(
        cursor,
        "SELECT relrowsecurity, relforcerowsecurity, relowner::regrole::text FROM pg_class "
        "WHERE oid = %s::regclass",
        [f'"{table}"'],
    )[0]
    if not enabled:
        problems.append(f"{table}: row-level security is not enabled")
    if not forced:
        problems.append(f"{table}: row-level security is not forced (the owner bypasses it)")

    actual = _policies(cursor, table, "current_schema()")
    # A model may declare restrictive policies of its own beside its kind's (the frozen
    # invoices: tenants.billing.operations.FROZEN_POLICIES); they are expected exactly too.
    extra = getattr(model, "rls_extra_policies", ())
    policy_kind = kind
    if kind == "people" and not people_checks.people_policy_cached_applied(cursor):
        policy_kind = "people_0007"  # migrated to accounts/0007 but not yet to 0010
    expected = _expected_policies(cursor, table, policy_kind, counter, extra)
    if kind == "tenant_root" and actual != expected and not _clinics_policy_narrowed(cursor):
        # Migrated back before accounts/0009, which narrowed the clinics table's policy: the
        # wider set it replaced is what such a database holds (and may hold).
        expected = _expected_policies(
            cursor, table, "tenant_root_with_member_clinics", counter, extra
        )
    for name in sorted(expected.keys() - actual.keys()):
        problems.append(f"{table}: policy {name} is missing")
    for name in sorted(actual.keys() - expected.keys()):
        problems.append(
            f"{table}: unexpected policy {name} ({_describe(actual[name])}); it may widen access"
        )
    for name in sorted(expected.keys() & actual.keys()):
        if actual[name] != expected[name]:
            problems.append(
                f"{table}: policy {name} has drifted: expected {_describe(expected[name])}, "
                f"found {_describe(actual[name])}"
            )
    if not any(row[0] == "RESTRICTIVE" for row in actual.values()):
        problems.append(f"{table}: no RESTRICTIVE policy bounds access")

    attnums = _attnums(cursor, table)
    tenant_col = rls.tenant_column(kind)
    tenant_attnum = attnums.get(tenant_col)

    if is_clinic_scoped(model):
        pair = [attnums.get("tenant_id"), attnums.get("id")]
        rows = fetchall(
            cursor,
            "SELECT 1 FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype IN ('u', 'p') AND conkey = %s::smallint[]",
            [f'"{table}"', pair],
        )
        # Either key serves the composite foreign keys: PRIMARY KEY (tenant_id, id) is the
        # form a table distributed by clinic needs (tenants.operations.ClinicPrimaryKey),
        # UNIQUE (tenant_id, id) beside PRIMARY KEY (id) the form EnableTenantRLS gives.
        if not rows:
            problems.append(
                f"{table}: neither PRIMARY KEY (tenant_id, id) nor UNIQUE (tenant_id, id)"
            )

    # Uniqueness is per clinic (invariant 9): a unique index without tenant_id turns a
    # duplicate-key error into a way of probing another clinic's data.
    for index_name, keys, is_primary in fetchall(
        cursor,
        "SELECT i.indexrelid::regclass::text, i.indkey::smallint[], i.indisprimary "
        "FROM pg_index i WHERE i.indrelid = %s::regclass AND i.indisunique",
        [f'"{table}"'],
    ):
        # Clinics, people and the shared catalogues are global: their e-mail, code or name is
        # unique platform-wide.
        if is_primary or kind in ("tenant_root", "people", "reference"):
            continue
        if tenant_attnum not in keys:
            problems.append(f"{table}: unique index {index_name} does not include {tenant_col}")

    for field in model._meta.fields:
        if isinstance(field, TenantForeignKey):
            target = field.related_model._meta.db_table
            rows = fetchall(
                cursor,
                "SELECT 1 FROM pg_constraint c WHERE c.conrelid = %s::regclass "
                "AND c.contype = 'f' AND c.conkey = %s::smallint[] "
                "AND c.confrelid = %s::regclass AND c.confkey = %s::smallint[]",
                [
                    f'"{table}"',
                    [attnums.get("tenant_id"), attnums.get(field.column)],
                    f'"{target}"',
                    [_attnums(cursor, target).get("tenant_id"), _attnums(cursor, target).get("id")],
                ],
            )
            if not rows:
                problems.append(
                    f"{table}.{field.column}: composite foreign key (tenant_id, {field.column}) "
                    f"→ {target}(tenant_id, id) is missing"
                )
    return problems
