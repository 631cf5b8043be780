"""Admin of patients: registration and changes through patient_create / patient_update (the
plan's limit, the family rules, the normalised mobile), removal by the soft delete of
patient_delete, and the patient's page: their history as a timeline with every printable
document one click away. Opening a record is audited with that patient, and so are the
lists of prescriptions and dental records the page shows (as the API audits them).

A service's refusal comes back on the form (accounts.admin_mixins.RefusalFormMixin); the
services name fields as the API does, so `renamed_fields` puts them on this form's fields.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.admin_mode import admin_mode
from clinical.admin.common import (
    ADMIN_ACTIONS,
    ClinicalAdmin,
    form_changes,
    matrix_allows,
    run_each,
)
from clinical.languages import print_languages
from clinical.models import Appointment, Patient
from clinical.selectors import TIMELINE_LIMIT, patient_search, patient_timeline
from clinical.services import patient_create, patient_delete, patient_update
from clinical.services.patients import PATIENT_FIELDS
from clinical.versions import row_version
from core.errors import ApplicationError
from core.validators import normalize_indian_mobile
from tenants.audit import audit_record

# The services' (the API's) field names → the patient form's.
FORM_FIELDS = {"mobile_number": "mobile"}


def renamed_fields(exc: ApplicationError, names: dict[str, str]) -> ApplicationError:
    """The refusal with its field errors under this form's field names (the services use
    the API's: `mobile_number` is the form's `mobile`)."""
    exc.field_errors = {names.get(k, k): v for k, v in (exc.field_errors or {}).items()}
    return exc


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
        if not self.instance._state.adding:
            self.fields["row_version"].initial = row_version(Patient, self.instance.pk)
        elif "relationship_to_primary" in self.fields:
            # As in the API: left empty, the first patient of a mobile number is its family's
            # primary member, and a later one is asked for the relationship (patient_create).
            field = self.fields["relationship_to_primary"]
            field.required = False
            field.choices = [("", "---------"), *Patient.Relationship.choices]
            field.help_text = "Leave empty for the first patient of a mobile number."
            self.initial.setdefault("relationship_to_primary", "")

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
    rules, normalised mobile); removal is the soft delete of patient_delete. The change page
    shows the patient's history and documents (`render_change_form`)."""

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

    class Media:
        css = {"all": ("workspace/patients.css",)}

    def get_fields(self, request, obj=None):
        if obj is None:
            return PATIENT_FIELDS
        return (*PATIENT_FIELDS, "row_version", "created_at", "updated_at", "deleted_at")

    def get_search_results(self, request, queryset, search_term):
        # The API's search: a mobile-number prefix uses the (tenant, mobile) index.
        queryset = patient_search(queryset, search_term)
        match = getattr(request, "resolver_match", None)
        if match is not None and match.url_name == "autocomplete":
            # Picking a patient for a booking: a deleted record cannot be booked.
            queryset = queryset.filter(deleted_at__isnull=True)
        return queryset, False

    def has_change_permission(self, request, obj=None):
        # A deleted record stays readable, not editable.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.deleted_at is None)

    def save_model(self, request, obj, form, change):
        try:
            self._save_through_services(request, obj, form, change)
        except ApplicationError as exc:
            renamed_fields(exc, FORM_FIELDS)
            raise

    def _save_through_services(self, request, obj, form, change):
        if not change:
            values = {name: form.cleaned_data.get(name) for name in PATIENT_FIELDS}
            # Left out, not empty: the service decides what an absent value means.
            values = {k: v for k, v in values.items() if v not in (None, "")}
            patient = patient_create(tenant=request.tenant, actor=request.user, **values)
            obj.pk, obj.tenant_id, obj._state.adding = patient.pk, patient.tenant_id, False
            return
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

    # --- the list: audited like the API's ------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # Who saw which patients (and searched for what), as `GET patients/` records.
            audit_record(
                action="patient.listed",
                request=request,
                details={
                    "patient_ids": [str(p.pk) for p in changelist.result_list],
                    "search": changelist.query[:100],
                },
            )
        return response

    def audit_autocomplete(self, request, ids, term: str) -> None:
        """Picking a patient by name or mobile (booking, prescriptions) reads patients: the
        same record as the list (clinics.admin_site.AuditedAutocompleteJsonView calls this)."""
        audit_record(
            action="patient.listed",
            request=request,
            details={"patient_ids": [str(i) for i in ids], "search": term[:100]},
        )

    # --- the patient's page --------------------------------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            context.update(self.patient_page_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def patient_page_context(self, request, patient) -> dict:
        """The timeline, newest first, with only what the member's role may read, and the
        ways into the documents and the next steps (book, prescribe)."""
        membership = admin_mode(request).membership

        def may(resource, action):
            if membership is None:
                # Support (an operator acting as the clinic) reads and does nothing else;
                # the documents are clinic pages, for the clinic's members.
                return action == "read"
            return matrix_allows(request, membership.role, resource, action)

        history = patient_timeline(
            patient,
            prescriptions=may("prescriptions", "read"),
            dental=may("dental_observations", "read") and may("dental_procedures", "read"),
        )
        self._audit_history(request, patient, history)
        may_print = may("prescriptions", "print")
        entries = [
            *(_appointment_entry(a) for a in history["appointments"]),
            *(_prescription_entry(p, may_print) for p in history["prescriptions"]),
            *(_observation_entry(o) for o in history["observations"]),
            *(_procedure_entry(p) for p in history["procedures"]),
        ]
        entries.sort(key=lambda e: e["sort"], reverse=True)
        active = patient.deleted_at is None
        appointment_admin = self.admin_site._registry.get(Appointment)
        documents = []
        if may("patients", "dental_chart"):
            documents.append(("Dental chart", reverse("dental-chart-print", args=[patient.pk])))
        if may("patients", "case_summary"):
            documents.append(("Case summary", reverse("case-summary-print", args=[patient.pk])))
            documents.append(("Case summary (PDF)", reverse("case-summary-pdf", args=[patient.pk])))
        book_url = prescribe_url = None
        if active and appointment_admin and appointment_admin.has_add_permission(request):
            book_url = f"{reverse('admin:clinical_appointment_add')}?patient={patient.pk}"
        if active and may("prescriptions", "create"):
            prescribe_url = f"{reverse('admin:clinical_prescription_add')}?patient={patient.pk}"
        return {
            "timeline": entries,
            "timeline_kinds": [
                kind
                for kind, shown in (
                    ("appointments", True),
                    ("prescriptions", may("prescriptions", "read")),
                    ("dental findings and procedures", may("dental_observations", "read")),
                )
                if shown
            ],
            "timeline_limit_reached": any(len(rows) >= TIMELINE_LIMIT for rows in history.values()),
            "documents": documents,
            "book_url": book_url,
            "prescribe_url": prescribe_url,
        }

    def _audit_history(self, request, patient, history) -> None:
        # The same records the API keeps for these lists (docs/permissions.md, "Audit").
        patient_ids = [str(patient.pk)]
        if history["prescriptions"]:
            audit_record(
                action="prescription.listed",
                request=request,
                patient_id=patient.pk,
                details={
                    "prescription_ids": [str(p.pk) for p in history["prescriptions"]],
                    "patient_ids": patient_ids,
                },
            )
        for action, rows in (
            ("dental_observation.listed", history["observations"]),
            ("dental_procedure.listed", history["procedures"]),
        ):
            if rows:
                audit_record(
                    action=action,
                    request=request,
                    patient_id=patient.pk,
                    details={"ids": [str(r.pk) for r in rows], "patient_ids": patient_ids},
                )


def _change_url(obj) -> str:
    return reverse(f"admin:clinical_{obj._meta.model_name}_change", args=[obj.pk])


def _appointment_entry(appointment) -> dict:
    return {
        "kind": "appointment",
        "label": "Appointment",
        "sort": (appointment.appointment_date, appointment.start_time.isoformat()),
        "date": appointment.appointment_date,
        "title": (
            f"{appointment.start_time:%H:%M} with {appointment.doctor}"
            f" — {appointment.get_status_display()}"
        ),
        "detail": appointment.reason,
        "url": _change_url(appointment),
        "number": appointment.appointment_number,
        "links": [],
    }


def _prescription_entry(prescription, may_print: bool) -> dict:
    links = []
    if may_print:
        links = [
            ("Print", reverse("prescription-print", args=[prescription.pk])),
            ("PDF", reverse("prescription-pdf", args=[prescription.pk])),
        ]
    return {
        "kind": "prescription",
        "label": "Prescription",
        "sort": (prescription.visit_date, prescription.created_at.time().isoformat()),
        "date": prescription.visit_date,
        "title": (
            f"{prescription.diagnosis} by {prescription.doctor}"
            f" — {prescription.get_status_display()}"
        ),
        "detail": prescription.chief_complaint,
        "url": _change_url(prescription),
        "number": prescription.prescription_number,
        "links": links,
    }


def _observation_entry(observation) -> dict:
    return {
        "kind": "finding",
        "label": "Dental finding",
        "sort": (observation.observed_on, observation.created_at.time().isoformat()),
        "date": observation.observed_on,
        "title": f"{observation} (by {observation.doctor})",
        "detail": observation.notes,
        "url": _change_url(observation),
        "number": "",
        "links": [],
    }


def _procedure_entry(procedure) -> dict:
    day = (
        procedure.completed_date
        or procedure.started_date
        or procedure.planned_date
        or procedure.created_at.date()
    )
    teeth = ", ".join(str(t) for t in procedure.teeth or ()) or "whole mouth"
    return {
        "kind": "procedure",
        "label": "Dental procedure",
        "sort": (day, procedure.created_at.time().isoformat()),
        "date": day,
        "title": (
            f"{procedure.procedure_code} {procedure.procedure_name} ({teeth})"
            f" — {procedure.get_status_display()}"
        ),
        "detail": procedure.notes,
        "url": _change_url(procedure),
        "number": "",
        "links": [],
    }
