"""PostgreSQL backend that carries the tenant context into every transaction.

Before a query runs, the wrapper compares the context the code runs under
(`tenants.context.current()`) with what this transaction has already told PostgreSQL. When
they differ, it prepends

    SET LOCAL app.tenant_id = '<uuid>'; SET LOCAL app.user_id = '<uuid>';

to the query itself, so the context costs no extra round trip (Django's psycopg 3 cursors bind
parameters client-side, which allows several statements in one execute). `LOCAL` makes the
value end with the transaction: a persistent or pooled connection starts the next transaction
with no clinic, which the policies read as NULL, so zero rows (design invariant 6).

`SET LOCAL` rather than `set_config(..., true)`: the two are the same to PostgreSQL, but a
distributed PostgreSQL (Citus, with `citus.propagate_set_commands = 'local'`) forwards
`SET LOCAL` to the worker nodes that hold the shards and never a `set_config()` call, so only
this form keeps the policies working once the clinic tables are distributed
(docs/scale-out.md).

Outside a transaction (autocommit) the statements travel in one simple-query message, which
PostgreSQL runs as one implicit transaction block, so the value applies to exactly that query.

The `platform` alias is guarded here too: its role bypasses row-level security, so it refuses
every statement outside `platform_access(reason=...)`.
"""

from __future__ import annotations

import re

from django.db.backends.postgresql import base, operations

from tenants.context import current


class DatabaseOperations(operations.DatabaseOperations):
    compiler_module = "tenants.backend.compiler"


class PlatformAccessRequired(RuntimeError):
    """The platform (BYPASSRLS) connection was used outside platform_access()."""


_SET_CONTEXT = "SET LOCAL app.tenant_id = '{tenant}'; SET LOCAL app.user_id = '{user}'; "
# How many statements the prefix adds: the cursor skips their results to reach the query's.
PREFIX_STATEMENTS = 2
_SENT_CONTEXT = re.compile(
    r"^SET LOCAL app\.tenant_id = '[^']*'; SET LOCAL app\.user_id = '[^']*'; "
)


def context_prefix(tenant, user) -> str:
    """The statement this backend puts in front of a query to send the context."""
    return _SET_CONTEXT.format(tenant=tenant, user=user)


def without_context(sql: str) -> str:
    """A query as the application wrote it, without the context prefix this backend sent
    with it (for tools that replay or explain recorded queries)."""
    return _SENT_CONTEXT.sub("", sql)


_TRANSACTION_CONTROL = ("ROLLBACK TO SAVEPOINT", "RELEASE SAVEPOINT")


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # (tenant_id, user_id) as sent to PostgreSQL in the current transaction; None when the
        # transaction has not been told anything (PostgreSQL then reads NULL or '').
        self._sent_context: tuple[str, str] | None = None
        self.execute_wrappers.append(self._context_wrapper)

    @property
    def clinic_role(self) -> str:
        return self.settings_dict.get("CLINIC_ROLE", "runtime")

    # Every way a transaction ends forgets what was sent.
    def _commit(self):
        self._sent_context = None
        return super()._commit()

    def _rollback(self):
        self._sent_context = None
        return super()._rollback()

    def _savepoint_rollback(self, sid):
        # A rollback to a savepoint undoes a set_config made after it. Re-sending the context
        # before the next query is free, so forget it whatever the savepoint.
        try:
            return super()._savepoint_rollback(sid)
        finally:
            self._sent_context = None

    def _set_autocommit(self, autocommit):
        self._sent_context = None
        return super()._set_autocommit(autocommit)

    def _close(self):
        self._sent_context = None
        return super()._close()

    def init_connection_state(self):
        self._sent_context = None
        return super().init_connection_state()

    def _context_wrapper(self, execute, sql, params, many, context):
        ctx = current()
        if self.clinic_role == "platform":
            if not ctx.platform:
                raise PlatformAccessRequired(
                    "The platform database alias bypasses row-level security; use it only "
                    "inside tenants.platform.platform_access(reason=...)."
                )
            return execute(sql, params, many, context)

        if isinstance(sql, str) and sql.startswith(_TRANSACTION_CONTROL):
            # Ending a savepoint touches no table, and after an error only the rollback
            # itself may run: never put anything in front of it.
            return execute(sql, params, many, context)
        wanted = ctx.settings_pair()
        in_transaction = not self.get_autocommit()
        already = self._sent_context if in_transaction else None
        if wanted == (already or ("", "")):
            return execute(sql, params, many, context)

        # The values are canonical UUID strings (tenants.context validates them), never
        # user-supplied text, so inlining them is safe and keeps the query's own %s intact.
        prefix = context_prefix(wanted[0], wanted[1])
        raw_cursor = context["cursor"].cursor
        if many or not isinstance(sql, str) or getattr(raw_cursor, "name", None):
            # executemany, composed SQL and server-side (named) cursors cannot take a second
            # statement; send the context on its own first. That only works inside a
            # transaction: in autocommit the value would end before the query runs.
            if not in_transaction:
                raise RuntimeError(
                    "Batched, composed or server-side-cursor queries under a tenant context "
                    "must run inside a transaction (tenant_context() opens one)."
                )
            with self.connection.cursor() as setter:
                setter.execute(prefix)
            result = execute(sql, params, many, context)
        else:
            result = execute(prefix + sql, params, many, context)
            for _ in range(PREFIX_STATEMENTS):
                raw_cursor.nextset()
        if in_transaction:
            self._sent_context = wanted
        return result
