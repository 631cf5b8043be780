"""Admin of the dental records: observations, procedures, observation templates and
attachments. Dentists write them through the API; here they are read-only, and an
attachment's file is never linked (only the API's authorised download view serves it).

The lists read one table and prefetch the patients and doctors by key (see
clinical.admin.appointments for why).
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_mixins import ReadOnlyFieldsMixin
from clinical.admin.common import CatalogueFilter, ClinicalAdmin
from clinical.models import DentalAttachment, DentalObservation, DentalProcedure, DentalTemplate
from clinical.selectors import dental_records_with_details


@admin.register(DentalObservation)
class DentalObservationAdmin(ReadOnlyFieldsMixin, ClinicalAdmin):
    """Findings per tooth, recorded by the clinic's dentists (API)."""

    resource = "dental_observations"

    list_display = (
        "observed_on",
        "patient",
        "tooth_number",
        "tooth_surface",
        "condition_type",
        "severity",
        "treatment_required",
        "treatment_done",
        "doctor",
    )
    list_select_related = ()  # prefetched by key instead (see the module's docstring)
    list_filter = ("condition_type", "severity", "treatment_required", "treatment_done")
    search_fields = ("=tooth_number",)
    ordering = ("-observed_on", "-created_at")

    def get_queryset(self, request):
        return dental_records_with_details(super().get_queryset(request))


@admin.register(DentalProcedure)
class DentalProcedureAdmin(ReadOnlyFieldsMixin, ClinicalAdmin):
    """Treatments and their status, written by the clinic's dentists (API)."""

    resource = "dental_procedures"

    list_display = (
        "procedure_code",
        "procedure_name",
        "patient",
        "teeth",
        "status",
        "estimated_cost",
        "actual_cost",
        "doctor",
    )
    list_select_related = ()
    list_filter = ("status",)
    search_fields = ("=procedure_code", "procedure_name")
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return dental_records_with_details(super().get_queryset(request))


@admin.register(DentalTemplate)
class DentalTemplateAdmin(ReadOnlyFieldsMixin, ClinicalAdmin):
    """Observation note templates: the shared starter set (`load_dental_templates`) and the
    clinic's own (API)."""

    resource = "dental_templates"

    list_display = ("name", "condition_type", "tooth_surface", "severity", "shared", "is_active")
    list_filter = (CatalogueFilter, "condition_type", "is_active")
    search_fields = ("name", "notes")
    ordering = ("name", "id")

    @admin.display(boolean=True, description="shared")
    def shared(self, obj):
        return obj.tenant_id is None


@admin.register(DentalAttachment)
class DentalAttachmentAdmin(ReadOnlyFieldsMixin, ClinicalAdmin):
    """X-rays and photos: their details only; the file is downloaded through the API."""

    resource = "dental_attachments"

    fields = (
        "patient",
        "observation",
        "procedure",
        "file_type",
        "content_type",
        "size",
        "original_name",
        "description",
        "uploaded_by",
        "created_at",
    )
    list_display = ("created_at", "patient", "file_type", "content_type", "size", "original_name")
    list_select_related = ()
    list_filter = ("file_type", "content_type")
    search_fields = ("original_name",)
    ordering = ("-created_at",)

    def get_readonly_fields(self, request, obj=None):
        return [n for n in super().get_readonly_fields(request, obj) if n != "file"]

    def get_queryset(self, request):
        return dental_records_with_details(super().get_queryset(request))
