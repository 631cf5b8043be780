"""Read-only access to an earlier-system database (see docs/operations.md, "The earlier
system's tables").

One REPEATABLE READ, READ ONLY transaction covers the whole import, so every table is read
from the same snapshot even when the earlier system is still running. Rows are streamed
through server-side cursors: memory stays flat whatever the size of the source.
"""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from core.errors import ApplicationError
from tenants.dbroles import conninfo_from_url

# The tables that identify the earlier system's schema.
REQUIRED = ("users", "doctors", "patients")
# Read in batches of this many rows from each server-side cursor.
ITERSIZE = 2000
# Tables whose clinic is known only through another table (no tenant_id column).
THROUGH = {
    "short_key_medicines": sql.SQL(
        "short_key_id IN (SELECT id FROM {schema}.short_keys WHERE tenant_id = %(tenant)s)"
    ),
}


class LegacySource:
    """The earlier system's database, in either shape: before clinics (everything is the one
    clinic's) or with clinics (`tenants` + `tenant_id`: one clinic, chosen by its code)."""

    def __init__(self, url: str, *, schema: str = "public", source_tenant: str | None = None):
        self.schema = schema
        try:
            self.conn = psycopg.connect(conninfo_from_url(url), row_factory=dict_row)
        except psycopg.Error as exc:
            raise ApplicationError(
                f"Cannot connect to the earlier system's database: {exc}".strip(),
                code="legacy_unreachable",
            ) from exc
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn.read_only = True
        try:
            self._columns = self._load_columns()
            missing = [t for t in REQUIRED if t not in self._columns]
            if missing:
                raise ApplicationError(
                    f"Schema {schema!r} is not the earlier system's: it has no "
                    f"{', '.join(missing)} table. (Found: "
                    f"{', '.join(sorted(self._columns)) or 'no tables'}.)",
                    code="legacy_unrecognised",
                )
            self.with_clinics = "tenants" in self._columns and "tenant_id" in self._columns["users"]
            self.tenant = self._choose_tenant(source_tenant) if self.with_clinics else None
        except BaseException:
            self.close()
            raise

    # --- schema ----------------------------------------------------------------------------

    def _load_columns(self) -> dict[str, set[str]]:
        rows = self.conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = %s",
            [self.schema],
        ).fetchall()
        columns: dict[str, set[str]] = {}
        for row in rows:
            columns.setdefault(row["table_name"], set()).add(row["column_name"])
        return columns

    def has(self, table: str, column: str | None = None) -> bool:
        if column is None:
            return table in self._columns
        return column in self._columns.get(table, ())

    def tenants(self) -> list[dict]:
        return self.conn.execute(
            sql.SQL(
                "SELECT id, tenant_code, tenant_name, subscription_plan FROM {} "
                "ORDER BY tenant_code"
            ).format(sql.Identifier(self.schema, "tenants"))
        ).fetchall()

    def _choose_tenant(self, code: str | None) -> dict:
        clinics = self.tenants()
        listing = ", ".join(f"{c['tenant_code']} ({c['tenant_name']})" for c in clinics)
        if code:
            for clinic in clinics:
                if clinic["tenant_code"].lower() == code.strip().lower():
                    return clinic
            raise ApplicationError(
                f"The earlier system has no clinic with the code {code!r}. Its clinics: "
                f"{listing or 'none'}.",
                code="legacy_tenant_unknown",
            )
        if len(clinics) == 1:
            return clinics[0]
        raise ApplicationError(
            "The earlier system's database holds "
            + (f"{len(clinics)} clinics" if clinics else "no clinic")
            + "; name the one to import with --source-tenant CODE. Its clinics: "
            + (listing or "none")
            + ".",
            code="legacy_tenant_required",
        )

    # --- rows ------------------------------------------------------------------------------

    def _where(self, table: str) -> tuple[sql.Composable, dict]:
        if not self.with_clinics:
            return sql.SQL(""), {}
        params = {"tenant": self.tenant["id"]}
        if table == "medicines":
            # NULL is the earlier system's shared catalogue: every clinic used it.
            return sql.SQL(" WHERE tenant_id = %(tenant)s OR tenant_id IS NULL"), params
        if self.has(table, "tenant_id"):
            return sql.SQL(" WHERE tenant_id = %(tenant)s"), params
        if table in THROUGH:
            return sql.SQL(" WHERE ") + THROUGH[table].format(
                schema=sql.Identifier(self.schema)
            ), params
        raise ApplicationError(
            f"Cannot tell which clinic the rows of {table} belong to.", code="legacy_unrecognised"
        )

    def count(self, table: str, *, every_clinic: bool = False) -> int:
        """The rows of the clinic being imported (of every clinic: a table with no clinic)."""
        if not self.has(table):
            return 0
        where, params = (sql.SQL(""), {}) if every_clinic else self._where(table)
        query = sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(self.schema, table))
        return self.conn.execute(query + where, params).fetchone()["n"]

    def rows(self, table: str, *, order_by: str = "id"):
        """Every row of `table` that belongs to the clinic being imported, streamed."""
        if not self.has(table):
            return
        where, params = self._where(table)
        query = (
            sql.SQL("SELECT * FROM {}").format(sql.Identifier(self.schema, table))
            + where
            + sql.SQL(" ORDER BY ")
            + sql.SQL(", ").join(sql.SQL(part) for part in order_by.split(","))
        )
        with self.conn.cursor(name=f"legacy_{table}") as cursor:
            cursor.itersize = ITERSIZE
            cursor.execute(query, params)
            yield from cursor

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()
