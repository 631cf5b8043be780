"""Migration operations that put a clinic-owned table under row-level security.

All of them are reversible and idempotent (running one twice changes nothing), and they only
touch the database: Django's model state is unaffected, so `makemigrations` never sees them.

    operations = [
        migrations.CreateModel(name="Patient", ...),
        EnableTenantRLS("patient"),
        AddTenantForeignKey("prescription", "patient"),
    ]
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from django.conf import settings
from django.db import router
from django.db.migrations.operations.base import Operation

from tenants import dbroles, keys, rls
from tenants.context import tenant_context


class _SQLOperation(Operation):
    reversible = True
    reduces_to_sql = True

    def state_forwards(self, app_label, state):
        pass

    def _execute(self, schema_editor, statements):
        for statement in statements:
            schema_editor.execute(statement, params=None)

    def _allowed(self, schema_editor, app_label, model) -> bool:
        return router.allow_migrate_model(schema_editor.connection.alias, model)


class EnableTenantRLS(_SQLOperation):
    """ENABLE + FORCE row-level security with the policies of `kind` (see tenants.rls), and
    UNIQUE (tenant_id, id) so other clinic-owned tables can reference it compositely.

    `app_label` targets a model of another app; `previous_kind` makes the operation replace
    an earlier policy set (and restore it when reversed) instead of switching RLS off.
    """

    def __init__(
        self,
        model_name: str,
        kind: str = "tenant",
        app_label: str | None = None,
        previous_kind: str | None = None,
    ):
        for value in (kind, previous_kind):
            if value is not None and value not in rls.POLICY_KINDS + ("tenant_root_bootstrap",):
                raise ValueError(f"Unknown row-level security kind {value!r}.")
        self.model_name = model_name
        self.kind = kind
        self.app_label = app_label
        self.previous_kind = previous_kind

    def deconstruct(self):
        kwargs = {"model_name": self.model_name}
        if self.kind != "tenant":
            kwargs["kind"] = self.kind
        if self.app_label:
            kwargs["app_label"] = self.app_label
        if self.previous_kind:
            kwargs["previous_kind"] = self.previous_kind
        return self.__class__.__qualname__, [], kwargs

    def _model(self, state, app_label):
        return state.apps.get_model(self.app_label or app_label, self.model_name)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = self._model(to_state, app_label)
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, rls.enable_sql(model._meta.db_table, self.kind))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = self._model(from_state, app_label)
        if not self._allowed(schema_editor, app_label, model):
            return
        table = model._meta.db_table
        if self.previous_kind:
            self._execute(schema_editor, rls.enable_sql(table, self.previous_kind))
        else:
            self._execute(schema_editor, rls.disable_sql(table, self.kind))

    def describe(self):
        return f"Enable row-level security ({self.kind}) on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"rls_{self.model_name.lower()}"


class AddTenantForeignKey(_SQLOperation):
    """Make `model.field` a same-clinic reference in the database.

    For a `TenantForeignKey` (target clinic-owned): composite foreign key
    `(tenant_id, column) → target(tenant_id, id)` plus an index leading with those columns.
    Historically, for a target whose `tenant` may be NULL (a mixed catalogue: clinical
    migration 0003's medicines), a trigger that refused another clinic's catalogue entry.
    Citus refuses triggers, so no current model takes that branch (clinical migration 0009
    dropped those triggers); it stays so that the old migrations still build a database.
    """

    def __init__(self, model_name: str, field_name: str):
        self.model_name = model_name
        self.field_name = field_name

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"model_name": self.model_name, "field_name": self.field_name},
        )

    def _statements(self, state, app_label, forwards: bool):
        model = state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.field_name)
        table = model._meta.db_table
        target = field.related_model._meta.db_table
        catalog = field.related_model._meta.get_field("tenant").null
        if catalog:
            if forwards:
                return model, keys.add_catalog_ref_sql(table, field.column, target)
            return model, keys.drop_catalog_ref_sql(table, field.column)
        if forwards:
            return model, keys.add_composite_fk_sql(table, field.column, target)
        return model, keys.drop_composite_fk_sql(table, field.column)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model, statements = self._statements(to_state, app_label, forwards=True)
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, statements)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model, statements = self._statements(from_state, app_label, forwards=False)
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, statements)

    def describe(self):
        return f"Same-clinic foreign key {self.model_name}.{self.field_name}"

    @property
    def migration_name_fragment(self):
        return f"tenant_fk_{self.model_name.lower()}_{self.field_name.lower()}"


class RevokeWrites(_SQLOperation):
    """Make a table append-only for the runtime and platform roles (the audit log)."""

    def __init__(self, model_name: str):
        self.model_name = model_name

    @staticmethod
    def _roles() -> list[str]:
        # The grants come from ALTER DEFAULT PRIVILEGES for these roles (tenants.dbroles).
        return [settings.DATABASES[alias]["USER"] for alias in ("default", "platform")]

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"model_name": self.model_name}

    def _sql(self, state, app_label, verb):
        model = state.apps.get_model(app_label, self.model_name)
        table = model._meta.db_table
        statements = []
        for role in self._roles():
            statements.append(
                f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
                f'{verb} UPDATE, DELETE, TRUNCATE ON "{table}" '
                f'{"FROM" if verb == "REVOKE" else "TO"} "{role}"; END IF; END $$'
            )
        return model, statements

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model, statements = self._sql(to_state, app_label, "REVOKE")
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, statements)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model, statements = self._sql(from_state, app_label, "GRANT")
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, statements)

    def describe(self):
        return f"Make {self.model_name} append-only"


class LimitRuntimeGrants(_SQLOperation):
    """Give the runtime role only the grants tenants.dbroles.RUNTIME_LIMITED_TABLES lists for
    this table (the e-mail outbox: INSERT, and SELECT on its progress columns). Reversed, the
    default DML grants come back."""

    def __init__(self, model_name: str):
        self.model_name = model_name

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"model_name": self.model_name}

    def _run(self, schema_editor, state, app_label, forwards: bool):
        model = state.apps.get_model(app_label, self.model_name)
        if not self._allowed(schema_editor, app_label, model):
            return
        table = model._meta.db_table
        role = settings.DATABASES["default"]["USER"]
        raw = schema_editor.connection.connection
        if forwards:
            statements = [s.as_string(raw) for s in dbroles.limited_grants_sql(table, role)]
        else:
            statements = [f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" TO "{role}"']
        self._execute(schema_editor, statements)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, to_state, app_label, forwards=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, from_state, app_label, forwards=False)

    def describe(self):
        return f"Limit the runtime role's grants on {self.model_name}"


@contextmanager
def migration_tenant_context(schema_editor, tenant_id):
    """Run a data migration's queries for one clinic (RunPython code).

    Migrations run as the owner role, which FORCE row-level security still restricts, so a
    data migration sees no clinic rows unless it says which clinic it works for.
    """

    with tenant_context(tenant_id, using=schema_editor.connection.alias):
        yield


@contextmanager
def migration_platform_context(schema_editor, *models, reason: str):
    """Let a data migration work across clinics on the given tables, explicitly.

    Inside the migration's transaction the owner role lifts FORCE on just these tables (so,
    as their owner, it is not filtered) and restores it before the block ends; the change is
    rolled back with the migration if anything fails. The reason is recorded in the audit log.
    """
    if not reason:
        raise ValueError("migration_platform_context needs a reason for the audit log.")
    tables = [model._meta.db_table for model in models]
    with schema_editor.connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY')
        # The platform's own audit table once it exists (tenants 0007). Before it, the events
        # of no clinic were kept in the clinic table, which 0007 then moves over; its current
        # policies accept only a clinic's events, so the owner lifts FORCE for this insert.
        cursor.execute("SELECT to_regclass('tenants_platformauditevent')")
        early = cursor.fetchone()[0] is None
        audit_table = "tenants_auditevent" if early else "tenants_platformauditevent"
        if early:
            cursor.execute(f'ALTER TABLE "{audit_table}" NO FORCE ROW LEVEL SECURITY')
        cursor.execute(
            f'INSERT INTO "{audit_table}" (id, created_at, action, reason, details, '
            "actor_email, object_type, object_id, user_agent) VALUES (gen_random_uuid(), now(), "
            "'platform.migration', %s, %s::jsonb, '', 'migration', '', '')",
            [reason, json.dumps({"tables": tables})],
        )
        if early and audit_table not in tables:
            cursor.execute(f'ALTER TABLE "{audit_table}" FORCE ROW LEVEL SECURITY')
    try:
        yield
    finally:
        with schema_editor.connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')


class ClinicPrimaryKey(_SQLOperation):
    """Make a clinic table's primary key (tenant_id, id) in the database, in place of (id)
    plus the UNIQUE (tenant_id, id) that EnableTenantRLS adds (tenants.rls.
    clinic_primary_key_sql). Django keeps `id` as the model's pk field: only the database's
    key changes, so the ORM, the admin and the URLs are untouched.

    The composite foreign keys into the table are dropped and added back around the swap,
    and a plain index on (id) stays for lookups by id alone. Run it after EnableTenantRLS, in
    the migration that creates the table:

        EnableTenantRLS("visit"),
        ClinicPrimaryKey("visit"),
    """

    def __init__(self, model_name: str, app_label: str | None = None):
        self.model_name = model_name
        self.app_label = app_label

    def deconstruct(self):
        kwargs = {"model_name": self.model_name}
        if self.app_label:
            kwargs["app_label"] = self.app_label
        return self.__class__.__qualname__, [], kwargs

    def _run(self, schema_editor, state, app_label, forwards: bool):
        model = state.apps.get_model(self.app_label or app_label, self.model_name)
        if not self._allowed(schema_editor, app_label, model):
            return
        table = model._meta.db_table
        if forwards:
            self._execute(schema_editor, keys.clinic_primary_key_sql(table))
        else:
            self._execute(schema_editor, keys.clinic_primary_key_reverse_sql(table))

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, to_state, app_label, forwards=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._run(schema_editor, from_state, app_label, forwards=False)

    def describe(self):
        return f"Primary key (tenant_id, id) on {self.model_name}"

    @property
    def migration_name_fragment(self):
        return f"clinic_pk_{self.model_name.lower()}"
