"""Admin of prescriptions: their items and prints.

The list reads one table and prefetches the patients and doctors by key, as the API does: a
join of two tables under row-level security makes PostgreSQL misjudge the join
(clinical.selectors).
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_mixins import ReadOnlyFieldsMixin
from clinical.admin.appointments import DoctorFilter
from clinical.admin.common import ClinicalAdmin, ReadOnlyInline
from clinical.models import Prescription, PrescriptionItem, PrescriptionPrint
from clinical.selectors import prescriptions_with_details


class PrescriptionItemInline(ReadOnlyInline):
    model = PrescriptionItem
    fields = ("medicine", "dosage", "frequency", "duration", "instructions", "quantity")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("medicine")


class PrescriptionPrintInline(ReadOnlyInline):
    model = PrescriptionPrint
    fields = ("printed_at", "printed_by", "format")
    verbose_name_plural = "prints"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("printed_by")


@admin.register(Prescription)
class PrescriptionAdmin(ReadOnlyFieldsMixin, ClinicalAdmin):
    """Written, changed and signed only by their doctor (API); here, read-only."""

    resource = "prescriptions"

    list_display = ("prescription_number", "visit_date", "patient", "doctor", "status")
    list_select_related = ()  # prefetched by key instead (see the module's docstring)
    list_filter = ("status", "visit_date", DoctorFilter)
    search_fields = ("=prescription_number",)
    ordering = ("-visit_date", "-created_at")
    inlines = (PrescriptionItemInline, PrescriptionPrintInline)

    def get_queryset(self, request):
        return prescriptions_with_details(super().get_queryset(request))
