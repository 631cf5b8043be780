"""The three database roles and the per-database grants, created idempotently.

Invariant 5 of the design: the application's runtime role cannot bypass row-level security.
It is not a superuser, has NOBYPASSRLS, owns nothing and is not a member of the owner role.
Migrations run as a separate owner role; cross-clinic work runs as a platform role with
BYPASSRLS, reachable only through its own database alias (see `tenants.platform`).

This module only needs psycopg, so the embedded-server bootstrap can use it before Django is
configured. `manage.py setup_db` calls the same functions for an external server.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

DEFAULT_DATABASE = "clinic_saas"
OWNER_ROLE = "clinic_owner"
RUNTIME_ROLE = "clinic_app"
PLATFORM_ROLE = "clinic_platform"

# The runtime role answers web requests: a stuck statement or an idle open transaction must
# not hold locks for long. The platform role runs exports and purges, so it may run longer.
RUNTIME_ROLE_SETTINGS = {
    "statement_timeout": "30s",
    "lock_timeout": "10s",
    "idle_in_transaction_session_timeout": "5min",
}
PLATFORM_ROLE_SETTINGS = {
    "statement_timeout": "15min",
    "lock_timeout": "30s",
    "idle_in_transaction_session_timeout": "30min",
}

# Tables where the runtime role gets less than the default DML grants (ensure_database): the
# privileges it keeps on the whole table and the only columns it may read. Applied by the
# migration that creates each table (tenants.operations.LimitRuntimeGrants) and verified by
# check_rls (tenants.checks), so drift is caught. The e-mail outbox: queue e-mails and read
# the backlog, never a recipient or a message (tenants.outbox).
RUNTIME_LIMITED_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "tenants_outboxemail": {
        "privileges": ("INSERT",),
        "select_columns": ("status", "created_at", "next_attempt_at"),
    },
}


def limited_grants_sql(table: str, runtime_role: str) -> list[sql.Composed]:
    """Statements that leave the runtime role exactly the grants RUNTIME_LIMITED_TABLES says."""
    spec = RUNTIME_LIMITED_TABLES[table]
    target, role = sql.Identifier(table), sql.Identifier(runtime_role)
    statements = [sql.SQL("REVOKE ALL ON {} FROM {}").format(target, role)]
    statements.append(
        sql.SQL("GRANT {} ON {} TO {}").format(
            sql.SQL(", ").join(sql.SQL(p) for p in spec["privileges"]), target, role
        )
    )
    statements.append(
        sql.SQL("GRANT SELECT ({}) ON {} TO {}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in spec["select_columns"]), target, role
        )
    )
    return statements


@dataclass(frozen=True)
class Role:
    name: str
    password: str | None = None


@dataclass(frozen=True)
class RoleSpec:
    database: str
    owner: Role
    runtime: Role
    platform: Role

    @classmethod
    def embedded(cls, database: str = DEFAULT_DATABASE) -> RoleSpec:
        # The embedded server only listens on a Unix socket inside the checkout, with trust
        # authentication, so its roles need no password.
        return cls(database, Role(OWNER_ROLE), Role(RUNTIME_ROLE), Role(PLATFORM_ROLE))

    @classmethod
    def from_urls(cls, *, runtime_url: str, owner_url: str, platform_url: str) -> RoleSpec:
        runtime, owner, platform = (urlsplit(u) for u in (runtime_url, owner_url, platform_url))
        databases = {u.path.lstrip("/") for u in (runtime, owner, platform)}
        if len(databases) != 1:
            raise ValueError(
                "DATABASE_URL, DATABASE_OWNER_URL and DATABASE_PLATFORM_URL "
                "must name the same database"
            )
        names = [u.username for u in (runtime, owner, platform)]
        if None in names or len(set(names)) != 3:
            raise ValueError("the runtime, owner and platform URLs need three different users")

        def role(u):
            return Role(unquote(u.username), unquote(u.password) if u.password else None)

        return cls(databases.pop(), role(owner), role(runtime), role(platform))


def _ensure_role(cur, role: Role, attributes: str, settings: dict[str, str] | None = None):
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role.name])
    verb = "ALTER" if cur.fetchone() else "CREATE"
    stmt = sql.SQL("{} ROLE {} " + attributes).format(sql.SQL(verb), sql.Identifier(role.name))
    if role.password:
        stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(role.password))
    cur.execute(stmt)
    for name, value in (settings or {}).items():
        cur.execute(
            sql.SQL("ALTER ROLE {} SET {} = {}").format(
                sql.Identifier(role.name), sql.Identifier(name), sql.Literal(value)
            )
        )


def ensure_roles(admin_conninfo: str, spec: RoleSpec) -> None:
    """Create or correct the three roles. Needs a superuser (or CREATEROLE + BYPASSRLS)."""
    with psycopg.connect(admin_conninfo, autocommit=True) as conn, conn.cursor() as cur:
        _ensure_role(cur, spec.owner, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
        _ensure_role(
            cur,
            spec.runtime,
            "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION NOINHERIT",
            RUNTIME_ROLE_SETTINGS,
        )
        _ensure_role(
            cur,
            spec.platform,
            "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE BYPASSRLS NOREPLICATION NOINHERIT",
            PLATFORM_ROLE_SETTINGS,
        )
        # A runtime role that is a member of the owner role could SET ROLE to it and switch
        # row-level security off; take away any such membership.
        for member in (spec.runtime, spec.platform):
            cur.execute(
                "SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                "JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = %s AND u.rolname = %s",
                [spec.owner.name, member.name],
            )
            if cur.fetchone():
                cur.execute(
                    sql.SQL("REVOKE {} FROM {}").format(
                        sql.Identifier(spec.owner.name), sql.Identifier(member.name)
                    )
                )


def ensure_database(admin_conninfo: str, spec: RoleSpec, database: str | None = None) -> bool:
    """Create the database owned by the owner role (if missing) and apply its grants.

    Returns True when the database was created.
    """
    database = database or spec.database
    created = False
    with psycopg.connect(admin_conninfo, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if not cur.fetchone():
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} TEMPLATE template0 ENCODING 'UTF8'").format(
                    sql.Identifier(database), sql.Identifier(spec.owner.name)
                )
            )
            created = True
        else:
            cur.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(database), sql.Identifier(spec.owner.name)
                )
            )
        db = sql.Identifier(database)
        users = sql.SQL(", ").join(sql.Identifier(r.name) for r in (spec.runtime, spec.platform))
        cur.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
        cur.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(db, users))

    db_conninfo = psycopg.conninfo.make_conninfo(admin_conninfo, dbname=database)
    owner = sql.Identifier(spec.owner.name)
    with psycopg.connect(db_conninfo, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(owner))
        cur.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(users))
        # Tables the owner creates later (every migration) get DML grants, never DDL,
        # TRUNCATE or REFERENCES. Per-table exceptions (the append-only audit log) are
        # revoked by the migration that creates the table.
        cur.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}"
            ).format(owner, users)
        )
        cur.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA public "
                "GRANT USAGE, SELECT ON SEQUENCES TO {}"
            ).format(owner, users)
        )
    return created


def drop_database(admin_conninfo: str, database: str) -> None:
    with psycopg.connect(admin_conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database))
        )


def ensure_roles_and_database(admin_conninfo: str, spec: RoleSpec) -> bool:
    ensure_roles(admin_conninfo, spec)
    return ensure_database(admin_conninfo, spec)


def conninfo_from_url(url: str) -> str:
    """Turn a postgres:// URL (as in DATABASE_ADMIN_URL) into a libpq conninfo string."""
    parts = urlsplit(url)
    params = {"dbname": parts.path.lstrip("/") or "postgres"}
    if parts.hostname:
        params["host"] = parts.hostname
    if parts.port:
        params["port"] = str(parts.port)
    if parts.username:
        params["user"] = unquote(parts.username)
    if parts.password:
        params["password"] = unquote(parts.password)
    for item in filter(None, parts.query.split("&")):
        key, _, value = item.partition("=")
        params[key] = unquote(value)
    return psycopg.conninfo.make_conninfo(**params)
