"""Billing in the admin: operators see every clinic's invoices, record payments and void;
a clinic's owner sees the clinic's invoices and payments, read-only. Every write is a
billing service (the same as the commands and webhooks)."""

from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.contrib import admin
from django.utils import timezone

from accounts.admin_mixins import (
    ClinicOwnedAdmin,
    ClinicTabularInline,
    ReadOnlyFieldsMixin,
    form_action,
)
from accounts.models import OWNER_ONLY
from clinics.billing.services import invoice_void, payment_record
from tenants.admin_mixins import ViewOnlyMixin
from tenants.billing.models import Invoice, InvoiceLine, Payment, PaymentEvent


class RecordPaymentForm(forms.Form):
    method = forms.ChoiceField(
        choices=[c for c in Payment.Method.choices if c[0] != Payment.Method.ONLINE]
    )
    reference = forms.CharField(
        max_length=100, help_text="UTR of the transfer, cheque number or UPI reference."
    )
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, help_text="Must equal the invoice total."
    )
    received_on = forms.DateField(initial=timezone.localdate)
    note = forms.CharField(max_length=500, required=False)


class VoidForm(forms.Form):
    reason = forms.CharField(max_length=500, help_text="Kept on the invoice and in the audit log.")


class InvoiceLineInline(ReadOnlyFieldsMixin, ClinicTabularInline):
    model = InvoiceLine
    platform_permissions = frozenset({"view"})
    clinic_permissions = frozenset({"view"})
    clinic_roles = OWNER_ONLY
    show_change_link = False
    can_delete = False
    fields = ("position", "description", "sac_code", "quantity", "unit_price", "amount")


@admin.register(Invoice)
class InvoiceAdmin(ViewOnlyMixin, ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    platform_permissions = frozenset({"view", "operate"})
    clinic_permissions = frozenset({"view"})
    clinic_roles = OWNER_ONLY
    list_display = ("number", "status", "kind", "plan", "total", "due_date", "paid_at")
    list_filter = ("status", "kind", "plan", "financial_year")
    search_fields = ("=number", "bill_to_name", "=provider_reference")
    ordering = ("-created_at",)
    inlines = (InvoiceLineInline,)
    actions = ("record_payment", "void")

    record_payment = form_action(
        name="record_payment",
        form_class=RecordPaymentForm,
        description="Record a payment (bank transfer, UPI, cheque)",
        apply=lambda ma, request, obj, data: payment_record(
            invoice=obj,
            actor=request.user,
            provider="manual",
            method=data["method"],
            reference=data["reference"],
            amount=data["amount"],
            received_at=timezone.make_aware(datetime.combine(data["received_on"], time())),
            note=data["note"],
        ),
    )
    void = form_action(
        name="void",
        form_class=VoidForm,
        description="Void (unpaid invoices only)",
        apply=lambda ma, request, obj, data: invoice_void(
            invoice=obj, actor=request.user, reason=data["reason"]
        ),
    )


@admin.register(Payment)
class PaymentAdmin(ViewOnlyMixin, ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    platform_permissions = frozenset({"view"})
    clinic_permissions = frozenset({"view"})
    clinic_roles = OWNER_ONLY
    list_display = ("received_at", "invoice", "kind", "provider", "method", "reference", "amount")
    list_filter = ("kind", "provider", "method")
    search_fields = ("=reference",)
    ordering = ("-received_at",)


@admin.register(PaymentEvent)
class PaymentEventAdmin(ViewOnlyMixin, ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    platform_permissions = frozenset({"view"})
    clinic_permissions = frozenset({"view"})
    clinic_roles = OWNER_ONLY
    list_display = ("received_at", "provider", "event_type", "event_id", "outcome", "invoice")
    list_filter = ("provider", "event_type", "outcome")
    search_fields = ("=event_id",)
    ordering = ("-received_at",)
