"""Billing pages: an invoice's PDF and paying it (the plan page lists the invoices)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import ADMIN_ROLES, OWNER_ONLY
from accounts.pages import clinic_page
from clinics.billing import documents
from clinics.billing.services import invoice_checkout
from core.errors import ApplicationError
from tenants.billing.models import Invoice


@clinic_page(read_roles=ADMIN_ROLES)
def invoice_pdf(request, pk):
    return documents.invoice_pdf_response(get_object_or_404(Invoice.objects.all(), pk=pk))


@require_http_methods(["POST"])
@clinic_page(write_roles=OWNER_ONLY, allow_when_inactive=True)
def invoice_pay(request, pk):
    """ "Pay now": start the provider's checkout and show it (Razorpay's checkout button, or
    the bank details for a manual payment). The invoice becomes paid only when the provider
    confirms the payment by webhook, or an operator records it."""
    invoice = get_object_or_404(Invoice.objects.all(), pk=pk)
    try:
        checkout = invoice_checkout(invoice=invoice, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.detail)
        return redirect("plan")
    invoice.refresh_from_db()
    return render(request, "tenants/invoice_pay.html", {"invoice": invoice, "checkout": checkout})
