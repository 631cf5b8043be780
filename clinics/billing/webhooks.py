"""Provider webhooks: the only way a provider marks an invoice paid.

Order of work, deliberately:

1. Verify the signature over the raw body (the provider's `verify_webhook`). A bad or
   missing signature answers 400 before anything is parsed or stored.
2. Parse the event. Events with nothing to do answer 200 `ignored`.
3. Find the invoice by the provider's order id through the platform role: the request has
   no clinic, and the runtime role would see none. Only the invoice's id and clinic are read.
4. Act in that clinic's context, as the runtime role: record the event id first (a replay
   finds it and does nothing), then check what the event claims against the invoice (the
   clinic and invoice in its notes, the amount and currency) and pay it through
   `payment_record`, or record a refund.

Out-of-order delivery is safe: `payment.captured` and `order.paid` carry the same payment id,
recorded once; a refund that arrives before its capture is kept, and the capture then
finds the money already returned and does not open the plan.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from clinics.billing.providers import PaymentProvider, ProviderEvent
from clinics.billing.services import payment_record, refund_record
from tenants.audit import audit_record
from tenants.billing.models import Invoice, Payment, PaymentEvent
from tenants.context import tenant_context
from tenants.platform import platform_access


def _find_invoice(event: ProviderEvent) -> dict | None:
    if not event.order_reference:
        return None
    with platform_access(
        reason=f"{event.provider} webhook {event.event_type}: find the invoice of "
        f"{event.order_reference}",
        action="platform.billing_webhook",
        details={"event_id": event.event_id},
    ):
        found = list(
            Invoice.objects.filter(
                provider=event.provider, provider_reference=event.order_reference
            ).values("pk", "tenant_id")[:2]
        )
    # A provider's order id names one invoice; should two ever carry it, trust neither.
    return found[0] if len(found) == 1 else None


def _notes_disagree(event: ProviderEvent, found: dict) -> bool:
    claimed_invoice = str(event.notes.get("invoice_id") or "")
    claimed_tenant = str(event.notes.get("tenant_id") or "")
    return bool(
        (claimed_invoice and claimed_invoice != str(found["pk"]))
        or (claimed_tenant and claimed_tenant != str(found["tenant_id"]))
    )


@transaction.atomic
def webhook_receive(*, provider: PaymentProvider, body: bytes, headers) -> str:
    """Handle one webhook request; answers the outcome (also stored with the event)."""
    provider.verify_webhook(body=body, headers=headers)
    event = provider.parse_webhook(body=body, headers=headers)
    if event.kind == "ignored":
        return "ignored"
    found = _find_invoice(event)
    if found is None:
        audit_record(
            action="billing.webhook_unmatched",
            details={
                "provider": event.provider,
                "event_id": event.event_id,
                "type": event.event_type,
                "order": event.order_reference,
            },
        )
        return "unknown_invoice"
    with tenant_context(found["tenant_id"]):
        record = PaymentEvent(
            provider=event.provider,
            event_id=event.event_id,
            event_type=event.event_type,
            invoice_id=found["pk"],
            outcome="received",
            payload=event.payload,
        )
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            return "duplicate"
        invoice = Invoice.objects.get(pk=found["pk"])
        outcome = _apply(event, invoice)
        record.outcome = outcome
        record.save(update_fields=["outcome"])
        if outcome not in ("paid", "refund_recorded"):
            audit_record(
                action="billing.webhook_refused",
                object=invoice,
                details={
                    "provider": event.provider,
                    "event_id": event.event_id,
                    "type": event.event_type,
                    "outcome": outcome,
                    "amount": str(event.amount),
                    "currency": event.currency,
                },
            )
    return outcome


def _apply(event: ProviderEvent, invoice: Invoice) -> str:
    if _notes_disagree(event, {"pk": invoice.pk, "tenant_id": invoice.tenant_id}):
        return "invoice_mismatch"
    if event.kind == "refund":
        if not event.refund_reference or event.amount is None:
            return "malformed"
        if Payment.objects.filter(
            provider=event.provider, kind=Payment.Kind.REFUND, reference=event.refund_reference
        ).exists():
            return "already_recorded"
        refund_record(
            invoice=invoice,
            actor=None,
            provider=event.provider,
            reference=event.refund_reference,
            payment_reference=event.payment_reference,
            amount=event.amount,
        )
        return "refund_recorded"
    if not event.payment_reference or event.amount is None:
        return "malformed"
    if Payment.objects.filter(
        provider=event.provider, kind=Payment.Kind.PAYMENT, reference=event.payment_reference
    ).exists():
        return "already_recorded"
    if event.currency != invoice.currency or event.amount != invoice.total:
        return "amount_mismatch"
    if Payment.objects.filter(
        provider=event.provider,
        kind=Payment.Kind.REFUND,
        payment_reference=event.payment_reference,
    ).exists():
        return "refunded_before_capture"
    if not invoice.is_payable:
        return "invoice_not_payable"
    payment_record(
        invoice=invoice,
        actor=None,
        provider=event.provider,
        method=Payment.Method.ONLINE,
        reference=event.payment_reference,
        amount=event.amount,
        currency=event.currency,
        note=f"{event.event_type} {event.event_id}",
    )
    return "paid"
