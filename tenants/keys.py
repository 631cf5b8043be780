"""The keys of clinic tables, as SQL for the migration operations (tenants.operations).

* Same-clinic references: a composite foreign key `(tenant_id, x_id) → x(tenant_id, id)`
  with its index (invariant 8).
* Primary keys `(tenant_id, id)`, as a table distributed by clinic needs (ClinicPrimaryKey;
  docs/scale-out.md).
* The catalogue-reference trigger of the mixed medicine catalogue, historical: clinical
  migrations 0003 and 0009 still name it.

Row-level security itself (the policies of each kind of table) is tenants.rls.
"""

from __future__ import annotations

from tenants.rls import constraint_name, tenant_unique_name


def composite_fk_names(table: str, column: str) -> tuple[str, str]:
    return constraint_name(table, f"{column}_tenant_fk"), constraint_name(
        table, f"{column}_tenant_idx"
    )


def add_composite_fk_sql(table: str, column: str, target: str) -> list[str]:
    fk, index = composite_fk_names(table, column)
    return [
        f'CREATE INDEX IF NOT EXISTS "{index}" ON "{table}" (tenant_id, "{column}")',
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = '{fk}' "
        f"AND conrelid = '\"{table}\"'::regclass) THEN "
        f'ALTER TABLE "{table}" ADD CONSTRAINT "{fk}" FOREIGN KEY (tenant_id, "{column}") '
        f'REFERENCES "{target}" (tenant_id, id) DEFERRABLE INITIALLY IMMEDIATE; '
        "END IF; END $$",
    ]


def drop_composite_fk_sql(table: str, column: str) -> list[str]:
    fk, index = composite_fk_names(table, column)
    return [
        f'ALTER TABLE "{table}" DROP CONSTRAINT IF EXISTS "{fk}"',
        f'DROP INDEX IF EXISTS "{index}"',
    ]


# The same-clinic trigger of the old mixed medicine catalogue. Citus refuses triggers: clinical
# migration 0009 drops it, and only the migrations before it still install it.
CATALOG_REF_FUNCTION = "clinic_catalog_ref_check"


def catalog_trigger_name(table: str, column: str) -> str:
    return constraint_name(table, f"{column}_catalog_ref")


def add_catalog_ref_sql(table: str, column: str, target: str) -> list[str]:
    trigger = catalog_trigger_name(table, column)
    # SECURITY INVOKER (the default): the lookup runs as the writing role, under its
    # row-level security, and the explicit predicate holds even for the platform role.
    function = (
        f"CREATE OR REPLACE FUNCTION {CATALOG_REF_FUNCTION}() RETURNS trigger "
        "LANGUAGE plpgsql SECURITY INVOKER AS $fn$ "
        "DECLARE ref uuid; ok boolean; BEGIN "
        "ref := (to_jsonb(NEW) ->> TG_ARGV[0])::uuid; "
        "IF ref IS NULL THEN RETURN NEW; END IF; "
        "EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1 "
        "AND (tenant_id IS NULL OR tenant_id = $2))', TG_ARGV[1]) "
        "INTO ok USING ref, NEW.tenant_id; "
        "IF NOT ok THEN RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation', "
        "MESSAGE = format('%s.%s must reference a shared entry or one of the same clinic', "
        "TG_TABLE_NAME, TG_ARGV[0]); END IF; "
        "RETURN NEW; END $fn$"
    )
    return [
        function,
        f'DROP TRIGGER IF EXISTS "{trigger}" ON "{table}"',
        f'CREATE TRIGGER "{trigger}" BEFORE INSERT OR UPDATE OF tenant_id, "{column}" '
        f'ON "{table}" FOR EACH ROW EXECUTE FUNCTION {CATALOG_REF_FUNCTION}'
        f"('{column}', '{target}')",
    ]


def drop_catalog_ref_sql(table: str, column: str) -> list[str]:
    return [f'DROP TRIGGER IF EXISTS "{catalog_trigger_name(table, column)}" ON "{table}"']


# --- primary keys (tenant_id, id) ---------------------------------------------------------------


def id_lookup_index_name(table: str) -> str:
    return constraint_name(table, "id_idx")


def _dependent_fks_sql(index_oids: str) -> str:
    """PL/pgSQL that drops every foreign key relying on one of the indexes `index_oids` (an
    expression of type oid[]) and keeps, in `recreate`, the statements that add them back."""
    return (
        "FOR fk IN SELECT c.oid, c.conname, c.conrelid::regclass AS child FROM pg_constraint c "
        f"WHERE c.contype = 'f' AND c.confrelid = rel AND c.conindid = ANY ({index_oids}) "
        "ORDER BY c.conrelid::regclass::text, c.conname LOOP "
        "recreate := recreate || format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.child, "
        "fk.conname, pg_get_constraintdef(fk.oid)); "
        "EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.child, fk.conname); "
        "END LOOP; "
    )


# Inside the DO blocks below: the table's primary key constraint, its index and its columns
# in order, into `pkey`, `pkey_index` and `pkey_columns`.
_READ_PRIMARY_KEY = (
    "SELECT c.conname, c.conindid, ARRAY(SELECT a.attname FROM unnest(c.conkey) "
    "WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = c.conrelid "
    "AND a.attnum = k.n ORDER BY k.o)::text[] "
    "INTO pkey, pkey_index, pkey_columns FROM pg_constraint c "
    "WHERE c.conrelid = rel AND c.contype = 'p'; "
)


def clinic_primary_key_sql(table: str) -> list[str]:
    """Make `table`'s primary key (tenant_id, id) under the same constraint name, in place of
    (id) plus UNIQUE (tenant_id, id). Idempotent.

    The composite foreign keys `(tenant_id, x_id) → table(tenant_id, id)` rely on the unique
    constraint's index, so they are dropped first (their exact definitions kept with
    pg_get_constraintdef) and added back afterwards, when they rely on the new primary key.
    A foreign key on `(id)` alone (a plain Django ForeignKey into a clinic table) could not
    be added back without a unique index on `id` alone, which a table distributed by clinic
    cannot have: the operation refuses it and changes nothing.

    A plain, non-unique index on `(id)` stays for the lookups by id alone: the platform role
    (BYPASSRLS, inside platform_access) and the ORM's own `pk=` lookups outside a clinic's
    scope (webhooks, the platform admin, purges) give no tenant_id, and the (tenant_id, id)
    index cannot serve `id = X` except by a skip scan over every clinic (PostgreSQL 18) or
    not at all (earlier versions).
    """
    unique = tenant_unique_name(table)
    index = id_lookup_index_name(table)
    return [
        "DO $$ DECLARE "
        f"rel regclass := '\"{table}\"'::regclass; "
        "pkey name; pkey_index oid; pkey_columns text[]; unique_index oid; "
        "fk record; recreate text[] := '{}'; statement text; "
        "BEGIN "
        f"{_READ_PRIMARY_KEY}"
        "IF pkey_columns IS DISTINCT FROM ARRAY['tenant_id', 'id'] THEN "
        "  IF pkey_columns IS DISTINCT FROM ARRAY['id'] THEN "
        "    RAISE EXCEPTION 'the primary key of % is (%), not (id)', rel, "
        "      array_to_string(pkey_columns, ', '); "
        "  END IF; "
        "  SELECT string_agg(format('%s.%I', c.conrelid::regclass, c.conname), ', ') "
        "    INTO statement FROM pg_constraint c "
        "    WHERE c.contype = 'f' AND c.confrelid = rel AND c.conindid = pkey_index; "
        "  IF statement IS NOT NULL THEN "
        "    RAISE EXCEPTION USING ERRCODE = 'dependent_objects_still_exist', MESSAGE = "
        "      format('%s refer to %s (id) alone: make them composite (tenant_id, …) "
        "references before the primary key becomes (tenant_id, id)', statement, rel); "
        "  END IF; "
        "  SELECT c.conindid INTO unique_index FROM pg_constraint c "
        f"   WHERE c.conrelid = rel AND c.conname = '{unique}'; "
        f"  {_dependent_fks_sql('ARRAY[unique_index]')}"
        "  EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', rel, pkey); "
        "  EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (tenant_id, id)', "
        "    rel, pkey); "
        f"  EXECUTE format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', rel, '{unique}'); "
        "  FOREACH statement IN ARRAY recreate LOOP EXECUTE statement; END LOOP; "
        "END IF; "
        # Also on a second run: a table whose key was already swapped by hand gets its index.
        f"EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %s (id)', '{index}', rel); "
        "END $$"
    ]


def clinic_primary_key_reverse_sql(table: str) -> list[str]:
    """Back to PRIMARY KEY (id) plus UNIQUE (tenant_id, id), the composite foreign keys
    relying on the latter again. Idempotent."""
    unique = tenant_unique_name(table)
    index = id_lookup_index_name(table)
    return [
        "DO $$ DECLARE "
        f"rel regclass := '\"{table}\"'::regclass; "
        "pkey name; pkey_index oid; pkey_columns text[]; "
        "fk record; recreate text[] := '{}'; statement text; "
        "BEGIN "
        f"{_READ_PRIMARY_KEY}"
        "IF pkey_columns = ARRAY['tenant_id', 'id'] THEN "
        f"  {_dependent_fks_sql('ARRAY[pkey_index]')}"
        "  EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', rel, pkey); "
        "  EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (id)', rel, pkey); "
        # An earlier step of the same rollback may have put the pair back already
        # (EnableTenantRLS, reversed or re-run, adds it when it is missing).
        "  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = rel "
        f"    AND conname = '{unique}') THEN "
        "    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (tenant_id, id)', "
        f"      rel, '{unique}'); "
        "  END IF; "
        "  FOREACH statement IN ARRAY recreate LOOP EXECUTE statement; END LOOP; "
        "END IF; "
        f"EXECUTE format('DROP INDEX IF EXISTS %I', '{index}'); "
        "END $$"
    ]
