"""Money received and returned: recording a payment settles its invoice and gives the clinic
what it paid for; a refund is recorded for an operator to decide on."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinics.billing.services.invoices import (
    invalid_details_error,
    invoice_lock,
    renewal_unpaid_past_grace,
)
from clinics.billing.services.plan_changes import plan_change_record
from clinics.billing.services.terms import today
from core.errors import ApplicationError
from tenants import plans
from tenants.audit import audit_record
from tenants.billing import gst
from tenants.billing.models import Invoice, Payment
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.services import tenant_lock


def _settle(*, tenant: Tenant, invoice: Invoice, actor, paid_at) -> Tenant:
    """The invoice is paid: give the clinic what it paid for, at once. `tenant` is locked."""
    invoice.status = Invoice.Status.PAID
    invoice.paid_at = paid_at
    invoice.save(update_fields=["status", "paid_at"])
    old = tenant.plan
    if invoice.kind == Invoice.Kind.UPGRADE or invoice.plan != tenant.plan:
        tenant.plan = invoice.plan
        tenant.pending_plan = ""
        if invoice.plan != plans.ENTERPRISE:
            tenant.max_doctors_override = tenant.max_patients_override = None
            tenant.custom_monthly_price_inr = None
    if tenant.paid_until is None or invoice.period_end > tenant.paid_until:
        tenant.paid_until = invoice.period_end
    reopened = False
    if tenant.status in (Tenant.Status.EXPIRED, Tenant.Status.PAST_DUE) and not (
        renewal_unpaid_past_grace(tenant, on=today())
    ):
        tenant.status = Tenant.Status.ACTIVE
        reopened = True
    tenant.save()
    audit_record(
        action="invoice.paid",
        actor=actor,
        object=invoice,
        details={"number": invoice.number, "total": str(invoice.total)},
    )
    if old != tenant.plan:
        plan_change_record(
            tenant=tenant,
            actor=actor,
            old=old,
            new=tenant.plan,
            reason=f"paid invoice {invoice.number}",
            invoice=invoice,
        )
    if reopened:
        audit_record(action="tenant.reopened", actor=actor, object=tenant)
    return tenant


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    actor,
    provider: str,
    method: str,
    reference: str,
    amount: Decimal,
    currency: str = "INR",
    received_at=None,
    note: str = "",
) -> Payment:
    """Money received for an invoice: record it and, if it pays the invoice in full, settle.

    Called by the manual provider (an operator recording a transfer, cheque or UPI payment)
    and by verified provider webhooks; nothing else marks an invoice paid. A payment for an
    invoice that is no longer payable, or of another amount, is refused: the operator
    refunds or asks for the difference.
    """
    reference = (reference or "").strip()
    if not reference:
        raise ApplicationError(
            "Give the payment's reference (UTR, cheque number, UPI reference).",
            code="reference_required",
            field_errors={"reference": ["Required."]},
        )
    try:
        amount = gst.money(amount)
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise ApplicationError("The amount is not a number of rupees.", code="invalid") from exc
    with tenant_context(invoice.tenant_id):
        tenant = tenant_lock(Tenant(pk=invoice.tenant_id))
        invoice = invoice_lock(invoice.pk)
        if not invoice.is_payable:
            raise ApplicationError(
                f"Invoice {invoice.number or invoice.pk} is {invoice.get_status_display().lower()}"
                "; it cannot be paid.",
                code="invoice_not_payable",
                status_code=409,
            )
        if currency != invoice.currency or amount != invoice.total:
            raise ApplicationError(
                f"Invoice {invoice.number} is for ₹{invoice.total}; ₹{amount} {currency} does "
                "not pay it.",
                code="amount_mismatch",
                extra={"expected": str(invoice.total), "received": str(amount)},
            )
        payment = Payment(
            invoice=invoice,
            kind=Payment.Kind.PAYMENT,
            provider=provider,
            method=method,
            reference=reference,
            amount=amount,
            currency=currency,
            received_at=received_at or timezone.now(),
            note=(note or "").strip(),
            recorded_by_id=getattr(actor, "pk", None),
            recorded_by_email=getattr(actor, "email", "") or "",
        )
        try:
            payment.full_clean(validate_unique=False)
        except ValidationError as exc:
            raise invalid_details_error(exc) from exc
        try:
            with transaction.atomic():
                payment.save(force_insert=True)
        except IntegrityError as exc:
            raise ApplicationError(
                f"Payment {reference} is already recorded.", code="duplicate_payment"
            ) from exc
        _settle(tenant=tenant, invoice=invoice, actor=actor, paid_at=payment.received_at)
    return payment


@transaction.atomic
def refund_record(
    *, invoice: Invoice, actor, provider: str, reference: str, payment_reference: str, amount
) -> Payment:
    """Money returned by a provider. The paid invoice stays as it is (a tax document); the
    refund is recorded and audited so an operator can decide (credit note, suspension)."""
    with tenant_context(invoice.tenant_id):
        invoice = Invoice.objects.get(pk=invoice.pk)
        refund = Payment(
            invoice=invoice,
            kind=Payment.Kind.REFUND,
            provider=provider,
            method=Payment.Method.ONLINE,
            reference=reference,
            payment_reference=payment_reference,
            amount=gst.money(amount),
            recorded_by_id=getattr(actor, "pk", None),
        )
        refund.full_clean(validate_unique=False)
        refund.save(force_insert=True)
        audit_record(
            action="invoice.refunded",
            actor=actor,
            object=invoice,
            details={"refund": reference, "payment": payment_reference, "amount": str(amount)},
        )
    return refund
