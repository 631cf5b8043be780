"""Billing API shapes: invoices (read-only), plan-request answers and checkouts."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from tenants.billing.models import Invoice, InvoiceLine


class InvoiceLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["position", "description", "sac_code", "quantity", "unit_price", "amount"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    pdf_url = serializers.SerializerMethodField()
    gst_type = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "kind",
            "plan",
            "period_start",
            "period_end",
            "issued_at",
            "due_date",
            "paid_at",
            "bill_to_name",
            "bill_to_address",
            "bill_to_gstin",
            "bill_to_state",
            "seller_name",
            "seller_gstin",
            "seller_state",
            "currency",
            "subtotal",
            "cgst",
            "sgst",
            "igst",
            "total",
            "gst_type",
            "lines",
            "pdf_url",
        ]
        read_only_fields = fields

    def get_pdf_url(self, obj) -> str:
        path = reverse("billing-invoice-pdf", kwargs={"pk": obj.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_gst_type(self, obj) -> str:
        return "cgst_sgst" if obj.intra_state else "igst"


class PlanRequestSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    detail = serializers.CharField(source="message")
    plan = serializers.CharField(source="tenant.plan")
    pending_plan = serializers.CharField(source="tenant.pending_plan")
    effective_on = serializers.DateField(allow_null=True)
    invoice = InvoiceSerializer(allow_null=True)


class CheckoutSerializer(serializers.Serializer):
    provider = serializers.CharField()
    details = serializers.DictField()
