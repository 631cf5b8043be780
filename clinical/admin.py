"""Admin for clinical records: a clinic's own admins (and support acting as the clinic).

Platform operators do not see clinical records here; they look inside one clinic only
through "act as clinic", with a stated reason. Writes go through clinical.services, so the
plan's limits, the family rules and every other rule hold in the admin exactly as in the
API; what has no service for owners and admins (appointments, prescriptions, short keys) is
view-only here. Opening a record about a patient is audited with that patient.

Dental records (observations, procedures, attachments, templates) are written by dentists
through the API; here they are read-only, and an attachment's file is never linked (it is
served only by the API's authorised download view).

Lists of records that point at other clinic tables (appointments, prescriptions) read one
table and prefetch the patients and doctors by key, as the API does: a join of two tables
under row-level security makes PostgreSQL misjudge the join (clinical.selectors).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts.admin_mixins import ClinicOwnedAdmin, ClinicTabularInline, ReadOnlyFieldsMixin
from clinical.languages import print_languages
from clinical.models import (
    Appointment,
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    Doctor,
    DoctorAvailability,
    DoctorOffice,
    Medicine,
    Office,
    Patient,
    Prescription,
    PrescriptionItem,
    PrescriptionPrint,
    PrintTemplate,
    ShortKey,
    ShortKeyItem,
)
from clinical.selectors import (
    appointments_with_details,
    dental_records_with_details,
    patient_search,
    prescriptions_with_details,
    short_key_items_prefetch,
)
from clinical.services import (
    doctor_activate,
    doctor_deactivate,
    doctor_update,
    medicine_create,
    medicine_update,
    office_create,
    office_update,
    patient_create,
    patient_delete,
    patient_update,
)
from clinical.services.patients import PATIENT_FIELDS
from clinical.services.practice import DOCTOR_EDITABLE_FIELDS
from clinical.services.printing import (
    EDITABLE_FIELDS as PRINT_TEMPLATE_FIELDS,
)
from clinical.services.printing import (
    print_template_create,
    print_template_delete,
    print_template_update,
)
from clinical.versions import row_version
from core.errors import ApplicationError
from core.validators import normalize_indian_mobile


def _each(modeladmin, request, queryset, service, name: str) -> None:
    """Run a service on every selected row; a refusal is reported and changes that row only."""
    done = 0
    for obj in queryset:
        try:
            service(tenant=request.tenant, actor=request.user, **{name: obj})
            done += 1
        except ApplicationError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"Done for {done} of {len(queryset)}.", messages.SUCCESS)


def _changes(form) -> dict:
    return {name: form.cleaned_data[name] for name in form.changed_data}


class ReadOnlyInline(ClinicTabularInline):
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


# --- practice: offices and doctors ------------------------------------------------------------


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


class AvailabilityInline(ReadOnlyInline):
    model = DoctorAvailability
    fields = ("weekday", "start_time", "end_time", "office")
    verbose_name_plural = "weekly availability"

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
                tenant=request.tenant, office=Office.objects.get(pk=obj.pk), **_changes(form)
            )


@admin.register(Doctor)
class DoctorAdmin(ClinicOwnedAdmin):
    """Profiles change through doctor_update; doctors are deactivated, never deleted. New
    doctors are invited from the clinic's team page or the API."""

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
                **_changes(form),
            )

    @admin.action(description="Deactivate (frees the seat; history stays)", permissions=["operate"])
    def deactivate(self, request, queryset):
        _each(self, request, queryset, doctor_deactivate, "doctor")

    @admin.action(description="Activate (within the plan's doctor limit)", permissions=["operate"])
    def activate(self, request, queryset):
        _each(self, request, queryset, doctor_activate, "doctor")


# --- patients ---------------------------------------------------------------------------------


class PatientForm(forms.ModelForm):
    # Typed as people write it ("+91 98450 12345"); stored as ten digits by the service.
    mobile = forms.CharField(max_length=20)
    print_language = forms.ChoiceField(
        required=False, choices=lambda: [("", "The clinic's"), *print_languages()]
    )
    # The version of the record the form was opened on (clinical.versions): saving over a
    # change someone else made meanwhile is refused and said, instead of overwriting it.
    row_version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Patient
        fields = PATIENT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["row_version"].initial = row_version(Patient, self.instance.pk)

    def clean_mobile(self):
        try:
            return normalize_indian_mobile(self.cleaned_data["mobile"])
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None


class PatientStatusFilter(admin.SimpleListFilter):
    title = "record"
    parameter_name = "record"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("deleted", "Deleted")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(Patient)
class PatientAdmin(ClinicOwnedAdmin):
    """Registration and changes through patient_create / patient_update (plan limit, family
    rules, normalised mobile); removal is the soft delete of patient_delete."""

    clinic_permissions = frozenset({"view", "add", "change", "operate"})
    form = PatientForm
    list_display = ("__str__", "mobile", "relationship_to_primary", "created_at", "deleted_at")
    list_filter = (PatientStatusFilter, "gender")
    search_fields = ("first_name", "last_name", "mobile")
    search_help_text = "A name, or the first digits of a mobile number."
    ordering = ("first_name", "last_name", "id")
    readonly_fields = ("created_at", "updated_at", "deleted_at")
    actions = ("soft_delete",)

    def get_fields(self, request, obj=None):
        if obj is None:
            return PATIENT_FIELDS
        return (*PATIENT_FIELDS, "row_version", "created_at", "updated_at", "deleted_at")

    def get_search_results(self, request, queryset, search_term):
        # The API's search: a mobile-number prefix uses the (tenant, mobile) index.
        return patient_search(queryset, search_term), False

    def has_change_permission(self, request, obj=None):
        # A deleted record stays readable, not editable.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.deleted_at is None)

    def save_model(self, request, obj, form, change):
        if not change:
            values = {name: form.cleaned_data.get(name) for name in PATIENT_FIELDS}
            values = {k: v for k, v in values.items() if v is not None}
            patient = patient_create(tenant=request.tenant, actor=request.user, **values)
            obj.pk, obj.tenant_id, obj._state.adding = patient.pk, patient.tenant_id, False
        else:
            changes = _changes(form)
            # A new version alone (someone else saved) is no change of this editor's.
            changes.pop("row_version", None)
            if changes:
                patient_update(
                    tenant=request.tenant,
                    actor=request.user,
                    patient=Patient.objects.get(pk=obj.pk),
                    expected_version=form.cleaned_data.get("row_version") or None,
                    **changes,
                )

    @admin.action(description="Delete (soft: history stays)", permissions=["operate"])
    def soft_delete(self, request, queryset):
        _each(self, request, queryset.filter(deleted_at__isnull=True), patient_delete, "patient")


# --- medicines --------------------------------------------------------------------------------


class CatalogueFilter(admin.SimpleListFilter):
    title = "catalogue"
    parameter_name = "catalogue"

    def lookups(self, request, model_admin):
        return [("own", "This clinic's"), ("shared", "Shared")]

    def queryset(self, request, queryset):
        if self.value() == "own":
            return queryset.filter(tenant__isnull=False)
        if self.value() == "shared":
            return queryset.filter(tenant__isnull=True)
        return queryset


@admin.register(Medicine)
class MedicineAdmin(ClinicOwnedAdmin):
    """The shared catalogue (read-only, loaded by `load_medicines`) and the clinic's own
    medicines (added and changed through the medicine services)."""

    clinic_permissions = frozenset({"view", "add", "change"})
    list_display = ("name", "strength", "dosage_form", "generic_name", "shared", "is_active")
    list_filter = (CatalogueFilter, "dosage_form", "prescription_only", "is_active")
    search_fields = ("name", "generic_name", "composition")
    ordering = ("name", "strength", "id")
    readonly_fields = ("created_at", "updated_at")

    @admin.display(boolean=True, description="shared")
    def shared(self, obj):
        return obj.tenant_id is None

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.tenant_id is not None)

    def save_model(self, request, obj, form, change):
        if not change:
            values = {name: form.cleaned_data[name] for name in form.fields}
            medicine = medicine_create(tenant=request.tenant, actor=request.user, **values)
            obj.pk, obj.tenant_id, obj._state.adding = medicine.pk, medicine.tenant_id, False
        elif form.changed_data:
            medicine_update(
                tenant=request.tenant,
                actor=request.user,
                medicine=Medicine.objects.get(pk=obj.pk),
                **_changes(form),
            )


# --- short keys -------------------------------------------------------------------------------


class ShortKeyItemInline(ReadOnlyInline):
    model = ShortKeyItem
    fields = ("medicine", "dosage", "frequency", "duration", "instructions", "quantity")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("medicine")


@admin.register(ShortKey)
class ShortKeyAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    """Prescription templates. A doctor's personal key is theirs alone (as in the API): the
    list holds the clinic's shared keys and the person's own."""

    list_display = ("code", "name", "personal", "usage_count", "last_used_at", "is_active")
    list_filter = ("is_active",)
    search_fields = ("=code", "name")
    ordering = ("code",)
    inlines = (ShortKeyItemInline,)

    def get_queryset(self, request):
        from django.db.models import Q

        mine = Q(doctor__isnull=True) | Q(doctor__user_id=request.user.pk)
        return (
            super().get_queryset(request).filter(mine).prefetch_related(short_key_items_prefetch())
        )

    @admin.display(boolean=True, description="personal")
    def personal(self, obj):
        return obj.doctor_id is not None


# --- appointments and prescriptions -------------------------------------------------------------


class DoctorFilter(admin.SimpleListFilter):
    """The clinic's doctors, named in one query (a doctor's name lives on their account)."""

    title = "doctor"
    parameter_name = "doctor"

    def lookups(self, request, model_admin):
        doctors = Doctor.objects.select_related("user").order_by("user__first_name")
        return [(str(d.pk), str(d)) for d in doctors]

    def queryset(self, request, queryset):
        return queryset.filter(doctor_id=self.value()) if self.value() else queryset


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    """Booked, confirmed, moved and cancelled at the front desk (pages and API)."""

    list_display = (
        "appointment_number",
        "appointment_date",
        "start_time",
        "patient",
        "doctor",
        "office",
        "status",
    )
    list_select_related = ()  # prefetched by key instead (see the module's docstring)
    list_filter = ("status", "appointment_type", "appointment_date", DoctorFilter)
    search_fields = ("=appointment_number",)
    ordering = ("-appointment_date", "-start_time")

    def get_queryset(self, request):
        return appointments_with_details(super().get_queryset(request))


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
class PrescriptionAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    """Written, changed and signed only by their doctor (API); here, read-only."""

    list_display = ("prescription_number", "visit_date", "patient", "doctor", "status")
    list_select_related = ()  # prefetched by key instead (see the module's docstring)
    list_filter = ("status", "visit_date", DoctorFilter)
    search_fields = ("=prescription_number",)
    ordering = ("-visit_date", "-created_at")
    inlines = (PrescriptionItemInline, PrescriptionPrintInline)

    def get_queryset(self, request):
        return prescriptions_with_details(super().get_queryset(request))


# --- dental records -----------------------------------------------------------------------------


@admin.register(DentalObservation)
class DentalObservationAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    """Findings per tooth, recorded by the clinic's dentists (API)."""

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
class DentalProcedureAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    """Treatments and their status, written by the clinic's dentists (API)."""

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
class DentalTemplateAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    """Observation note templates: the shared starter set (`load_dental_templates`) and the
    clinic's own (API)."""

    list_display = ("name", "condition_type", "tooth_surface", "severity", "shared", "is_active")
    list_filter = (CatalogueFilter, "condition_type", "is_active")
    search_fields = ("name", "notes")
    ordering = ("name", "id")

    @admin.display(boolean=True, description="shared")
    def shared(self, obj):
        return obj.tenant_id is None


@admin.register(DentalAttachment)
class DentalAttachmentAdmin(ReadOnlyFieldsMixin, ClinicOwnedAdmin):
    """X-rays and photos: their details only; the file is downloaded through the API."""

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
class PrintTemplateAdmin(ClinicOwnedAdmin):
    """The clinic's letterheads, through the print template services (images sniffed and
    size-limited, stored under the clinic's prefix). The image fields show the stored name
    only; the images themselves are served by the API to members of the clinic."""

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
