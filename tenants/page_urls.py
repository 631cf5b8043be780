"""Clinic pages: signup, dashboard, plan, clinic settings."""

from __future__ import annotations

from django.urls import path

from tenants import views
from tenants.billing import views as billing_views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("clinic/", views.dashboard, name="dashboard"),
    path("clinic/plan/", views.plan, name="plan"),
    path("clinic/plan/invoices/<uuid:pk>/pdf/", billing_views.invoice_pdf, name="invoice-pdf"),
    path("clinic/plan/invoices/<uuid:pk>/pay/", billing_views.invoice_pay, name="invoice-pay"),
    path("clinic/settings/", views.clinic_settings, name="clinic-settings"),
    path("clinic/settings/offices/", views.office_add, name="office-add"),
    path("clinic/settings/offices/<uuid:pk>/", views.office_edit, name="office-edit"),
    path(
        "clinic/prescriptions/<uuid:pk>/print/",
        views.prescription_print,
        name="prescription-print",
    ),
    path("clinic/prescriptions/<uuid:pk>/pdf/", views.prescription_pdf, name="prescription-pdf"),
    path(
        "clinic/patients/<uuid:pk>/dental-chart/",
        views.dental_chart_print,
        name="dental-chart-print",
    ),
    path(
        "clinic/patients/<uuid:pk>/case-summary/",
        views.case_summary_print,
        name="case-summary-print",
    ),
    path(
        "clinic/patients/<uuid:pk>/case-summary/pdf/",
        views.case_summary_pdf,
        name="case-summary-pdf",
    ),
]
