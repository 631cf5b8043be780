"""The people layer's database objects as the checks see them: every way the live database
departs from what tenants.people_sql installs (the credentials tables' privileges, the
SECURITY DEFINER and INVOKER functions' text, security, owner and grants, the triggers, and
people's row-level security). check_rls and the start-up check (tenants.checks) report them.
"""

from __future__ import annotations

from tenants.people_sql import (
    AXES_ATTEMPT_TABLE,
    CREDENTIALS_KEY_TABLE,
    DEFINER_FUNCTIONS,
    INVOKER_FUNCTIONS,
    INVOKER_MIGRATIONS,
    PASSWORD_TABLE,
    PEOPLE_FUNCTIONS,
    PEOPLE_POLICY_MIGRATION,
    PEOPLE_RLS_MIGRATION,
    TRIGGER_FUNCTIONS,
    TRIGGERS,
    USER_TABLE,
    all_definer_functions,
    function_signature,
)

_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"


def people_problems(cursor, *, runtime: str, platform: str) -> list[str]:
    """Every way the live database departs from the rules above (empty: all good). Before the
    migration that installs them has run, there is nothing to check yet."""

    def one(query, params=None):
        cursor.execute(query, params)
        return cursor.fetchone()

    if one("SELECT to_regclass(%s)", [PASSWORD_TABLE])[0] is None:
        # Not migrated that far (a fresh database, or one migrated back on purpose).
        return []
    problems = []
    if one(
        "SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'password' "
        "AND NOT attisdropped",
        [USER_TABLE],
    ):
        problems.append(f"{USER_TABLE}.password holds hashes the runtime role can read")
    for role, allowed in ((runtime, ()), (platform, ("SELECT",))):
        for table in (PASSWORD_TABLE, CREDENTIALS_KEY_TABLE):
            for privilege in _PRIVILEGES.split(", "):
                if privilege in allowed:
                    continue
                if one("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])[0]:
                    problems.append(f"role {role} has {privilege} on {table}")
    for privilege in ("DELETE", "TRUNCATE"):
        if one(
            "SELECT to_regclass(%s) IS NOT NULL AND has_table_privilege(%s, %s, %s)",
            [AXES_ATTEMPT_TABLE, runtime, AXES_ATTEMPT_TABLE, privilege],
        )[0]:
            problems.append(f"runtime role {runtime} may {privilege} {AXES_ATTEMPT_TABLE}")
    people_rls = people_rls_applied(cursor)
    definers = all_definer_functions() if people_rls else DEFINER_FUNCTIONS
    invokers = {
        name: spec
        for name, spec in INVOKER_FUNCTIONS.items()
        if migration_applied(cursor, INVOKER_MIGRATIONS[name])
    }
    names = list(definers) + list(invokers) + list(TRIGGER_FUNCTIONS)
    cursor.execute(
        "SELECT p.proname, p.prosrc, p.prosecdef, p.proconfig, p.proowner::regrole::text, "
        "has_function_privilege('public', p.oid, 'EXECUTE'), p.provolatile FROM pg_proc p "
        "WHERE p.pronamespace = current_schema()::regnamespace AND p.proname = ANY(%s)",
        [names],
    )
    found = {row[0]: row[1:] for row in cursor.fetchall()}
    table_owner = one(
        "SELECT relowner::regrole::text FROM pg_class WHERE oid = %s::regclass", [USER_TABLE]
    )[0]
    if people_rls:
        problems += _people_rls_problems(cursor, runtime=runtime, platform=platform)
    for name in invokers:
        if name in found and found[name][5] != "s":
            problems.append(f"{name}(): not STABLE")
        if (
            name in found
            and not one(
                "SELECT has_function_privilege(%s, %s, 'EXECUTE')",
                [runtime, function_signature(name)],
            )[0]
        ):
            problems.append(f"{name}(): role {runtime} may not execute it")
    for name in names:
        if name not in found:
            problems.append(f"{name}(): missing")
            continue
        source, definer, config, owner, public, _volatility = found[name]
        expected_definer = name in definers
        if expected_definer:
            expected_source = definers[name][3]
        elif name in invokers:
            expected_source = invokers[name][3]
        else:
            expected_source = TRIGGER_FUNCTIONS[name]

        if source != expected_source:
            problems.append(f"{name}(): its body differs from tenants.dbroles")
        if definer != expected_definer:
            problems.append(f"{name}(): SECURITY {'DEFINER' if definer else 'INVOKER'}")
        if not any(str(item).startswith("search_path=") for item in config or []):
            problems.append(f"{name}(): search_path is not pinned")
        if owner != table_owner:
            problems.append(f"{name}(): owned by {owner}, not by {table_owner}")
        if (expected_definer or name in invokers) and public:
            problems.append(f"{name}(): PUBLIC may execute it")
    for table, (trigger, _events, function) in TRIGGERS.items():
        row = one(
            "SELECT t.tgenabled, p.proname FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = to_regclass(%s) AND t.tgname = %s",
            [table, trigger],
        )
        if row is None or row[0] == "D" or row[1] != function:
            problems.append(f"{table}: trigger {trigger} is missing or disabled")
    return problems


def people_rls_applied(cursor) -> bool:
    """Whether the migration that put people under row-level security has been applied."""
    return migration_applied(cursor, PEOPLE_RLS_MIGRATION)


def people_policy_cached_applied(cursor) -> bool:
    """Whether accounts/0010 (the people policy through clinic_member_ids()) is applied."""
    return migration_applied(cursor, PEOPLE_POLICY_MIGRATION)


def migration_applied(cursor, migration: tuple[str, str]) -> bool:
    cursor.execute(
        "SELECT to_regclass('django_migrations') IS NOT NULL AND EXISTS (SELECT 1 FROM "
        "django_migrations WHERE app = %s AND name = %s)",
        list(migration),
    )
    return bool(cursor.fetchone()[0])


def _people_rls_problems(cursor, *, runtime: str, platform: str) -> list[str]:
    """People's row-level security as the start-up check sees it: enabled and forced, its
    policies present (check_rls compares their text as well), and the by-e-mail function
    executable by the application's roles only."""
    from tenants import rls

    problems = []
    cursor.execute(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
        [USER_TABLE],
    )
    enabled, forced = cursor.fetchone()
    if not enabled:
        problems.append(f"{USER_TABLE}: row-level security is not enabled")
    if not forced:
        problems.append(f"{USER_TABLE}: row-level security is not forced (the owner bypasses it)")
    cursor.execute(
        "SELECT policyname FROM pg_policies WHERE schemaname = current_schema() AND tablename = %s",
        [USER_TABLE],
    )
    present = {row[0] for row in cursor.fetchall()}
    for policy in rls.policies_for("people"):
        if policy.name not in present:
            problems.append(f"{USER_TABLE}: policy {policy.name} is missing")
    for name in PEOPLE_FUNCTIONS:
        cursor.execute("SELECT to_regprocedure(%s)", [function_signature(name)])
        if cursor.fetchone()[0] is None:
            continue  # reported as missing with the others
        for role in (runtime, platform):
            cursor.execute(
                "SELECT has_function_privilege(%s, %s, 'EXECUTE')", [role, function_signature(name)]
            )
            if not cursor.fetchone()[0]:
                problems.append(f"{name}(): role {role} may not execute it")
    return problems
