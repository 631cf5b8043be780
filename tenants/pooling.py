"""Start-up checks for connection pooling (PgBouncer in transaction mode, CONN_MAX_AGE).

The tenant context is safe behind a pooler because it only ever travels as `SET LOCAL`
inside the transaction that uses it (tenants.backend). A few settings would quietly break
that, or break the pooler itself, so the application refuses to start with them:

* `server_side_binding` makes psycopg send parameters separately, and PostgreSQL's extended
  protocol takes one statement per message: the context prefix would no longer fit in the
  query's round trip.
* `prepare_threshold` makes psycopg prepare statements on the server connection; behind
  PgBouncer in transaction mode the next transaction may run on another server connection
  where that prepared statement does not exist, or exists with another text.
* Server-side cursors (`.iterator()`) outside a transaction are declared `WITH HOLD` on one
  server connection and read later, possibly from another one behind the pooler: with
  `DB_POOL_MODE=transaction` they must be disabled (`DISABLE_SERVER_SIDE_CURSORS`).
* A clinic set at session level (`ALTER ROLE … SET app.tenant_id`, `-c app.tenant_id` in the
  connection options, or `postgresql.conf`) would be in force for every transaction that
  does not send its own: a fresh connection must start with no clinic at all.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DatabaseError, connections

CONTEXT_SETTINGS = ("app.tenant_id", "app.user_id")


def configuration_problems(databases: dict | None = None) -> list[str]:
    """Problems in the DATABASES settings alone (no connection needed)."""
    databases = settings.DATABASES if databases is None else databases
    pool_mode = getattr(settings, "DB_POOL_MODE", "session")
    problems = []
    for alias, config in databases.items():
        options = config.get("OPTIONS", {})
        if options.get("server_side_binding"):
            problems.append(
                f"DATABASES[{alias!r}] sets server_side_binding: the tenant context must travel "
                "in the same message as the query (tenants.backend), which server-side binding "
                "does not allow."
            )
        if options.get("prepare_threshold") is not None:
            problems.append(
                f"DATABASES[{alias!r}] sets prepare_threshold: prepared statements live on one "
                "server connection and collide behind a pooler in transaction mode."
            )
        connection_options = str(options.get("options", ""))
        if any(name in connection_options for name in CONTEXT_SETTINGS):
            problems.append(
                f"DATABASES[{alias!r}] sets the clinic in its connection options: the clinic "
                "must only ever be set per transaction."
            )
        if pool_mode == "transaction" and not config.get("DISABLE_SERVER_SIDE_CURSORS"):
            problems.append(
                f"DATABASES[{alias!r}]: with DB_POOL_MODE=transaction, server-side cursors "
                "outside a transaction lose their server connection; set "
                "DISABLE_SERVER_SIDE_CURSORS (settings.py does when DB_POOL_MODE=transaction)."
            )
    return problems


def session_context_problems(alias: str = "default") -> list[str]:
    """A fresh transaction on this connection must carry no clinic and no person."""
    problems = []
    connection = connections[alias]
    with connection.cursor() as cursor:
        # Whatever the source (postgresql.conf, PGOPTIONS, a pooler's connect_query), a fresh
        # session must read no clinic before a transaction sends its own.
        cursor.execute(
            "SELECT current_setting('app.tenant_id', true), current_setting('app.user_id', true)"
        )
        for name, value in zip(CONTEXT_SETTINGS, cursor.fetchone(), strict=True):
            if value:
                problems.append(
                    f"A new session already reads {name} = {value!r}: the clinic must only be "
                    "set per transaction, never for the session."
                )
        # A role- or database-level default would apply to every session of the role.
        cursor.execute(
            "SELECT coalesce(array_to_string(setconfig, ','), '') FROM pg_db_role_setting s "
            "LEFT JOIN pg_roles r ON r.oid = s.setrole "
            "LEFT JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE (r.rolname = current_user OR s.setrole = 0) "
            "AND (d.datname = current_database() OR s.setdatabase = 0)"
        )
        for (config,) in cursor.fetchall():
            for name in CONTEXT_SETTINGS:
                if f"{name}=" in config:
                    problems.append(
                        f"{name} has a session-level default for the runtime role or database "
                        f"({config}): remove it (ALTER ROLE/DATABASE … RESET {name})."
                    )
    return problems


@register()
def check_pooling_configuration(app_configs=None, **kwargs):
    return [Error(problem, id="tenants.E010") for problem in configuration_problems()]


@register()
def check_no_session_level_clinic(app_configs=None, databases=None, **kwargs):
    if not databases or "default" not in databases:
        return []
    try:
        problems = session_context_problems("default")
    except DatabaseError as exc:
        return [Warning(f"Could not inspect session settings: {exc}", id="tenants.W010")]
    return [Error(problem, id="tenants.E011") for problem in problems]


def assert_pooling_safe() -> None:
    """Called by wsgi.py and asgi.py next to the runtime-role check."""
    from django.core.exceptions import ImproperlyConfigured

    problems = configuration_problems()
    try:
        problems += session_context_problems("default")
    except DatabaseError:
        # The database may come up after the server; the runtime-role check logs it.
        pass
    finally:
        connections["default"].close()
    if problems:
        raise ImproperlyConfigured("Refusing to start: " + "; ".join(problems))
