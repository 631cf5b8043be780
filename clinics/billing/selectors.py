"""Billing reads: a clinic's invoices, its next invoice, and the billing state operators see."""

from __future__ import annotations

from django.db.models import Count, Min, Sum

from clinics.billing.providers import get_provider
from tenants.billing.models import Invoice


def clinic_invoices(tenant):
    """Every invoice of the clinic in context, newest first, with its lines."""
    return (
        Invoice.objects.filter(tenant_id=tenant.pk)
        .prefetch_related("lines")
        .order_by("-created_at")
    )


def next_invoice(tenant) -> Invoice | None:
    """The invoice the clinic should pay next: the payable one due first."""
    return (
        Invoice.objects.filter(tenant_id=tenant.pk, status__in=Invoice.PAYABLE)
        .order_by("due_date", "created_at")
        .first()
    )


def plan_page_billing(tenant) -> dict:
    return {
        "invoices": list(clinic_invoices(tenant)),
        "next_invoice": next_invoice(tenant),
        "pending_plan": tenant.pending_plan,
        "paid_until": tenant.paid_until,
        "provider_label": get_provider().label,
    }


def billing_states(tenant_ids) -> dict:
    """Per clinic: payable invoices (count, amount, earliest due date). Platform access only."""
    tenant_ids = list(tenant_ids)
    rows = (
        Invoice.objects.filter(tenant_id__in=tenant_ids, status__in=Invoice.PAYABLE)
        .values("tenant_id")
        .annotate(count=Count("pk"), amount=Sum("total"), due=Min("due_date"))
    )
    overdue = set(
        Invoice.objects.filter(tenant_id__in=tenant_ids, status=Invoice.Status.OVERDUE).values_list(
            "tenant_id", flat=True
        )
    )
    return {
        row["tenant_id"]: {
            "unpaid_invoices": row["count"],
            "unpaid_amount": str(row["amount"]),
            "next_due": row["due"].isoformat() if row["due"] else None,
            "overdue": row["tenant_id"] in overdue,
        }
        for row in rows
    }
