"""Small readers and writers the billing tests share."""

from __future__ import annotations

from django.utils import timezone

from clinics.billing.services import (
    payment_record,
)
from tenants.billing import gst
from tenants.billing.models import Invoice, Payment
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant

TODAY = timezone.localdate()
FY = gst.financial_year(TODAY)


def reload(tenant) -> Tenant:
    with tenant_context(tenant):
        return Tenant.objects.get(pk=tenant.pk)


def invoices(tenant) -> list[Invoice]:
    with tenant_context(tenant):
        return list(Invoice.objects.order_by("created_at"))


def pay(invoice, *, reference="UTR123", amount=None, actor=None):
    return payment_record(
        invoice=invoice,
        actor=actor,
        provider="manual",
        method=Payment.Method.BANK_TRANSFER,
        reference=reference,
        amount=invoice.total if amount is None else amount,
    )


def actions(tenant) -> list[str]:
    with tenant_context(tenant):
        return list(AuditEvent.objects.order_by("created_at").values_list("action", flat=True))
