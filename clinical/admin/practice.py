"""Admin of the practice: offices, doctors and the letterheads (print templates) of both.

Offices, doctor profiles and letterheads change through their services; doctors are
deactivated, never deleted, and new doctors are invited from the team page or the API.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from accounts.admin_mixins import ClinicOwnedAdmin, ClinicTabularInline
from clinical.admin.common import (
    ADMIN_ACTIONS,
    ClinicalAdmin,
    ReadOnlyInline,
    form_changes,
    run_each,
)
from clinical.languages import print_languages
from clinical.models import Doctor, DoctorAvailability, DoctorOffice, Office, PrintTemplate
from clinical.services import (
    doctor_activate,
    doctor_deactivate,
    doctor_update,
    office_create,
    office_update,
)
from clinical.services.practice import DOCTOR_EDITABLE_FIELDS
from clinical.services.printing import (
    EDITABLE_FIELDS as PRINT_TEMPLATE_FIELDS,
)
from clinical.services.printing import (
    print_template_create,
    print_template_delete,
    print_template_update,
)

# --- offices and doctors -----------------------------------------------------------------------


class OfficeDoctorsInline(ReadOnlyInline):
    model = DoctorOffice
    fk_name = "office"
    fields = ("doctor",)
    verbose_name_plural = "doctors at this office"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("doctor__user")


class DoctorOfficesInline(ReadOnlyInline):
    model = DoctorOffice
    fk_name = "doctor"
    fields = ("office",)
    verbose_name_plural = "offices of this doctor"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("office")


class AvailabilityInline(ClinicTabularInline):
    """The doctor's weekly hours: changed by whoever may change the doctor (owners and
    admins), as one list through doctor_update (DoctorAdmin.save_related), and read-only for
    everybody else who sees the doctor (receptionists book by them)."""

    model = DoctorAvailability
    fields = ("weekday", "start_time", "end_time", "office")
    verbose_name_plural = "weekly availability"
    clinic_permissions = frozenset({"view", "add", "change", "delete"})
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("office")


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
        elif form.changed_data:
            office_update(
                tenant=request.tenant, office=Office.objects.get(pk=obj.pk), **form_changes(form)
            )


@admin.register(Doctor)
class DoctorAdmin(ClinicalAdmin):
    """Profiles change through doctor_update; doctors are deactivated, never deleted. New
    doctors are invited from the clinic's team page or the API."""

    resource = "doctors"
    admin_actions = {**ADMIN_ACTIONS, "operate": "deactivate"}

    clinic_permissions = frozenset({"view", "change", "operate"})
    list_display = ("__str__", "email", "license_number", "specialization", "is_active")
    list_select_related = ("user",)  # people are not a clinic table: no RLS join
    list_filter = ("is_active", "specialization")
    search_fields = (
        "user__first_name",
        "user__last_name",
        "user__email",
        "=license_number",
        "specialization",
    )
    ordering = ("user__first_name", "user__last_name")
    fields = ("user", *DOCTOR_EDITABLE_FIELDS, "is_active", "created_at", "updated_at")
    readonly_fields = ("user", "is_active", "created_at", "updated_at")
    inlines = (DoctorOfficesInline, AvailabilityInline)
    actions = ("deactivate", "activate")

    @admin.display(description="e-mail", ordering="user__email")
    def email(self, obj):
        return obj.user.email

    def save_model(self, request, obj, form, change):
        if form.changed_data:
            doctor_update(
                tenant=request.tenant,
                actor=request.user,
                doctor=Doctor.objects.get(pk=obj.pk),
                **form_changes(form),
            )

    def save_related(self, request, form, formsets, change):
        # The weekly hours are replaced as one list by the same service as the API's PATCH
        # (a real weekday, start before end, no overlap, one of the doctor's offices); a
        # refusal comes back on the form, and nothing of the page is saved.
        form.save_m2m()
        for formset in formsets:
            if formset.model is not DoctorAvailability:
                self.save_formset(request, form, formset, change=change)
                continue
            # Nothing saved row by row: the service's own audit event says what changed.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if formset.has_changed():
                windows = [
                    {
                        "weekday": row.cleaned_data["weekday"],
                        "start_time": row.cleaned_data["start_time"],
                        "end_time": row.cleaned_data["end_time"],
                        "office_id": row.cleaned_data["office"].pk
                        if row.cleaned_data.get("office")
                        else None,
                    }
                    for row in formset.forms
                    if row.cleaned_data and not row.cleaned_data.get("DELETE")
                ]
                doctor_update(
                    tenant=request.tenant,
                    actor=request.user,
                    doctor=Doctor.objects.get(pk=form.instance.pk),
                    availability=windows,
                )

    @admin.action(description="Deactivate (frees the seat; history stays)", permissions=["operate"])
    def deactivate(self, request, queryset):
        run_each(self, request, queryset, doctor_deactivate, "doctor")

    @admin.action(description="Activate (within the plan's doctor limit)", permissions=["operate"])
    def activate(self, request, queryset):
        run_each(self, request, queryset, doctor_activate, "doctor")


# --- print templates --------------------------------------------------------------------------


class PrintTemplateForm(forms.ModelForm):
    language = forms.ChoiceField(required=False)

    class Meta:
        model = PrintTemplate
        fields = ("office", "doctor", *PRINT_TEMPLATE_FIELDS, "logo", "signature")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["language"].choices = [("", "English (default)"), *print_languages()]
        for name in ("logo", "signature"):
            if name in self.fields:
                self.fields[name].help_text = "JPEG or PNG, at most 1 MB."


@admin.register(PrintTemplate)
class PrintTemplateAdmin(ClinicalAdmin):
    """The clinic's letterheads, through the print template services (images sniffed and
    size-limited, stored under the clinic's prefix). The image fields show the stored name
    only; the images themselves are served by the API to members of the clinic."""

    resource = "print_templates"

    form = PrintTemplateForm
    clinic_permissions = frozenset({"view", "add", "change", "delete"})
    list_display = ("name", "scope", "office", "doctor", "paper_size", "orientation", "language")
    list_filter = ("paper_size", "orientation")
    search_fields = ("name", "header_title")
    ordering = ("name",)

    def get_queryset(self, request):
        # The office and the doctor by key, not by a join of two clinic tables.
        return super().get_queryset(request).prefetch_related("office", "doctor__user")

    def get_fields(self, request, obj=None):
        fields = [*PRINT_TEMPLATE_FIELDS, "logo", "signature"]
        return ["office", "doctor", *fields] if obj is None else ["scope", *fields]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *(["scope"] if obj else [])]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        images, removed = {}, {}
        for name in ("logo", "signature"):
            value = data.get(name)
            if value is False:
                removed[f"remove_{name}"] = True
            elif name in form.changed_data and hasattr(value, "content_type"):
                images[name] = value
        if not change:
            fields = {n: data[n] for n in PRINT_TEMPLATE_FIELDS if data.get(n) is not None}
            template = print_template_create(
                tenant=request.tenant,
                actor=request.user,
                office_id=data["office"].pk if data.get("office") else None,
                doctor_id=data["doctor"].pk if data.get("doctor") else None,
                **images,
                **fields,
            )
            obj.pk, obj.tenant_id, obj._state.adding = template.pk, template.tenant_id, False
        else:
            changes = {n: data[n] for n in form.changed_data if n in PRINT_TEMPLATE_FIELDS}
            print_template_update(
                tenant=request.tenant,
                actor=request.user,
                template=PrintTemplate.objects.get(pk=obj.pk),
                **images,
                **removed,
                **changes,
            )

    def delete_model(self, request, obj):
        print_template_delete(tenant=request.tenant, actor=request.user, template=obj)

    def delete_queryset(self, request, queryset):
        for template in queryset:
            print_template_delete(tenant=request.tenant, actor=request.user, template=template)
