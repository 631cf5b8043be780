"""Migration operations of billing: role privileges and what keeps a paid or void invoice as
it is (since migration 0009 privileges and row-level security policies, no triggers)."""

from __future__ import annotations

from django.conf import settings

from tenants.operations import _SQLOperation
from tenants.rls import Policy


class RevokeFromRole(_SQLOperation):
    """Take `privileges` on a table away from the role of one database alias.

    The grants come from ALTER DEFAULT PRIVILEGES (tenants.dbroles); reversing gives them
    back. Used to keep the invoice counter the platform's own (the runtime role gets nothing)
    and to leave the platform role, which issues invoices, no way to rewrite one.
    """

    def __init__(self, model_name: str, privileges: str, alias: str):
        self.model_name = model_name
        self.privileges = privileges
        self.alias = alias

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"model_name": self.model_name, "privileges": self.privileges, "alias": self.alias},
        )

    def _sql(self, state, app_label, verb):
        model = state.apps.get_model(app_label, self.model_name)
        role = settings.DATABASES[self.alias]["USER"]
        preposition = "FROM" if verb == "REVOKE" else "TO"
        return model, [
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f'{verb} {self.privileges} ON "{model._meta.db_table}" {preposition} "{role}"; '
            "END IF; END $$"
        ]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model, statements = self._sql(to_state, app_label, "REVOKE")
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, statements)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model, statements = self._sql(from_state, app_label, "GRANT")
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, statements)

    def describe(self):
        return f"Revoke {self.privileges} on {self.model_name} from the {self.alias} role"


# Until migration 0009: triggers (migration 0005 still installs them on a fresh database and
# 0009 removes them; both read these two lists, so keep them). A paid or void invoice is a
# tax document: nobody rewrites it. The trigger refuses every UPDATE of such an invoice or of
# one of its lines, for every role (BYPASSRLS does not skip triggers), and their DELETE for
# every role that is subject to row-level security; only the platform role's purge of a
# whole clinic (clinics.purge) may delete them. SECURITY INVOKER:
# the parent lookup of a line runs under the writer's own row-level security.
FREEZE_FUNCTION = "billing_invoice_frozen_check"
FREEZE_SQL = [
    f"""
    CREATE OR REPLACE FUNCTION {FREEZE_FUNCTION}() RETURNS trigger
    LANGUAGE plpgsql SECURITY INVOKER AS $fn$
    DECLARE frozen text;
    BEGIN
        IF TG_TABLE_NAME = 'tenants_invoice' THEN
            frozen := CASE WHEN OLD.status IN ('paid', 'void') THEN OLD.status END;
        ELSE
            SELECT i.status INTO frozen FROM tenants_invoice i
             WHERE i.id = OLD.invoice_id AND i.status IN ('paid', 'void');
        END IF;
        IF frozen IS NULL THEN
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
        END IF;
        IF TG_OP = 'DELETE' AND (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)
        THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation',
            MESSAGE = format('a %s invoice never changes (%s on %s)', frozen, TG_OP, TG_TABLE_NAME);
    END $fn$
    """,
    "DROP TRIGGER IF EXISTS billing_invoice_frozen ON tenants_invoice",
    "CREATE TRIGGER billing_invoice_frozen BEFORE UPDATE OR DELETE ON tenants_invoice "
    f"FOR EACH ROW EXECUTE FUNCTION {FREEZE_FUNCTION}()",
    "DROP TRIGGER IF EXISTS billing_invoiceline_frozen ON tenants_invoiceline",
    "CREATE TRIGGER billing_invoiceline_frozen BEFORE UPDATE OR DELETE ON tenants_invoiceline "
    f"FOR EACH ROW EXECUTE FUNCTION {FREEZE_FUNCTION}()",
]
UNFREEZE_SQL = [
    "DROP TRIGGER IF EXISTS billing_invoiceline_frozen ON tenants_invoiceline",
    "DROP TRIGGER IF EXISTS billing_invoice_frozen ON tenants_invoice",
    f"DROP FUNCTION IF EXISTS {FREEZE_FUNCTION}()",
]


# --- since migration 0009: a frozen invoice without triggers -----------------------------------
#
# Citus refuses triggers on distributed tables, so the database keeps a paid or void invoice
# as it is with what it accepts on them, privileges and row-level security policies:
#
# * Lines are written once, when the platform issues the invoice, and never change: neither
#   the runtime role nor the platform role may UPDATE them, and only the platform role may
#   DELETE them (its purge of a whole clinic, clinics.purge).
# * An invoice's document never changes after issue: the runtime role may UPDATE only the
#   columns of its life cycle (INVOICE_LIFECYCLE_COLUMNS: paid, void, overdue, the provider's
#   checkout handle) and may not DELETE it; the platform role may not UPDATE it at all
#   (migration 0005) and deletes it only in a purge.
# * Once paid or void, not even those columns: FROZEN_POLICIES are RESTRICTIVE policies
#   whose USING hides a frozen invoice from every UPDATE and DELETE (and from SELECT … FOR
#   UPDATE, which needs the UPDATE policy too) of a role under row-level security. Such a
#   statement changes no row; Django's save(update_fields=...) raises DatabaseError for it.
#   The platform role bypasses row-level security but holds no UPDATE privilege, and its
#   DELETE is the purge, as with the triggers before.
#
# The policies' names do not start with "clinic_", so EnableTenantRLS (which replaces the
# policies of a kind) leaves them in place; the model declares them (Invoice.
# rls_extra_policies) so that `check_rls` expects exactly them beside the kind's own.
INVOICE_LIFECYCLE_COLUMNS = (
    "status",
    "paid_at",
    "voided_at",
    "void_reason",
    "provider",
    "provider_reference",
)
NOT_FROZEN = "status NOT IN ('paid', 'void')"
FROZEN_POLICIES = (
    # WITH CHECK (true): the new row may well be paid; only the old one must not be.
    Policy("billing_frozen_no_update", "UPDATE", NOT_FROZEN, "true", restrictive=True),
    Policy("billing_frozen_no_delete", "DELETE", NOT_FROZEN, None, restrictive=True),
)


def frozen_grant_problems(cursor, *, runtime: str, platform: str) -> list[str]:
    """What `check_rls` reports when a role's privileges would let a frozen invoice change:
    a grant given back by hand undoes the freeze as surely as a dropped policy."""
    forbidden = [
        ("tenants_invoiceline", runtime, "UPDATE"),
        ("tenants_invoiceline", runtime, "DELETE"),
        ("tenants_invoiceline", platform, "UPDATE"),
        ("tenants_invoice", runtime, "DELETE"),
        ("tenants_invoice", platform, "UPDATE"),
    ]
    cursor.execute("SELECT to_regclass('tenants_invoice'), to_regclass('tenants_invoiceline')")
    if None in cursor.fetchone():
        return []
    problems = []
    for table, role, privilege in forbidden:
        # An UPDATE granted on a single column counts too; DELETE exists only on the table.
        function = "has_any_column_privilege" if privilege == "UPDATE" else "has_table_privilege"
        cursor.execute(f"SELECT {function}(%s, %s, %s)", [role, table, privilege])
        if cursor.fetchone()[0]:
            problems.append(f"{table}: role {role} has {privilege} (a frozen invoice could change)")
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'tenants_invoice'::regclass "
        "AND attnum > 0 AND NOT attisdropped AND NOT attname = ANY(%s) "
        "AND has_column_privilege(%s, 'tenants_invoice', attname, 'UPDATE') ORDER BY attnum",
        [list(INVOICE_LIFECYCLE_COLUMNS), runtime],
    )
    for (column,) in cursor.fetchall():
        problems.append(
            f"tenants_invoice.{column}: runtime role {runtime} may UPDATE it (only the "
            f"life-cycle columns {', '.join(INVOICE_LIFECYCLE_COLUMNS)} may change)"
        )
    return problems


def frozen_policies_sql(table: str = "tenants_invoice") -> list[str]:
    return [
        statement
        for policy in FROZEN_POLICIES
        for statement in (
            f'DROP POLICY IF EXISTS "{policy.name}" ON "{table}"',
            policy.create_sql(table),
        )
    ]


def drop_frozen_policies_sql(table: str = "tenants_invoice") -> list[str]:
    return [f'DROP POLICY IF EXISTS "{policy.name}" ON "{table}"' for policy in FROZEN_POLICIES]


class LimitUpdateToColumns(_SQLOperation):
    """Let the role of one database alias UPDATE only `columns` of a table (column
    privileges); reversed, UPDATE on the whole table comes back."""

    def __init__(self, model_name: str, columns: list[str], alias: str):
        self.model_name = model_name
        self.columns = list(columns)
        self.alias = alias

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"model_name": self.model_name, "columns": self.columns, "alias": self.alias},
        )

    def _sql(self, state, app_label, forwards: bool):
        model = state.apps.get_model(app_label, self.model_name)
        table = model._meta.db_table
        role = settings.DATABASES[self.alias]["USER"]
        columns = ", ".join(f'"{column}"' for column in self.columns)
        # Revoking UPDATE on the table revokes its column privileges as well.
        grant = (
            f'GRANT UPDATE ({columns}) ON "{table}" TO "{role}"'
            if forwards
            else f'GRANT UPDATE ON "{table}" TO "{role}"'
        )
        return model, [
            f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f'REVOKE UPDATE ON "{table}" FROM "{role}"; {grant}; END IF; END $$'
        ]

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model, statements = self._sql(to_state, app_label, forwards=True)
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, statements)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model, statements = self._sql(from_state, app_label, forwards=False)
        if self._allowed(schema_editor, app_label, model):
            self._execute(schema_editor, statements)

    def describe(self):
        return (
            f"Let the {self.alias} role update only {', '.join(self.columns)} of {self.model_name}"
        )
