"""Admin of patients: registration and changes through patient_create / patient_update (the
plan's limit, the family rules, the normalised mobile), removal by the soft delete of
patient_delete. Opening a patient's record is audited with that patient."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from clinical.admin.common import ADMIN_ACTIONS, ClinicalAdmin, form_changes, run_each
from clinical.languages import print_languages
from clinical.models import Patient
from clinical.selectors import patient_search
from clinical.services import patient_create, patient_delete, patient_update
from clinical.services.patients import PATIENT_FIELDS
from clinical.versions import row_version
from core.validators import normalize_indian_mobile


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
class PatientAdmin(ClinicalAdmin):
    """Registration and changes through patient_create / patient_update (plan limit, family
    rules, normalised mobile); removal is the soft delete of patient_delete."""

    resource = "patients"
    admin_actions = {**ADMIN_ACTIONS, "operate": "delete"}

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
            changes = form_changes(form)
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
        run_each(self, request, queryset.filter(deleted_at__isnull=True), patient_delete, "patient")
