"""Billing: a paid or void invoice never changes, in the service and in the database, without
triggers (tenants.billing.operations: privileges and restrictive policies; issue 17).

Issuing an invoice is the platform's act on its own connection, so these tests commit their
data (`live_db`).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, connections, transaction

from clinics.billing.services import (
    invoice_void,
    plan_request,
)
from clinics.tests.billing.helpers import (
    FY,
    invoices,
    pay,
)
from core.errors import ApplicationError
from tenants import plans
from tenants.billing.models import Invoice, InvoiceLine
from tenants.billing.operations import drop_frozen_policies_sql, frozen_policies_sql
from tenants.checks import inspect_database
from tenants.context import tenant_context
from tenants.platform import platform_access
from tenants.routers import PLATFORM_ALIAS
from tenants.tests.test_guards import owner_sql

# --- a paid invoice never changes --------------------------------------------------------------


def test_the_service_refuses_to_void_or_pay_a_paid_invoice_again(paid_invoice):
    with pytest.raises(ApplicationError) as excinfo:
        invoice_void(invoice=paid_invoice, actor=None, reason="oops")
    assert excinfo.value.code == "invoice_frozen"
    with pytest.raises(ApplicationError) as excinfo:
        pay(paid_invoice, reference="UTR999")
    assert excinfo.value.code == "invoice_not_payable"


def _unchanged(clinic, paid_invoice) -> None:
    with tenant_context(clinic):
        invoice = Invoice.objects.get(pk=paid_invoice.pk)
        assert (invoice.status, invoice.total) == ("paid", Decimal("3538.82"))
        assert InvoiceLine.objects.get().description.startswith("Basic plan")


@pytest.mark.parametrize(
    "statement",
    [
        # The document itself: no role may change it once issued (column privileges).
        "UPDATE tenants_invoice SET total = 1, subtotal = 1, igst = 0, cgst = 0, sgst = 0",
        "DELETE FROM tenants_invoice",
        # Lines are insert-only.
        "UPDATE tenants_invoiceline SET description = 'changed'",
        "DELETE FROM tenants_invoiceline",
    ],
)
def test_the_database_refuses_to_change_a_paid_invoice_or_its_lines(
    paid_invoice, clinic, statement
):
    with tenant_context(clinic), pytest.raises(DatabaseError) as excinfo:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert "permission denied" in str(excinfo.value)
    _unchanged(clinic, paid_invoice)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE tenants_invoice SET status = 'void', voided_at = now()",
        "UPDATE tenants_invoice SET provider = 'manual', provider_reference = 'x'",
        "SELECT 1 FROM tenants_invoice FOR UPDATE",
    ],
)
def test_a_paid_invoices_life_cycle_is_over_in_the_database(paid_invoice, clinic, statement):
    # The columns the runtime role may update on an open invoice: the frozen-invoice policies
    # hide a paid one from every UPDATE (and row lock), so the statement changes nothing.
    with tenant_context(clinic), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
        assert cursor.rowcount == 0
    _unchanged(clinic, paid_invoice)


def test_the_orm_cannot_save_a_paid_invoice_either(paid_invoice, clinic):
    with tenant_context(clinic), pytest.raises(DatabaseError, match="did not affect any rows"):
        with transaction.atomic():
            invoice = Invoice.objects.get(pk=paid_invoice.pk)
            invoice.status = Invoice.Status.VOID
            invoice.save(update_fields=["status"])
    _unchanged(clinic, paid_invoice)


def test_the_frozen_invoice_policies_are_what_keeps_it(paid_invoice, clinic):
    # Without the policies the runtime role could void a paid invoice: they are the guard.
    with owner_sql(*drop_frozen_policies_sql(), restore=frozen_policies_sql()):
        with tenant_context(clinic), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE tenants_invoice SET status = 'void', voided_at = now()")
            assert cursor.rowcount == 1
            transaction.set_rollback(True)
        # ...and check_rls notices that they are gone.
        problems = inspect_database()
        assert any("policy billing_frozen_no_update is missing" in p for p in problems)
    _unchanged(clinic, paid_invoice)
    assert inspect_database() == []


def test_check_rls_notices_a_grant_that_would_unfreeze_an_invoice(live_db, settings):
    runtime = settings.DATABASES["default"]["USER"]
    owner = connections["owner"]
    try:
        with owner.cursor() as cursor:
            cursor.execute(f'GRANT UPDATE ON tenants_invoiceline TO "{runtime}"')
            cursor.execute(f'GRANT UPDATE (total) ON tenants_invoice TO "{runtime}"')
        problems = inspect_database()
        assert f"tenants_invoiceline: role {runtime} has UPDATE" in " ".join(problems)
        assert any(p.startswith("tenants_invoice.total: runtime role") for p in problems)
    finally:
        with owner.cursor() as cursor:
            cursor.execute(f'REVOKE UPDATE ON tenants_invoiceline FROM "{runtime}"')
            cursor.execute(f'REVOKE UPDATE (total) ON tenants_invoice FROM "{runtime}"')
        owner.close()
    assert inspect_database() == []


def test_another_clinic_cannot_reach_the_invoice_either(paid_invoice, clinic, other):
    with tenant_context(other), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE tenants_invoice SET status = 'overdue'")
        assert cursor.rowcount == 0
        cursor.execute("SELECT count(*) FROM tenants_invoiceline")
        assert cursor.fetchone() == (0,)
    _unchanged(clinic, paid_invoice)


def test_the_platform_role_cannot_rewrite_an_invoice(paid_invoice):
    with platform_access(reason="test: try to rewrite an invoice"), pytest.raises(DatabaseError):
        with transaction.atomic(using=PLATFORM_ALIAS):
            with connections[PLATFORM_ALIAS].cursor() as cursor:
                cursor.execute("UPDATE tenants_invoice SET void_reason = 'x'")


def test_an_open_invoice_can_still_be_voided(clinic):
    invoice = plan_request(tenant=clinic, actor=clinic.owner, plan=plans.BASIC).invoice
    invoice_void(invoice=invoice, actor=None, reason="issued in error")
    [invoice] = invoices(clinic)
    assert invoice.status == "void" and invoice.number == f"INV/{FY}/000001"
