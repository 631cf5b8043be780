"""Migration operations of billing: role privileges and the frozen-invoice triggers."""

from __future__ import annotations

from django.conf import settings

from tenants.operations import _SQLOperation


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


# A paid or void invoice is a tax document: nobody rewrites it. The trigger refuses every
# UPDATE of such an invoice or of one of its lines, for every role (BYPASSRLS does not skip
# triggers), and their DELETE for every role that is subject to row-level security; only the
# platform role's purge of a whole clinic (clinics.purge) may delete them. SECURITY INVOKER:
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
