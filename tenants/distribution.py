"""Is the live schema ready to be distributed by clinic (Citus)? The rules, checked.

Citus shards a distributed table by one column and keeps the rows of one value together on
one node. For the clinic tables that column is `tenant_id`, and Citus then requires:

* `pk`: the primary key of every distributed table contains the distribution column;
* `unique`: so does every unique constraint or unique index (uniqueness is checked per
  shard, so a key without the column cannot be enforced);
* `colocated-fk`: a foreign key between two distributed tables includes the distribution
  column on both sides, at the same position, so it can be checked inside one shard;
* `reference-fk`: a reference table (copied whole to every node) refers only to other
  reference tables, never to a distributed one;
* `shared-rows`: a distributed table holds only rows of a clinic; shared catalogue rows
  (`tenant_id IS NULL`) belong in a reference table of their own;
* `trigger`: no triggers on distributed tables (Citus refuses them unless
  `citus.enable_unsafe_triggers` is on);
* `context`: the tenant context reaches the worker nodes: it is sent as `SET LOCAL`, which
  Citus propagates (`citus.propagate_set_commands = 'local'`), never as `set_config()`;
* `local-fk`: a coordinator-local table (COORDINATOR_LOCAL_TABLES, declared with its
  reason) refers only to reference tables, and no distributed or reference table refers to
  it. The other rules do not apply to it: it is not sharded, so its keys, a NULL tenant_id
  and triggers are its own business.

`inspect(cursor, schema)` returns the violations and the distribution plan: the
`create_reference_table`, `citus_add_local_table_to_metadata` and `create_distributed_table`
calls in dependency order.
`manage.py check_distribution` prints both and exits 1 on any violation.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tenants.backend.base import context_prefix as build_prefix

DISTRIBUTION_COLUMN = "tenant_id"
# The policy of a shared catalogue (tenants.rls, kind "reference"): every clinic reads it.
SHARED_CATALOGUE_POLICY = "clinic_shared_read"
RULES = (
    "pk",
    "unique",
    "colocated-fk",
    "reference-fk",
    "local-fk",
    "shared-rows",
    "trigger",
    "context",
)

# Tables with a tenant_id that stay whole on the coordinator, on purpose (Citus:
# `citus_add_local_table_to_metadata`), each with its reason. Nothing else is exempt from the
# rules of a clinic table: a table with tenant_id that is not declared here is distributed.
COORDINATOR_LOCAL_TABLES: dict[str, str] = {
    "tenants_outboxemail": (
        "the e-mail queue (tenants.outbox) is drained across all clinics by one platform "
        "worker (send_outbox): distributed by clinic, every poll would be a multi-shard "
        "query; and it holds e-mails of no clinic (password resets, sign-up verification), "
        "so its tenant_id may be NULL"
    ),
}


@dataclass(frozen=True)
class Violation:
    rule: str
    table: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.table}: {self.detail}"


@dataclass
class Report:
    violations: list[Violation] = field(default_factory=list)
    reference_tables: list[str] = field(default_factory=list)
    local_tables: list[str] = field(default_factory=list)
    distributed_tables: list[str] = field(default_factory=list)

    def plan(self) -> list[str]:
        """The SQL that would distribute this schema, in dependency order: a local table may
        refer to reference tables, so it is added to the metadata after them."""
        statements = [f"SELECT create_reference_table('{t}');" for t in self.reference_tables]
        statements += [
            f"SELECT citus_add_local_table_to_metadata('{t}');" for t in self.local_tables
        ]
        anchor = None
        for table in self.distributed_tables:
            colocate = f"'{anchor}'" if anchor else "'none'"
            statements.append(
                f"SELECT create_distributed_table('{table}', '{DISTRIBUTION_COLUMN}', "
                f"colocate_with => {colocate});"
            )
            anchor = anchor or table
        return statements


def _rows(cursor, sql: str, params) -> list[tuple]:
    cursor.execute(sql, params)
    return cursor.fetchall()


def _topological(tables: set[str], edges: dict[str, set[str]]) -> list[str]:
    """Tables ordered so that each comes after the tables it refers to (ties by name)."""
    ordered: list[str] = []
    placed: set[str] = set()
    remaining = set(tables)
    while remaining:
        ready = sorted(t for t in remaining if not (edges[t] & remaining) - {t})
        if not ready:  # a cycle: place the rest by name, Citus takes them in one go
            ready = sorted(remaining)
        for table in ready:
            ordered.append(table)
            placed.add(table)
        remaining -= set(ready)
    return ordered


def inspect(
    cursor,
    schema: str = "public",
    *,
    context_prefix: str | None = None,
    local_tables: dict[str, str] | None = None,
) -> Report:
    """`local_tables` (default COORDINATOR_LOCAL_TABLES): the declared coordinator-local
    tables, name → reason."""
    report = Report()
    if local_tables is None:
        local_tables = COORDINATOR_LOCAL_TABLES
    tables = {
        name
        for (name,) in _rows(
            cursor,
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
            [schema],
        )
    }
    # Whether tenant_id is NOT NULL, per table that has the column.
    tenant_column = dict(
        _rows(
            cursor,
            "SELECT c.relname, a.attnotnull FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND a.attname = %s AND NOT a.attisdropped "
            "AND c.relkind IN ('r', 'p')",
            [schema, DISTRIBUTION_COLUMN],
        )
    )
    local = set(local_tables) & tables
    for name in local:
        tenant_column.pop(name, None)
    clinic_tables = set(tenant_column)

    # Keys: primary and unique constraints, and unique indexes that back no constraint.
    for table, kind, name, columns in _rows(
        cursor,
        "SELECT c.relname, CASE WHEN i.indisprimary THEN 'p' ELSE 'u' END, ic.relname, "
        "ARRAY(SELECT a.attname FROM unnest(i.indkey) k "
        "      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k)::text[] "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_class ic ON ic.oid = i.indexrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND i.indisunique",
        [schema],
    ):
        if table not in clinic_tables or DISTRIBUTION_COLUMN in columns:
            continue
        rule = "pk" if kind == "p" else "unique"
        what = "primary key" if kind == "p" else "unique key"
        report.violations.append(
            Violation(rule, table, f"{what} {name} ({', '.join(columns)}) lacks tenant_id")
        )

    # Foreign keys.
    references: dict[str, set[str]] = defaultdict(set)
    for table, target, name, columns, target_columns in _rows(
        cursor,
        "SELECT c.relname, t.relname, con.conname, "
        "ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o) "
        "      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n "
        "      ORDER BY k.o)::text[], "
        "ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o) "
        "      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n "
        "      ORDER BY k.o)::text[] "
        "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_class t ON t.oid = con.confrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND con.contype = 'f'",
        [schema],
    ):
        references[table].add(target)
        if table in clinic_tables and target in clinic_tables:
            pairs = list(zip(columns, target_columns, strict=True))
            if (DISTRIBUTION_COLUMN, DISTRIBUTION_COLUMN) not in pairs:
                report.violations.append(
                    Violation(
                        "colocated-fk",
                        table,
                        f"foreign key {name} ({', '.join(columns)}) → {target} "
                        f"({', '.join(target_columns)}) does not pair tenant_id with tenant_id",
                    )
                )

    for table, allows_null in ((t, not nn) for t, nn in tenant_column.items()):
        if allows_null:
            report.violations.append(
                Violation(
                    "shared-rows",
                    table,
                    "tenant_id may be NULL: shared rows must live in a reference table "
                    "apart from the clinics' own rows",
                )
            )

    for table, trigger in _rows(
        cursor,
        "SELECT c.relname, tg.tgname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND NOT tg.tgisinternal",
        [schema],
    ):
        if table in clinic_tables:
            report.violations.append(
                Violation("trigger", table, f"trigger {trigger} (Citus refuses triggers)")
            )

    # Tables the clinic tables or the local tables point at (directly or through each
    # other) must be copied to every node: reference tables. So must the shared catalogues
    # (row-level security kind "reference", recognised by its read-by-every-clinic policy)
    # that nothing points at, such as the shared dental templates: a clinic's list reads
    # them beside its own rows in one query, which Citus runs on the clinic's shard only if
    # the shared rows are there too. Everything else stays on the coordinator.
    shared_catalogues = {
        name
        for (name,) in _rows(
            cursor,
            "SELECT tablename FROM pg_policies WHERE schemaname = %s AND policyname = %s",
            [schema, SHARED_CATALOGUE_POLICY],
        )
    }
    reference = set()
    frontier = {t for c in clinic_tables | local for t in references[c]} - clinic_tables - local
    frontier |= (shared_catalogues & tables) - clinic_tables - local
    while frontier:
        table = frontier.pop()
        reference.add(table)
        frontier |= references[table] - reference - clinic_tables - local
    # A local table lives on the coordinator only: a shard or a copy on a worker could not
    # check a reference to it, and it can check a reference only to what it has there too.
    for table in sorted(local):
        for target in sorted(references[table] & clinic_tables):
            report.violations.append(
                Violation(
                    "local-fk",
                    table,
                    f"a coordinator-local table refers to the distributed table {target}",
                )
            )
    for table in sorted(clinic_tables | reference):
        for target in sorted(references[table] & local):
            report.violations.append(
                Violation(
                    "local-fk",
                    table,
                    f"a {'distributed' if table in clinic_tables else 'reference'} table "
                    f"refers to the coordinator-local table {target}",
                )
            )
    for table in sorted(reference):
        for target in sorted(references[table] & clinic_tables):
            report.violations.append(
                Violation(
                    "reference-fk",
                    table,
                    f"a reference table (clinic tables point at it) refers to the clinic "
                    f"table {target}",
                )
            )

    if context_prefix is None:
        context_prefix = build_prefix("00000000-0000-0000-0000-000000000000", "")
    if "set_config" in context_prefix.lower() or "SET LOCAL" not in context_prefix:
        report.violations.append(
            Violation(
                "context",
                "tenants.backend",
                f"the tenant context is sent as {context_prefix.strip()!r}: Citus propagates "
                "SET LOCAL to its workers, never set_config()",
            )
        )

    report.reference_tables = _topological(reference, references)
    report.local_tables = _topological(local, references)
    report.distributed_tables = _topological(clinic_tables & tables, references)
    report.violations.sort(key=lambda v: (RULES.index(v.rule), v.table, v.detail))
    return report
