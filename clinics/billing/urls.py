from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from clinics.billing import api

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("invoices", api.InvoiceViewSet, basename="billing-invoice")

urlpatterns = [
    path("webhooks/razorpay/", api.razorpay_webhook, name="billing-webhook-razorpay"),
    *router.urls,
]
