"""Admin for clinical records: a clinic's own admins (and support acting as the clinic).

Platform operators do not see clinical records here; they look inside one clinic only
through "act as clinic", with a stated reason. Writes go through clinical.services, so the
plan's limits and every other rule hold in the admin exactly as in the API; a model without
a service is view-only here.
"""

from __future__ import annotations

from django.contrib import admin

from clinical.models import Doctor, DoctorOffice, Office, Patient
from clinical.services import office_create, office_update
from tenants.admin_mixins import ClinicOwnedAdmin, ClinicTabularInline, ReadOnlyFieldsMixin


class DoctorOfficeInline(ClinicTabularInline):
    model = DoctorOffice
    fields = ("doctor", "office")
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("doctor__user", "office")


class OfficeDoctorsInline(DoctorOfficeInline):
    fk_name = "office"
    verbose_name_plural = "doctors at this office"


class DoctorOfficesInline(DoctorOfficeInline):
    fk_name = "doctor"
    verbose_name_plural = "offices of this doctor"


@admin.register(Office)
class OfficeAdmin(ClinicOwnedAdmin):
    clinic_permissions = frozenset({"view", "add", "change"})
    list_display = ("name", "phone", "is_primary", "is_active", "created_at")
    list_filter = ("is_active", "is_primary")
    search_fields = ("name", "address")
    ordering = ("-is_primary", "name")
    inlines = (OfficeDoctorsInline,)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "address", "phone", "is_primary")
        return ("name", "address", "phone", "is_primary", "is_active", "created_at")

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            office = office_create(
                tenant=request.tenant,
                name=obj.name,
                address=obj.address,
                phone=obj.phone,
                is_primary=obj.is_primary,
            )
            obj.pk, obj.tenant_id, obj._state.adding = office.pk, office.tenant_id, False
            return
        changes = {name: getattr(obj, name) for name in form.changed_data}
        if changes:
            office_update(tenant=request.tenant, office=Office.objects.get(pk=obj.pk), **changes)


@admin.register(Doctor)
class DoctorAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    list_display = ("__str__", "email", "license_number", "specialization", "is_active")
    list_select_related = ("user",)
    list_filter = ("is_active", "specialization")
    search_fields = (
        "user__first_name",
        "user__last_name",
        "user__email",
        "=license_number",
        "specialization",
    )
    ordering = ("user__first_name", "user__last_name")
    inlines = (DoctorOfficesInline,)

    @admin.display(description="e-mail", ordering="user__email")
    def email(self, obj):
        return obj.user.email


@admin.register(Patient)
class PatientAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    list_display = ("__str__", "mobile", "created_at", "deleted_at")
    list_filter = ("deleted_at",)
    search_fields = ("first_name", "last_name", "=mobile")
    ordering = ("first_name", "last_name")
