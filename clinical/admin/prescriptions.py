"""Admin of prescriptions: a doctor writes one as themself, from an appointment
(`add/?appointment=<id>`: patient, visit date and appointment filled in) or from a patient
(`add/?patient=<id>`), with the medicines as lines searched in the shared catalogue and the
clinic's own, or filled in from a short key. Saving is `prescription_create` /
`prescription_update` ("Save and print" then opens the PDF); the status actions are
`prescription_transition`. Only the doctor who wrote a prescription changes it, while it is a
draft or active; nurses read and print; receptionists never see prescriptions.

The list reads one table and prefetches the patients and doctors by key, as the API does: a
join of two tables under row-level security makes PostgreSQL misjudge the join
(clinical.selectors). Listing prescriptions is audited with the page's patients, as in the
API; opening one is audited by the admin mixins (`admin.viewed`, with its patient).
"""

from __future__ import annotations

import uuid
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from clinical.admin.appointments import DoctorFilter
from clinical.admin.catalogues import (
    MedicineLinesInline,
    ServiceWrittenAdmin,
    ServiceWrittenForm,
)
from clinical.admin.common import ClinicalAdmin, matrix_allows, run_each
from clinical.models import Appointment, Doctor, Patient, Prescription, PrescriptionItem
from clinical.selectors import prescriptions_with_details, short_key_lines, short_keys_visible_to
from clinical.services import (
    prescription_create,
    prescription_transition,
    prescription_update,
    short_key_use,
)
from clinical.services.prescriptions import PRESCRIPTION_EDITABLE_FIELDS
from clinical.versions import row_version
from tenants.audit import audit_record

Status = Prescription.Status

# The status actions, in the order a prescription goes through them (Prescription.TRANSITIONS
# decides which apply; the service refuses the rest).
STATUS_ACTIONS = {
    Status.ACTIVE: ("mark_active", "Activate"),
    Status.DISPENSED: ("mark_dispensed", "Mark dispensed"),
    Status.COMPLETED: ("mark_completed", "Mark completed"),
    Status.CANCELLED: ("mark_cancelled", "Cancel"),
    Status.EXPIRED: ("mark_expired", "Mark expired"),
}

FINDINGS = ("chief_complaint", "diagnosis", "symptoms", "clinical_notes")
ADVICE = ("instructions", "follow_up_date")
# Shown on a saved prescription, never typed.
SAVED_FIELDS = (
    "prescription_number",
    "status",
    "patient",
    "writer",
    "appointment",
    "documents",
    "print_history",
)
SHORT_KEY_HELP = (
    "Its medicines are added to the lines below when you save (a medicine you filled in "
    "yourself keeps your directions). Use “Save and continue editing” to check them."
)


def own_doctor_id(request) -> uuid.UUID | None:
    """The signed-in member's active doctor profile in this clinic (read once a request): the
    only doctor a prescription is written as."""
    if not hasattr(request, "_prescription_admin_doctor"):
        request._prescription_admin_doctor = (
            Doctor.objects.filter(user_id=request.user.pk, is_active=True)
            .values_list("pk", flat=True)
            .first()
        )
    return request._prescription_admin_doctor


def _in_clinic(queryset, value):
    """The row with this id in the clinic's (scoped) queryset, or None: a malformed id, a
    missing one and another clinic's are the same nothing."""
    try:
        return queryset.filter(pk=uuid.UUID(str(value))).first() if value else None
    except (TypeError, ValueError, AttributeError):
        return None


class ShortKeyChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.code} — {obj.name}"


class PrescriptionForm(ServiceWrittenForm):
    status = forms.ChoiceField(
        choices=[(Status.DRAFT, Status.DRAFT.label), (Status.ACTIVE, Status.ACTIVE.label)],
        initial=Status.DRAFT,
        help_text="Both can still be changed; activate it when you hand it to the patient.",
    )
    short_key = ShortKeyChoice(
        queryset=None, required=False, label="Apply short key", help_text=SHORT_KEY_HELP
    )
    # The version of the prescription the form was opened on (clinical.versions): saving over
    # a change made meanwhile is refused and said, instead of overwriting it.
    row_version = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Prescription
        fields = ("patient", "appointment", "visit_date", *FINDINGS, *ADVICE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "short_key" in self.fields and self.request is not None:
            # The clinic's shared keys and the member's own personal ones, still in use.
            self.fields["short_key"].queryset = short_keys_visible_to(self.request.user).filter(
                is_active=True
            )
        if "row_version" in self.fields and self.instance.pk is not None:
            self.fields["row_version"].initial = row_version(Prescription, self.instance.pk)


class PrescriptionItemInline(MedicineLinesInline):
    model = PrescriptionItem
    fields = (*MedicineLinesInline.fields, "generic_substitution_allowed")


def _status_action(status: str):
    name, description = STATUS_ACTIONS[status]

    @admin.action(description=description, permissions=["operate"])
    def action(modeladmin, request, queryset):
        service = partial(prescription_transition, status=status)
        run_each(modeladmin, request, queryset, service, "prescription")
        if request.POST.get("_from_form") and len(queryset) == 1:
            # A status button on the prescription's own page leads back to it.
            return HttpResponseRedirect(
                reverse("admin:clinical_prescription_change", args=[queryset[0].pk])
            )
        return None

    action.__name__ = action.__qualname__ = name
    return action


@admin.register(Prescription)
class PrescriptionAdmin(ServiceWrittenAdmin, ClinicalAdmin):
    """Written and changed only by their own doctor (as the API); read by the clinical staff."""

    resource = "prescriptions"

    clinic_permissions = frozenset({"view", "add", "change", "operate"})
    form = PrescriptionForm
    list_display = (
        "prescription_number",
        "visit_date",
        "patient",
        "doctor",
        "status",
        "print_links",
    )
    list_select_related = ()  # prefetched by key instead (see the module's docstring)
    list_filter = ("status", "visit_date", DoctorFilter)
    search_fields = ("=prescription_number", "=legacy_number")
    search_help_text = "A prescription number (RX-…)."
    # Newest written first: the order of the (tenant, -created_at, -id) index, so a page never
    # sorts the whole clinic (tenants/tests/query_plans/test_admin.py checks the admin).
    ordering = ("-created_at", "-id")
    autocomplete_fields = ("patient", "appointment")
    inlines = (PrescriptionItemInline,)
    actions = [_status_action(status) for status in STATUS_ACTIONS]
    copied_after_write = ("prescription_number", "patient_id", "doctor_id")

    class Media:
        css = {"all": ("workspace/prescriptions.css",)}

    def get_queryset(self, request):
        return prescriptions_with_details(super().get_queryset(request))

    # --- who may change what --------------------------------------------------------------------

    def has_change_permission(self, request, obj=None):
        # Only the doctor who wrote it, and only while it is a draft or active (the services'
        # rule, so the page does not offer what saving would refuse).
        allowed = super().has_change_permission(request, obj)
        if not allowed or obj is None:
            return allowed
        return obj.is_editable and obj.doctor_id == own_doctor_id(request)

    def get_inlines(self, request, obj):
        return self.inlines  # a new prescription is written with its lines

    def get_fieldsets(self, request, obj=None):
        medicines = {
            "fields": ("short_key",),
            "description": "Fill in the medicines below, apply a short key, or both.",
        }
        if obj is None:
            visit = ("patient", "appointment", "visit_date", "status")
            return [
                (None, {"fields": visit}),
                ("Findings", {"fields": FINDINGS}),
                ("Advice", {"fields": ADVICE}),
                ("Short key", medicines),
            ]
        fieldsets = [
            (None, {"fields": (*SAVED_FIELDS, "visit_date")}),
            ("Findings", {"fields": FINDINGS}),
            ("Advice", {"fields": ADVICE}),
        ]
        if self.has_change_permission(request, obj):
            medicines["fields"] = ("short_key", "row_version")
            fieldsets.append(("Short key", medicines))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields if obj is None else [*fields, *SAVED_FIELDS]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "patient":
            kwargs["queryset"] = Patient.objects.active()  # a deleted record gets no new ones
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- starting one from an appointment or a patient ----------------------------------------

    def _start(self, request):
        """(appointment, patient) named by the add page's query string, within the clinic."""
        if not hasattr(request, "_prescription_start"):
            appointment = _in_clinic(Appointment.objects.all(), request.GET.get("appointment"))
            patient = _in_clinic(Patient.objects.active(), request.GET.get("patient"))
            request._prescription_start = (appointment, patient)
        return request._prescription_start

    def get_changeform_initial_data(self, request):
        initial = {"visit_date": timezone.localdate(), "status": Status.DRAFT}
        appointment, patient = self._start(request)
        if appointment is not None:
            initial.update(
                appointment=appointment.pk,
                patient=appointment.patient_id,
                visit_date=min(appointment.appointment_date, timezone.localdate()),
            )
        elif patient is not None:
            initial["patient"] = patient.pk
        return initial

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if request.method == "GET" and self.has_add_permission(request):
            response = self._check_start(request)
            if response is not None:
                return response
            doctor = Doctor.objects.select_related("user").filter(pk=own_doctor_id(request))
            extra_context["prescriber"] = doctor.first()
        return super().add_view(request, form_url, extra_context)

    def _check_start(self, request):
        appointment, patient = self._start(request)
        if request.GET.get("appointment") and appointment is None:
            messages.warning(request, "No such appointment in this clinic; choose the patient.")
        if request.GET.get("patient") and patient is None and appointment is None:
            messages.warning(request, "No such patient in this clinic; choose the patient.")
        if appointment is None:
            return None
        existing = Prescription.objects.filter(appointment=appointment).first()
        if existing is not None:
            # One prescription per visit: open that one instead of a form that cannot save.
            messages.info(request, f"{appointment} already has prescription {existing}.")
            return HttpResponseRedirect(
                reverse("admin:clinical_prescription_change", args=[existing.pk])
            )
        if appointment.doctor_id != own_doctor_id(request):
            messages.warning(
                request,
                f"{appointment} is another doctor's appointment: only they can write its "
                "prescription. Clear the appointment to write one of your own.",
            )
        return None

    # --- the change page: prints and status buttons -------------------------------------------

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            membership = getattr(request, "membership", None)
            if membership and matrix_allows(request, membership.role, "prescriptions", "print"):
                context["print_url"] = reverse("prescription-print", args=[obj.pk])
                context["pdf_url"] = reverse("prescription-pdf", args=[obj.pk])
            if self.has_operate_permission(request) and obj.doctor_id == own_doctor_id(request):
                context["status_buttons"] = [
                    STATUS_ACTIONS[s] for s in STATUS_ACTIONS if obj.can_move_to(s)
                ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        if "_saveprint" in request.POST:
            return HttpResponseRedirect(reverse("prescription-pdf", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if "_saveprint" in request.POST:
            return HttpResponseRedirect(reverse("prescription-pdf", args=[obj.pk]))
        return super().response_change(request, obj)

    # --- saving through the services ------------------------------------------------------------

    def write(self, request, form, lines):
        data = form.cleaned_data
        items = lines.lines() if lines is not None else []
        key = data.get("short_key")
        if key is not None:
            items = [*items, *self._short_key_lines(request, key, items)]
        fields = {name: data[name] for name in PRESCRIPTION_EDITABLE_FIELDS if name in data}
        if form.instance._state.adding:
            appointment = data.get("appointment")
            return prescription_create(
                tenant=request.tenant,
                actor=request.user,
                patient_id=data["patient"].pk,
                appointment_id=appointment.pk if appointment else None,
                status=data["status"],
                items=items,
                **fields,
            )
        changed = key is not None or (lines is not None and lines.has_changed())
        return prescription_update(
            tenant=request.tenant,
            actor=request.user,
            prescription=Prescription.objects.get(pk=form.instance.pk),
            expected_version=data.get("row_version") or None,
            items=items if changed else None,
            **{name: fields[name] for name in form.changed_data if name in fields},
        )

    def _short_key_lines(self, request, key, typed: list[dict]) -> list[dict]:
        """The key's lines for medicines not typed already; counts one use (short_key_use,
        the API's rule: only a doctor of the clinic uses short keys)."""
        key = short_key_use(tenant=request.tenant, actor=request.user, short_key=key)
        have = {str(row["medicine_id"]) for row in typed}
        return [line for line in short_key_lines(key) if str(line["medicine_id"]) not in have]

    # --- reads ----------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            rows = list(changelist.result_list)
            # The API audits a list of prescriptions with the patients on the page.
            audit_record(
                action="prescription.listed",
                actor=request.user,
                request=request,
                details={
                    "prescription_ids": [str(p.pk) for p in rows],
                    "patient_ids": sorted({str(p.patient_id) for p in rows}),
                },
            )
        return response

    @admin.display(description="doctor")
    def writer(self, obj):
        return obj.doctor

    @admin.display(description="print")
    def print_links(self, obj):
        return format_html(
            '<a href="{}" target="_blank">HTML</a> · <a href="{}">PDF</a>',
            reverse("prescription-print", args=[obj.pk]),
            reverse("prescription-pdf", args=[obj.pk]),
        )

    @admin.display(description="documents")
    def documents(self, obj):
        return self.print_links(obj)

    @admin.display(description="printed")
    def print_history(self, obj):
        printed = list(obj.prints.select_related("printed_by")[:10])
        if not printed:
            return "Not printed yet."
        return format_html_join(
            mark_safe("<br>"),
            "{} · {} · {}",
            (
                (
                    timezone.localtime(p.printed_at).strftime("%Y-%m-%d %H:%M"),
                    p.get_format_display(),
                    p.printed_by or "—",
                )
                for p in printed
            ),
        )
