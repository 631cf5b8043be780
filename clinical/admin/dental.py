"""Admin of the dental records: observations (findings per tooth), procedures (with their
status actions), observation templates and attachments (x-rays, photos, PDFs).

The role matrix decides who does what (docs/permissions.md): the clinic's doctors record
findings and procedures as themselves ("as doctor"), nurses read them and upload attachments,
receptionists never see any of it. Every write goes through the dental services of
clinical.services, so an FDI tooth number, a procedure's state machine or a file's type is
checked here exactly as in the API, and a refusal comes back on the form. An attachment's
file is never linked from here: only the API's authorised download view serves it.

Reads are audited as the API audits them (`AuditedReadsMixin`). The lists read one table and
prefetch the patients and doctors by key (see clinical.admin.appointments for why).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin

from clinical.admin.common import (
    AuditedReadsMixin,
    ClinicalAdmin,
    form_changes,
    run_each,
)
from clinical.models import (
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    SharedDentalTemplate,
)
from clinical.selectors import dental_records_with_details
from clinical.services import (
    dental_attachment_create,
    dental_attachment_delete,
    dental_observation_create,
    dental_observation_delete,
    dental_observation_update,
    dental_procedure_create,
    dental_procedure_delete,
    dental_procedure_transition,
    dental_procedure_update,
    dental_template_create,
    dental_template_delete,
    dental_template_update,
)
from clinical.services.dental.observations import OBSERVATION_FIELDS
from clinical.services.dental.procedures import CLOSED_PROCEDURE_FIELDS, PROCEDURE_FIELDS
from clinical.services.dental.templates import TEMPLATE_FIELDS
from tenants.admin_mixins import ViewOnlyMixin

RECORD_PERMISSIONS = frozenset({"view", "add", "change", "delete", "operate"})


def _given(form, names) -> dict:
    """The form's values for a create service: what was typed, without empty optionals."""
    values = {name: form.cleaned_data.get(name) for name in names if name in form.cleaned_data}
    return {name: value for name, value in values.items() if value is not None}


def _adopt(obj, created) -> None:
    # The service saved its own row: the admin's object becomes it (for the redirect and
    # the audit of the addition).
    obj.pk, obj.tenant_id, obj._state.adding = created.pk, created.tenant_id, False


class DentalRecordAdmin(AuditedReadsMixin, ClinicalAdmin):
    """What observations and procedures share: the patient is chosen once, by search, and the
    recording doctor is the signed-in member's own profile (set by the service)."""

    autocomplete_fields = ("patient",)
    list_select_related = ()  # prefetched by key instead (see the module's docstring)

    def get_queryset(self, request):
        return dental_records_with_details(super().get_queryset(request))

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), "doctor", "created_at"]
        if obj is not None:
            fields.insert(0, "patient")  # a record stays with the patient it was made for
        return fields


# --- observations ------------------------------------------------------------------------------


@admin.register(DentalObservation)
class DentalObservationAdmin(DentalRecordAdmin):
    """Findings per tooth (FDI numbering), recorded by the clinic's doctors as themselves."""

    resource = "dental_observations"
    audit_name = "dental_observation"
    clinic_permissions = frozenset({"view", "add", "change", "delete"})

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
    list_filter = ("condition_type", "severity", "treatment_required", "treatment_done")
    search_fields = ("=tooth_number",)
    search_help_text = "A tooth number (FDI, such as 46)."
    ordering = ("-observed_on", "-created_at")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("patient", *OBSERVATION_FIELDS)
        return ("patient", *OBSERVATION_FIELDS, "doctor", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            created = dental_observation_create(
                tenant=request.tenant,
                actor=request.user,
                patient_id=form.cleaned_data["patient"].pk,
                **_given(form, OBSERVATION_FIELDS),
            )
            _adopt(obj, created)
        elif form.changed_data:
            dental_observation_update(
                tenant=request.tenant,
                actor=request.user,
                observation=DentalObservation.objects.get(pk=obj.pk),
                **form_changes(form),
            )

    def delete_model(self, request, obj):
        dental_observation_delete(tenant=request.tenant, actor=request.user, observation=obj)


# --- procedures --------------------------------------------------------------------------------


def _transition(status: str, description: str):
    @admin.action(description=description, permissions=["operate"])
    def action(modeladmin, request, queryset):
        def move(*, tenant, actor, procedure):
            return dental_procedure_transition(
                tenant=tenant, actor=actor, procedure=procedure, status=status
            )

        run_each(modeladmin, request, queryset, move, "procedure")

    action.__name__ = action.__qualname__ = f"mark_{status}"
    return action


class DentalProcedureForm(forms.ModelForm):
    teeth = forms.CharField(
        required=False,
        help_text="FDI tooth numbers separated by commas (such as 46, 47); empty for the "
        "whole mouth, or the observation's tooth.",
    )

    class Meta:
        model = DentalProcedure
        fields = ("patient", "observation", *PROCEDURE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "teeth" in self.fields:
            self.initial["teeth"] = ", ".join(str(t) for t in self.instance.teeth or [])

    def clean_teeth(self):
        text = self.cleaned_data.get("teeth") or ""
        try:
            return [int(part) for part in text.replace(" ", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Tooth numbers only, such as 46, 47.") from None


@admin.register(DentalProcedure)
class DentalProcedureAdmin(DentalRecordAdmin):
    """Treatments, planned by a doctor of the clinic and moved planned → in progress →
    completed (or cancelled) by the status actions, through the service's state machine."""

    resource = "dental_procedures"
    audit_name = "dental_procedure"
    clinic_permissions = RECORD_PERMISSIONS
    form = DentalProcedureForm

    list_display = (
        "procedure_code",
        "procedure_name",
        "patient",
        "teeth",
        "status",
        "planned_date",
        "estimated_cost",
        "actual_cost",
        "doctor",
    )
    list_filter = ("status",)
    search_fields = ("=procedure_code", "procedure_name")
    ordering = ("-created_at",)
    actions = (
        _transition(DentalProcedure.Status.IN_PROGRESS, "Start the selected procedures"),
        _transition(DentalProcedure.Status.COMPLETED, "Complete the selected procedures"),
        _transition(DentalProcedure.Status.CANCELLED, "Cancel the selected procedures"),
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("patient", "observation", *PROCEDURE_FIELDS)
        return (
            "patient",
            "observation",
            *PROCEDURE_FIELDS,
            "status",
            "started_date",
            "completed_date",
            "doctor",
            "created_at",
        )

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj)]
        if obj is not None:
            fields += ["observation", "status", "started_date", "completed_date"]
            if not obj.is_open:
                # A completed or cancelled procedure keeps all but its notes and actual cost.
                fields += [n for n in PROCEDURE_FIELDS if n not in CLOSED_PROCEDURE_FIELDS]
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            observation = form.cleaned_data.get("observation")
            created = dental_procedure_create(
                tenant=request.tenant,
                actor=request.user,
                patient_id=form.cleaned_data["patient"].pk,
                observation_id=observation.pk if observation else None,
                **_given(form, PROCEDURE_FIELDS),
            )
            _adopt(obj, created)
        elif form.changed_data:
            dental_procedure_update(
                tenant=request.tenant,
                actor=request.user,
                procedure=DentalProcedure.objects.get(pk=obj.pk),
                **form_changes(form),
            )

    def delete_model(self, request, obj):
        dental_procedure_delete(tenant=request.tenant, actor=request.user, procedure=obj)


# --- templates ---------------------------------------------------------------------------------


class _TemplateListMixin:
    """The clinic's own templates and the shared set are listed, filtered and searched alike."""

    resource = "dental_templates"
    list_display = ("name", "condition_type", "tooth_surface", "severity", "is_active")
    list_filter = ("condition_type", "is_active")
    search_fields = ("name", "notes")
    ordering = ("name", "id")


@admin.register(DentalTemplate)
class DentalTemplateAdmin(_TemplateListMixin, ClinicalAdmin):
    """The clinic's own observation note templates, which its owners, admins and doctors
    manage. The shared starter set is SharedDentalTemplateAdmin (read-only)."""

    clinic_permissions = frozenset({"view", "add", "change", "delete"})

    fields = TEMPLATE_FIELDS

    def save_model(self, request, obj, form, change):
        if not change:
            created = dental_template_create(
                tenant=request.tenant, actor=request.user, **_given(form, TEMPLATE_FIELDS)
            )
            _adopt(obj, created)
        elif form.changed_data:
            dental_template_update(
                tenant=request.tenant,
                actor=request.user,
                template=DentalTemplate.objects.get(pk=obj.pk),
                **form_changes(form),
            )

    def delete_model(self, request, obj):
        dental_template_delete(tenant=request.tenant, actor=request.user, template=obj)


@admin.register(SharedDentalTemplate)
class SharedDentalTemplateAdmin(ViewOnlyMixin, _TemplateListMixin, ClinicalAdmin):
    """The shared starter set (`load_dental_templates`): every clinic's, so read-only here
    as in the API (and in the database). Shown to whoever reads the clinic's templates;
    operators do not browse clinical data (they load the set with the command)."""

    clinic_permissions = frozenset({"view"})

    fields = TEMPLATE_FIELDS
    readonly_fields = TEMPLATE_FIELDS


# --- attachments -------------------------------------------------------------------------------


class DentalAttachmentForm(forms.ModelForm):
    class Meta:
        model = DentalAttachment
        fields = ("observation", "procedure", "file_type", "file", "description")
        help_texts = {
            "file": "JPEG, PNG or PDF. Attach it to one observation or one procedure.",
        }


@admin.register(DentalAttachment)
class DentalAttachmentAdmin(AuditedReadsMixin, ClinicalAdmin):
    """X-rays and photos: uploaded here through dental_attachment_create (the content is
    sniffed, the size limited, the file stored under the clinic's prefix); their details
    only are shown, and the file is downloaded through the API."""

    resource = "dental_attachments"
    audit_name = "dental_attachment"
    clinic_permissions = frozenset({"view", "add", "delete"})
    form = DentalAttachmentForm

    list_display = ("created_at", "patient", "file_type", "content_type", "size", "original_name")
    list_select_related = ()
    list_filter = ("file_type", "content_type")
    search_fields = ("original_name",)
    ordering = ("-created_at",)
    raw_id_fields = ("observation", "procedure")

    DETAILS = (
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

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("observation", "procedure", "file_type", "file", "description")
        return self.DETAILS

    def get_readonly_fields(self, request, obj=None):
        return self.DETAILS if obj is not None else ()

    def get_queryset(self, request):
        return dental_records_with_details(super().get_queryset(request))

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = dental_attachment_create(
            tenant=request.tenant,
            actor=request.user,
            file=data["file"],
            file_type=data["file_type"],
            observation_id=data["observation"].pk if data.get("observation") else None,
            procedure_id=data["procedure"].pk if data.get("procedure") else None,
            description=data.get("description") or "",
        )
        _adopt(obj, created)

    def delete_model(self, request, obj):
        dental_attachment_delete(tenant=request.tenant, actor=request.user, attachment=obj)
