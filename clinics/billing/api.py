"""The billing API: a clinic's invoices (read-only), their PDFs, paying one, and the
providers' webhooks."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import ADMIN_ROLES, OWNER_ONLY
from accounts.viewsets import ClinicScopedViewSet
from clinics.billing import documents
from clinics.billing.providers import get_provider
from clinics.billing.serializers import CheckoutSerializer, InvoiceSerializer
from clinics.billing.services import invoice_checkout
from clinics.billing.webhooks import webhook_receive
from core.errors import ApplicationError
from tenants.billing.models import Invoice


@extend_schema(tags=["billing"])
class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicScopedViewSet):
    """The clinic's invoices, newest first (owners and clinic admins); the owner pays."""

    model = Invoice
    serializer_class = InvoiceSerializer
    read_roles = ADMIN_ROLES
    write_roles = OWNER_ONLY
    # Paying must work precisely when the clinic is read-only for an unpaid invoice.
    allow_when_inactive = True
    http_method_names = ["get", "post", "head", "options"]
    filterset_fields = ["status", "kind"]
    ordering_fields = ["created_at", "due_date"]
    ordering = ["-created_at"]

    def narrow_queryset(self, queryset):
        return queryset.prefetch_related("lines").order_by("-created_at")

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(description="PDF")})
    @action(detail=True, methods=["get"], url_path="pdf")
    def pdf(self, request, pk=None):
        return documents.invoice_pdf_response(self.get_object())

    @extend_schema(request=None, responses=CheckoutSerializer)
    @action(detail=True, methods=["post"], url_path="checkout")
    def checkout(self, request, pk=None):
        """Start paying: the provider's checkout options (Razorpay) or instructions."""
        invoice = self.get_object()
        details = invoice_checkout(invoice=invoice, actor=request.user)
        return Response({"provider": details["provider"], "details": details})


@csrf_exempt
@require_POST
def razorpay_webhook(request):
    """Razorpay's webhook. Not a clinic endpoint: no login, no CSRF, no clinic in context;
    the signature over the raw body is the authentication (clinics.billing.webhooks)."""
    try:
        outcome = webhook_receive(
            provider=get_provider("razorpay"), body=request.body, headers=request.headers
        )
    except ApplicationError as exc:
        return JsonResponse({"code": exc.code, "detail": exc.detail}, status=exc.status_code)
    return JsonResponse({"status": outcome})
