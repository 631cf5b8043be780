"""Clinic pages: signup, dashboard, plan, clinic settings."""

from __future__ import annotations

from django.urls import path

from clinics import views
from clinics.billing import views as billing_views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("clinic/", views.dashboard, name="dashboard"),
    path("clinic/plan/", views.plan, name="plan"),
    path("clinic/plan/invoices/<uuid:pk>/pdf/", billing_views.invoice_pdf, name="invoice-pdf"),
    path("clinic/plan/invoices/<uuid:pk>/pay/", billing_views.invoice_pay, name="invoice-pay"),
    path("clinic/settings/", views.clinic_settings, name="clinic-settings"),
    path("clinic/settings/offices/", views.office_add, name="office-add"),
    path("clinic/settings/offices/<uuid:pk>/", views.office_edit, name="office-edit"),
]
