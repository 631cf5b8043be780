"""Invoices: pricing, issuing (as the platform), voiding and starting a provider's checkout.

Two database roles take part, on purpose:

* Issuing an invoice is the platform's act: its number comes from a per-financial-year
  counter that only the platform role can touch. The counter row is locked
  (SELECT … FOR UPDATE) and the invoice and its lines are inserted in the same platform
  transaction, so a number is taken exactly when its invoice exists: no gaps, no doubles.
* Everything that happens to an invoice afterwards (paid, void, overdue) and to the clinic
  runs as the runtime role inside that clinic's context, under row-level security.

A caller must not hold the clinic row's FOR UPDATE lock while issuing: the platform
connection's insert checks its foreign key to the clinic (FOR KEY SHARE), which FOR UPDATE
on another connection of the same thread would block for ever. `plan_request` issues before
it locks anything, and `billing_run` issues outside any clinic transaction.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from clinics.billing.providers import get_provider
from clinics.billing.services.terms import add_month, due_days, grace_days, seller, today
from core.errors import ApplicationError
from tenants import plans
from tenants.audit import audit_record
from tenants.billing import gst
from tenants.billing.models import Invoice, InvoiceCounter, InvoiceLine
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.platform import platform_access
from tenants.services import tenant_lock

# --- issuing --------------------------------------------------------------------------------


def invalid_details_error(exc: ValidationError) -> ApplicationError:
    """The error for a model that refused the billing details, with its field errors."""
    return ApplicationError(
        "Some billing details are invalid.",
        code="invalid",
        field_errors=getattr(exc, "message_dict", {"__all__": exc.messages}),
    )


def monthly_price(tenant: Tenant, plan_code: str) -> Decimal:
    """The price before GST of one month of `plan_code` for this clinic."""
    if plan_code == plans.ENTERPRISE or (
        plan_code == tenant.plan and tenant.custom_monthly_price_inr is not None
    ):
        price = tenant.custom_monthly_price_inr
    else:
        price = plans.get_plan(plan_code).monthly_price_inr
    if not price:
        raise ApplicationError(
            f"The {plans.get_plan(plan_code).name} plan has no price for this clinic; an "
            "operator sets Enterprise prices.",
            code="no_price",
        )
    return gst.money(price)


@transaction.atomic
def invoice_issue(
    *,
    tenant: Tenant,
    kind: str,
    plan: str,
    period_start: datetime.date,
    actor=None,
    issued_on: datetime.date | None = None,
    due_date: datetime.date | None = None,
) -> Invoice:
    """Number and open an invoice for one month of `plan`, as the platform.

    The clinic's billing details and the platform's are copied onto the invoice (the
    document must not change when a clinic edits its address later); GST is CGST + SGST when
    the clinic's state is the platform's, IGST otherwise.
    """

    issued_on = issued_on or today()
    price = monthly_price(tenant, plan)
    supplier = seller()
    split = gst.tax_split(
        price, supplier_state=supplier["seller_state"], place_of_supply=tenant.billing_state
    )
    period_end = add_month(period_start)
    plan_name = plans.get_plan(plan).name
    description = (
        f"{plan_name} plan subscription, {period_start:%d %b %Y} to "
        f"{period_end - datetime.timedelta(days=1):%d %b %Y}"
    )
    year = gst.financial_year(issued_on)
    with platform_access(
        reason=f"issue a {kind} invoice for clinic {tenant.code}",
        actor=actor,
        tenant=tenant.pk,
        action="platform.billing",
    ):
        # The counter row of a new year is created once; ON CONFLICT lets two first
        # invoices of a year race without an error, and the lock below orders them.
        InvoiceCounter.objects.bulk_create(
            [InvoiceCounter(financial_year=year)], ignore_conflicts=True
        )
        counter = InvoiceCounter.objects.select_for_update().get(financial_year=year)
        counter.last_number += 1
        counter.save(update_fields=["last_number"])
        invoice = Invoice(
            tenant_id=tenant.pk,
            number=f"INV/{year}/{counter.last_number:06d}",
            financial_year=year,
            sequence=counter.last_number,
            status=Invoice.Status.OPEN,
            kind=kind,
            plan=plan,
            period_start=period_start,
            period_end=period_end,
            issued_at=timezone.now(),
            due_date=due_date or issued_on + datetime.timedelta(days=due_days()),
            bill_to_name=tenant.name,
            bill_to_address=tenant.address,
            bill_to_gstin=tenant.gstin,
            bill_to_state=tenant.billing_state,
            subtotal=split.taxable,
            cgst=split.cgst,
            sgst=split.sgst,
            igst=split.igst,
            total=split.total,
            created_by_id=getattr(actor, "pk", None),
            created_by_email=getattr(actor, "email", "") or "",
            **supplier,
        )
        try:
            invoice.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise invalid_details_error(exc) from exc
        invoice.save(force_insert=True)
        InvoiceLine.objects.create(
            tenant_id=tenant.pk,
            invoice=invoice,
            position=1,
            description=description,
            quantity=1,
            unit_price=split.taxable,
            amount=split.taxable,
        )
        audit_record(
            action="invoice.issued",
            actor=actor,
            tenant=tenant.pk,
            object=invoice,
            details={
                "number": invoice.number,
                "kind": kind,
                "plan": plan,
                "total": str(split.total),
            },
        )
    # Read back as the runtime role in the clinic's context: the object above belongs to the
    # platform connection, which refuses every query once the block has ended.
    with tenant_context(tenant.pk):
        return Invoice.objects.prefetch_related("lines").get(pk=invoice.pk)


# --- reading and voiding --------------------------------------------------------------------


def invoice_lock(invoice_id) -> Invoice:
    """The invoice, locked (SELECT … FOR UPDATE) until the transaction ends; a paid or void
    invoice unlocked.

    The database hides a paid or void invoice from SELECT … FOR UPDATE as from UPDATE (the
    frozen-invoice policies, tenants.billing.operations): such an invoice never changes, so
    it is read without a lock and the caller refuses to change it. A caller that waited for
    the lock while another transaction paid the invoice gets it the same way, paid.
    """
    locked = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
    return locked if locked is not None else Invoice.objects.get(pk=invoice_id)


def renewal_unpaid_past_grace(tenant: Tenant, *, on: datetime.date) -> bool:
    """Whether a renewal of this clinic is still unpaid `BILLING_GRACE_DAYS` after its due date."""
    return Invoice.objects.filter(
        tenant_id=tenant.pk,
        kind=Invoice.Kind.RENEWAL,
        status__in=Invoice.PAYABLE,
        due_date__lt=on - datetime.timedelta(days=grace_days()),
    ).exists()


def open_upgrade_invoices(tenant_id):
    """The clinic's upgrade invoices that can still be paid (at most one, by design)."""
    return Invoice.objects.filter(
        tenant_id=tenant_id, kind=Invoice.Kind.UPGRADE, status__in=Invoice.PAYABLE
    )


def invoice_mark_void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    """Void an unpaid invoice, in the caller's transaction and clinic context."""
    invoice = invoice_lock(invoice.pk)
    if invoice.status in Invoice.FROZEN:
        raise ApplicationError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()} and never "
            "changes.",
            code="invoice_frozen",
            status_code=409,
        )
    invoice.status = Invoice.Status.VOID
    invoice.voided_at = timezone.now()
    invoice.void_reason = reason[:500]
    invoice.save(update_fields=["status", "voided_at", "void_reason"])
    audit_record(
        action="invoice.voided",
        actor=actor,
        object=invoice,
        reason=reason,
        details={"number": invoice.number},
    )
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor, reason: str) -> Invoice:
    """An operator cancels an unpaid invoice (issued in error, agreed otherwise). The number
    stays used: a void invoice keeps it, so the sequence has no gap."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            "Say why the invoice is void.",
            code="reason_required",
            field_errors={"reason": ["Required."]},
        )
    with tenant_context(invoice.tenant_id):
        tenant = tenant_lock(Tenant(pk=invoice.tenant_id))
        invoice = invoice_mark_void(invoice=invoice, actor=actor, reason=reason)
        if tenant.status == Tenant.Status.PAST_DUE and not renewal_unpaid_past_grace(
            tenant, on=today()
        ):
            tenant.status = Tenant.Status.ACTIVE
            tenant.save(update_fields=["status", "updated_at"])
            audit_record(action="tenant.reopened", actor=actor, object=tenant)
    return invoice


@transaction.atomic
def invoice_checkout(*, invoice: Invoice, actor, provider_name: str | None = None) -> dict:
    """Start paying an invoice with a provider: what the clinic is shown (a link, or the
    provider's checkout options). Creating the provider's order is idempotent per invoice."""

    provider = get_provider(provider_name)
    with tenant_context(invoice.tenant_id):
        invoice = invoice_lock(invoice.pk)
        if not invoice.is_payable:
            raise ApplicationError(
                f"Invoice {invoice.number} is {invoice.get_status_display().lower()}.",
                code="invoice_not_payable",
                status_code=409,
            )
        if invoice.provider != provider.name or not invoice.provider_reference:
            reference = provider.create_checkout(invoice)
            if reference:
                invoice.provider = provider.name
                invoice.provider_reference = reference
                invoice.save(update_fields=["provider", "provider_reference"])
                audit_record(
                    action="invoice.checkout_started",
                    actor=actor,
                    object=invoice,
                    details={"provider": provider.name, "reference": reference},
                )
        return provider.checkout_details(invoice)
