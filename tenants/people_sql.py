"""What the runtime role may not do to people, and the narrow paths it has instead.

The credentials key (a secret derived from SECRET_KEY; the database keeps its digest), the
key-checked SECURITY DEFINER functions and triggers that guard password hashes, admin flags,
failed-login records and the by-e-mail look-up of a person, the SQL that installs them, and
the checks that they are in place (check_rls and the start-up check). The roles themselves
are tenants.dbroles'.
"""

from __future__ import annotations

#
# Issue 12, item 5. A foothold in the runtime role (SQL injection, say) must not turn into a
# platform operator, into every member's tokens, or into password hashes. The runtime role keeps
# its ordinary privileges on `accounts_user`, but:
#
# * password hashes live in `accounts_password`, on which it has no privilege at all; the
#   application reads and writes them through SECURITY DEFINER functions that first check the
#   application's *credentials key*, a secret derived from SECRET_KEY that the database stores
#   only as a digest, in a table the runtime role cannot read either. Knowing the runtime
#   role's SQL is not enough to call them; running the application's code is;
# * `is_staff` and `is_superuser` change only through such a function, or as a role that
#   bypasses row-level security (the platform role): a trigger refuses anything else, whatever
#   the column privileges;
# * it may not DELETE or TRUNCATE django-axes' failed-login records (a function resets them
#   after a successful login, with the same key);
# * refresh tokens are stored as a digest (a trigger rewrites whatever is written), and
#   sessions by a digest of their key (accounts.sessions).
#
# `people_sql()` is run by the accounts migration and `install_credentials_key()` by every
# `migrate` (tenants' command), so a changed SECRET_KEY is picked up at the next deployment;
# `people_problems()` is what check_rls and the start-up check verify.

CREDENTIALS_KEY_TABLE = "clinic_credentials_key"
PASSWORD_TABLE = "accounts_password"
USER_TABLE = "accounts_user"
TOKEN_TABLE = "token_blacklist_outstandingtoken"
AXES_ATTEMPT_TABLE = "axes_accessattempt"
_KEY_CONTEXT = b"clinic-saas: database credentials key, v1"
DIGEST_PREFIX = "sha256:"


def credentials_key(secret_key: str) -> str:
    """The secret the application proves it holds when it touches credentials in SQL."""
    import hmac

    return hmac.new(secret_key.encode(), _KEY_CONTEXT, "sha256").hexdigest()


def credentials_key_digest(secret_key: str) -> str:
    import hashlib

    return hashlib.sha256(credentials_key(secret_key).encode()).hexdigest()


_CHECK_KEY = "PERFORM clinic_credentials_check(p_key);"

# name -> (arguments, return type, volatility, body). SECURITY DEFINER, owned by the owner
# role, `search_path` pinned, EXECUTE revoked from PUBLIC. check_rls compares each body with
# this text, so a changed function is reported like a changed policy.
DEFINER_FUNCTIONS: dict[str, tuple[str, str, str, str]] = {
    "clinic_credentials_check": (
        "p_key text",
        "void",
        "STABLE",
        "BEGIN IF p_key IS NULL OR NOT EXISTS (SELECT 1 FROM clinic_credentials_key k "
        "WHERE k.digest = encode(sha256(convert_to(p_key, 'UTF8')), 'hex')) THEN "
        "RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
        "MESSAGE = 'this needs the application''s credentials key'; END IF; END",
    ),
    "clinic_password_hash": (
        "p_key text, p_user uuid",
        "text",
        "STABLE",
        f"BEGIN {_CHECK_KEY} "
        "RETURN (SELECT p.password FROM accounts_password p WHERE p.user_id = p_user); END",
    ),
    "clinic_password_set": (
        "p_key text, p_user uuid, p_hash text",
        "void",
        "VOLATILE",
        f"BEGIN {_CHECK_KEY} "
        "INSERT INTO accounts_password (user_id, password) VALUES (p_user, p_hash) "
        "ON CONFLICT (user_id) DO UPDATE SET password = EXCLUDED.password; END",
    ),
    "clinic_user_flags_set": (
        "p_key text, p_user uuid, p_is_staff boolean, p_is_superuser boolean",
        "void",
        "VOLATILE",
        f"BEGIN {_CHECK_KEY} "
        "UPDATE accounts_user SET is_staff = p_is_staff, is_superuser = p_is_superuser "
        "WHERE id = p_user; END",
    ),
    "clinic_axes_reset": (
        "p_key text, p_username text, p_ip_address text",
        "integer",
        "VOLATILE",
        f"DECLARE n integer; BEGIN {_CHECK_KEY} "
        "IF p_username IS NULL AND p_ip_address IS NULL THEN RETURN 0; END IF; "
        "DELETE FROM axes_accessattemptexpiration e USING axes_accessattempt a "
        "WHERE e.access_attempt_id = a.id "
        "AND (p_username IS NULL OR a.username = p_username) "
        "AND (p_ip_address IS NULL OR a.ip_address = p_ip_address::inet); "
        "DELETE FROM axes_accessattempt a WHERE (p_username IS NULL OR a.username = p_username) "
        "AND (p_ip_address IS NULL OR a.ip_address = p_ip_address::inet); "
        "GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END",
    ),
    "clinic_axes_expire": (
        "p_key text, p_before timestamptz",
        "integer",
        "VOLATILE",
        f"DECLARE n integer; BEGIN {_CHECK_KEY} "
        "DELETE FROM axes_accessattemptexpiration e USING axes_accessattempt a "
        "WHERE e.access_attempt_id = a.id AND a.attempt_time <= p_before; "
        "DELETE FROM axes_accessattempt a WHERE a.attempt_time <= p_before; "
        "GET DIAGNOSTICS n = ROW_COUNT; RETURN n; END",
    ),
}

# People under row-level security (issue 12, item 5; accounts/migrations/0007_people_rls.py).
# `accounts_user` is filtered for everybody, its owner included (FORCE), so the functions that
# must find a person nobody is acting as yet (login, password reset and sign-up look a person
# up by e-mail) or change another person's admin flags (an operator granting access) raise
# `app.people_lookup` for the one statement that needs it and put it back: the people policy
# lets the table's owner through only with that flag (tenants.rls.PEOPLE_LOOKUP_FLAG), and
# the runtime role, which can set the flag too, is never the owner. (A `SET` clause on the
# function would be tidier, but PostgreSQL lets only a superuser attach a custom setting to
# a function.) The by-e-mail function answers one id for one exact, case-insensitive address:
# `=` has no wildcards and nothing returns a list, so it cannot enumerate people; the row
# itself is then read in that person's own context (accounts.selectors.person_by_email).
_LOOKUP_ON = (
    "prev := current_setting('app.people_lookup', true); "
    "PERFORM set_config('app.people_lookup', 'on', true);"
)
_LOOKUP_OFF = "PERFORM set_config('app.people_lookup', coalesce(prev, ''), true);"
PEOPLE_FUNCTIONS: dict[str, tuple[str, str, str, str]] = {
    "clinic_person_by_email": (
        "p_key text, p_email text",
        "uuid",
        "VOLATILE",
        f"DECLARE prev text; found uuid; BEGIN {_CHECK_KEY} "
        "IF p_email IS NULL OR p_email = '' THEN RETURN NULL; END IF; "
        f"{_LOOKUP_ON} "
        "found := (SELECT u.id FROM accounts_user u WHERE lower(u.email) = lower(p_email)); "
        f"{_LOOKUP_OFF} RETURN found; END",
    ),
    # Replaces the version of accounts/0006: the same update, which now needs the flag.
    "clinic_user_flags_set": (
        "p_key text, p_user uuid, p_is_staff boolean, p_is_superuser boolean",
        "void",
        "VOLATILE",
        f"DECLARE prev text; BEGIN {_CHECK_KEY} {_LOOKUP_ON} "
        "UPDATE accounts_user SET is_staff = p_is_staff, is_superuser = p_is_superuser "
        f"WHERE id = p_user; {_LOOKUP_OFF} END",
    ),
}
# The migration that put people under row-level security: the checks expect the functions
# above only once it is applied (before that, `migrate` must still be able to run).
PEOPLE_RLS_MIGRATION = ("accounts", "0007_people_rls")

# SECURITY INVOKER functions: name -> (arguments, return type, volatility and other attributes,
# body), owned by the owner role, `search_path` pinned, EXECUTE revoked from PUBLIC and granted
# to the runtime role (and, where INVOKER_GRANTS says so, the platform role). As invokers they
# read under the caller's own row-level security, so one can never answer more than the caller
# could read with the same SELECT. Their plans are cached per session (plpgsql), which is the
# point: each replaces a statement whose policies were rewritten and planned again every time.
#
# * clinic_member_ids() (accounts/0010), called by the people policy: the members of the clinic
#   in context; outside a clinic's context an empty array. It replaced a sub-select on
#   memberships in the policy.
# * clinic_membership_check(clinic, person) (accounts/0012): the per-request membership check
#   behind invariant 7 (accounts.selectors.membership_for_token): the person's active
#   membership in that clinic with the person and the clinic, as three whole rows, or no row.
#   It reads three tables under row-level security (about 10 policy sub-selects) in one
#   statement that every API request sends; as a statement its policies cost more to plan than
#   it costs to run (1.4-1.6x its time without row-level security, issue 17). The generic plan
#   is forced because a custom plan per call would plan the policies again, and the statement
#   only looks keys up by equality, so one plan is the right plan for every clinic.
INVOKER_FUNCTIONS: dict[str, tuple[str, str, str, str]] = {
    "clinic_member_ids": (
        "",
        "uuid[]",
        "STABLE",
        "BEGIN RETURN ARRAY(SELECT m.user_id FROM accounts_membership m "
        "WHERE m.tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::uuid); END",
    ),
    "clinic_membership_check": (
        "p_tenant uuid, p_user uuid",
        "TABLE (membership accounts_membership, person accounts_user, clinic tenants_tenant)",
        "STABLE SET plan_cache_mode = force_generic_plan",
        "BEGIN RETURN QUERY SELECT m, u, t FROM accounts_membership m "
        "JOIN accounts_user u ON u.id = m.user_id JOIN tenants_tenant t ON t.id = m.tenant_id "
        "WHERE m.tenant_id = p_tenant AND m.user_id = p_user AND m.is_active AND u.is_active "
        "AND t.status <> 'cancelled'; END",
    ),
}
# The migration that installs the people policy calling clinic_member_ids().
PEOPLE_POLICY_MIGRATION = ("accounts", "0010_people_policy_cached")
MEMBERSHIP_CHECK_MIGRATION = ("accounts", "0012_membership_check_function")
# Which migration installs each invoker function: the checks expect one only once it is applied.
INVOKER_MIGRATIONS = {
    "clinic_member_ids": PEOPLE_POLICY_MIGRATION,
    "clinic_membership_check": MEMBERSHIP_CHECK_MIGRATION,
}
# Invoker functions the platform role may execute as well: the benchmarks' baseline runs the
# membership check as the platform role (row-level security off). It gains nothing by it: it
# reads every clinic anyway.
INVOKER_GRANTS = {"clinic_membership_check": ("runtime", "platform")}


def all_definer_functions() -> dict[str, tuple[str, str, str, str]]:
    return {**DEFINER_FUNCTIONS, **PEOPLE_FUNCTIONS}


# Trigger functions (SECURITY INVOKER): name -> body.
TRIGGER_FUNCTIONS: dict[str, str] = {
    # Admin access is granted by the platform role (BYPASSRLS), by the table's owner (the
    # SECURITY DEFINER functions above run as the owner, migrations too), and nobody else.
    "clinic_user_flags_guard": (
        "BEGIN IF (TG_OP = 'INSERT' AND (NEW.is_staff OR NEW.is_superuser)) OR "
        "(TG_OP = 'UPDATE' AND (NEW.is_staff IS DISTINCT FROM OLD.is_staff "
        "OR NEW.is_superuser IS DISTINCT FROM OLD.is_superuser)) THEN "
        "IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = current_user AND "
        "(r.rolbypassrls OR r.oid = (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID))) "
        "THEN RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
        "MESSAGE = 'is_staff and is_superuser change only through the platform role'; "
        "END IF; END IF; RETURN NEW; END"
    ),
    # Whatever writes an outstanding refresh token (simplejwt's for_user and blacklist()),
    # the table keeps only its digest: reading it gives nothing that authenticates.
    "clinic_token_digest": (
        "BEGIN IF NEW.token IS NOT NULL AND NEW.token NOT LIKE 'sha256:%' THEN "
        "NEW.token := 'sha256:' || encode(sha256(convert_to(NEW.token, 'UTF8')), 'hex'); "
        "END IF; RETURN NEW; END"
    ),
}

# table -> (trigger name, timing and events, function)
TRIGGERS: dict[str, tuple[str, str, str]] = {
    USER_TABLE: ("accounts_user_flags_guard", "BEFORE INSERT OR UPDATE", "clinic_user_flags_guard"),
    TOKEN_TABLE: (
        "token_blacklist_outstandingtoken_digest",
        "BEFORE INSERT OR UPDATE",
        "clinic_token_digest",
    ),
}

_SEARCH_PATH = "SET search_path = pg_catalog, public"


def _definer_sql(name: str, functions: dict | None = None) -> str:
    args, returns, volatility, body = (functions or DEFINER_FUNCTIONS)[name]
    return (
        f"CREATE OR REPLACE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE plpgsql "
        f"{volatility} SECURITY DEFINER {_SEARCH_PATH} AS $fn${body}$fn$"
    )


def function_signature(name: str) -> str:
    args = {**all_definer_functions(), **INVOKER_FUNCTIONS}[name][0]
    if not args:
        return f"{name}()"
    return f"{name}({', '.join(a.split()[1] for a in args.split(', '))})"


def member_functions_sql(*, names, runtime: str, platform: str | None = None) -> list[str]:
    """These functions of INVOKER_FUNCTIONS (idempotent; run as the owner)."""
    statements = []
    for name in names:
        args, returns, attributes, body = INVOKER_FUNCTIONS[name]
        roles = {"runtime": runtime, "platform": platform}
        grantees = [roles[r] for r in INVOKER_GRANTS.get(name, ("runtime",)) if roles[r]]
        statements += [
            f"CREATE OR REPLACE FUNCTION {name}({args}) RETURNS {returns} LANGUAGE plpgsql "
            f"{attributes} SECURITY INVOKER {_SEARCH_PATH} AS $fn${body}$fn$",
            f"REVOKE ALL ON FUNCTION {function_signature(name)} FROM PUBLIC",
            *(
                f"GRANT EXECUTE ON FUNCTION {function_signature(name)} TO {sql_identifier(grantee)}"
                for grantee in grantees
            ),
        ]
    return statements


def drop_member_functions_sql(*, names) -> list[str]:
    return [f"DROP FUNCTION IF EXISTS {function_signature(name)}" for name in names]


def people_rls_sql(*, runtime: str, platform: str) -> list[str]:
    """The functions people's row-level security needs (idempotent; run as the owner): the
    by-e-mail look-up, and the flags function again, now raising the look-up flag."""
    q = sql_identifier
    both = f"{q(runtime)}, {q(platform)}"
    statements = []
    for name in PEOPLE_FUNCTIONS:
        statements.append(_definer_sql(name, PEOPLE_FUNCTIONS))
        statements.append(f"REVOKE ALL ON FUNCTION {function_signature(name)} FROM PUBLIC")
        statements.append(f"GRANT EXECUTE ON FUNCTION {function_signature(name)} TO {both}")
    return statements


def _trigger_function_sql(name: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
        f"SECURITY INVOKER {_SEARCH_PATH} AS $fn${TRIGGER_FUNCTIONS[name]}$fn$"
    )


def people_sql(*, runtime: str, platform: str) -> list[str]:
    """The statements that put the rules above in place (idempotent; run as the owner)."""
    q = sql_identifier
    both = f"{q(runtime)}, {q(platform)}"
    statements = [
        f"CREATE TABLE IF NOT EXISTS {CREDENTIALS_KEY_TABLE} ("
        "id boolean PRIMARY KEY DEFAULT true CHECK (id), digest text NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {PASSWORD_TABLE} ("
        f"user_id uuid PRIMARY KEY REFERENCES {USER_TABLE} (id) ON DELETE CASCADE, "
        "password varchar(128) NOT NULL)",
        # The owner's default privileges granted DML on these new tables: take all of it back.
        # The platform role keeps SELECT: backups (pg_dump) run as it and must carry the
        # hashes; it is a separate login that no runtime SQL can reach.
        f"REVOKE ALL ON {CREDENTIALS_KEY_TABLE}, {PASSWORD_TABLE} FROM PUBLIC, {both}",
        f"GRANT SELECT ON {CREDENTIALS_KEY_TABLE}, {PASSWORD_TABLE} TO {q(platform)}",
        f"REVOKE DELETE, TRUNCATE ON {AXES_ATTEMPT_TABLE} FROM {q(runtime)}",
    ]
    for name in DEFINER_FUNCTIONS:
        statements.append(_definer_sql(name))
        statements.append(f"REVOKE ALL ON FUNCTION {function_signature(name)} FROM PUBLIC")
        statements.append(f"GRANT EXECUTE ON FUNCTION {function_signature(name)} TO {both}")
    for name in TRIGGER_FUNCTIONS:
        statements.append(_trigger_function_sql(name))
    for table, (trigger, events, function) in TRIGGERS.items():
        statements.append(f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table}"')
        statements.append(
            f'CREATE TRIGGER "{trigger}" {events} ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    return statements


def sql_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def install_credentials_key(cursor, secret_key: str) -> bool:
    """Store the digest of this SECRET_KEY's credentials key (as the owner role). Returns
    False when the table does not exist yet (before the migration that creates it)."""
    cursor.execute("SELECT to_regclass(%s)", [CREDENTIALS_KEY_TABLE])
    if cursor.fetchone()[0] is None:
        return False
    cursor.execute(
        f"INSERT INTO {CREDENTIALS_KEY_TABLE} (id, digest) VALUES (true, %s) "
        "ON CONFLICT (id) DO UPDATE SET digest = EXCLUDED.digest",
        [credentials_key_digest(secret_key)],
    )
    return True
