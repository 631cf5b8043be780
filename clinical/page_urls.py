"""The clinical pages: printable prescriptions, dental charts and case summaries."""

from __future__ import annotations

from django.urls import path

from clinical import views

urlpatterns = [
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
