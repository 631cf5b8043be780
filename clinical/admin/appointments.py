"""Admin of appointments: the front desk's day (prescriptions: clinical.admin.prescriptions).

* **Today's schedule.** The list opens on today (`DayFilter`: today, tomorrow, this week, any
  date, or one day), filterable by doctor and status, with the status changes of the state
  machine as actions (clinical.services.appointment_transition, row by row).
  A member who is a doctor sees their own appointments first, then the rest of the clinic's
  by time: a filter to themself would hide the colleagues' patients they are often asked
  about at the desk, while ordering keeps both one glance away.
* **Booking.** The add form: a patient (autocomplete over the clinic's patients), a doctor and
  a date; "Show free slots" comes back with that doctor's free slots on that date
  (clinical.selectors.doctor_free_slots) to pick from; saving calls appointment_book, whose
  rules (no past dates, no overlaps, within the doctor's hours) and refusals are the API's.
* **Changes.** The reason, notes and office through appointment_update; a new date and slot
  through appointment_reschedule (a new appointment; the old one becomes `rescheduled`).

The lists read one table and prefetch the patients and doctors by key, as the API does: a
join of two tables under row-level security makes PostgreSQL misjudge the join
(clinical.selectors).
"""

from __future__ import annotations

import datetime
from functools import partial
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from accounts.admin_mixins import form_action
from clinical.admin.appointment_forms import AppointmentChangeForm, BookingForm
from clinical.admin.common import ClinicalAdmin, form_changes, matrix_allows, run_each
from clinical.admin.patients import renamed_fields
from clinical.models import Appointment, Patient, Prescription
from clinical.selectors import (
    appointments_with_details,
    bookable_doctors,
    named_doctors,
    own_doctor_id,
)
from clinical.services import (
    appointment_book,
    appointment_reschedule,
    appointment_transition,
    appointment_update,
)
from core.errors import ApplicationError

Status = Appointment.Status
# An appointment that did not happen gets no prescription.
CLOSED = (Status.CANCELLED, Status.NO_SHOW, Status.RESCHEDULED)

# --- the list ---------------------------------------------------------------------------------


class DoctorFilter(admin.SimpleListFilter):
    """The clinic's doctors, named in one query (a doctor's name lives on their account)."""

    title = "doctor"
    parameter_name = "doctor"

    def lookups(self, request, model_admin):
        return [(str(d.pk), str(d)) for d in named_doctors()]

    def queryset(self, request, queryset):
        return queryset.filter(doctor_id=self.value()) if self.value() else queryset


class DayFilter(admin.SimpleListFilter):
    """Which days the list shows: today unless asked otherwise (a search looks at every
    date: the desk searches for a number it was given). A date (YYYY-MM-DD) shows that day,
    as the booking form's "saved" page does."""

    title = "date"
    parameter_name = "day"

    def lookups(self, request, model_admin):
        choices = [
            ("today", "Today"),
            ("tomorrow", "Tomorrow"),
            ("week", "This week"),
            ("any", "Any date"),
        ]
        day = self._one_day(self.used_parameters.get(self.parameter_name))
        if day is not None:
            choices.insert(0, (day.isoformat(), f"{day:%a %d %b %Y}"))
        return choices

    def value(self):
        searching = bool(self.request.GET.get("q"))
        return super().value() or ("any" if searching else "today")

    @staticmethod
    def _one_day(value) -> datetime.date | None:
        try:
            return datetime.date.fromisoformat(value) if value else None
        except ValueError:
            return None

    def queryset(self, request, queryset):
        today = timezone.localdate()
        value = self.value()
        if value == "today":
            return queryset.filter(appointment_date=today)
        if value == "tomorrow":
            return queryset.filter(appointment_date=today + datetime.timedelta(days=1))
        if value == "week":
            monday = today - datetime.timedelta(days=today.weekday())
            return queryset.filter(
                appointment_date__gte=monday,
                appointment_date__lte=monday + datetime.timedelta(days=6),
            )
        day = self._one_day(value)
        if day is not None:
            return queryset.filter(appointment_date=day)
        return queryset

    def choices(self, changelist):
        # No "All": the default is today, and "Any date" says what "all" would.
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }


class CancelForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=500, help_text="Why (optional): kept with the appointment."
    )


def _transition(status: str):
    return partial(appointment_transition, status=status)


@admin.register(Appointment)
class AppointmentAdmin(ClinicalAdmin):
    """The day's schedule, booking and rescheduling at the front desk (pages and API)."""

    resource = "appointments"
    clinic_permissions = frozenset({"view", "add", "change", "operate"})

    list_display = (
        "when",
        "patient_name",
        "patient_mobile",
        "doctor",
        "status",
        "appointment_number",
    )
    list_display_links = ("when", "patient_name")
    list_select_related = ()  # prefetched by key instead (see the module's docstring)
    list_filter = (DayFilter, DoctorFilter, "status", "appointment_type")
    search_fields = ("=appointment_number",)
    search_help_text = "An appointment number (APT-…); searches every date."
    autocomplete_fields = ("patient",)
    actions = ("confirm", "check_in", "complete", "mark_no_show", "cancel")
    list_per_page = 50

    class Media:
        css = {"all": ("workspace/appointments.css",)}

    # --- the list --------------------------------------------------------------------------

    def get_queryset(self, request):
        return appointments_with_details(super().get_queryset(request))

    def get_ordering(self, request):
        if request.GET.get("day") == "any" or (request.GET.get("q") and not request.GET.get("day")):
            return ("-appointment_date", "-start_time")
        own = self._own_doctor(request)
        if own is None:
            return ("appointment_date", "start_time")
        # A doctor's own appointments first, then the rest of the clinic's, each by time.
        own_first = Case(
            When(doctor_id=own, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return (own_first.asc(), "appointment_date", "start_time")

    def _own_doctor(self, request):
        if not hasattr(request, "_appointments_own_doctor"):
            request._appointments_own_doctor = own_doctor_id(user_id=request.user.pk)
        return request._appointments_own_doctor

    @admin.display(description="When", ordering="appointment_date")
    def when(self, obj):
        day = "Today" if obj.appointment_date == timezone.localdate() else None
        return f"{day or format(obj.appointment_date, '%a %d %b')} {obj.start_time:%H:%M}"

    @admin.display(description="Patient")
    def patient_name(self, obj):
        return obj.patient.full_name

    @admin.display(description="Mobile")
    def patient_mobile(self, obj):
        return obj.patient.mobile

    # --- status actions: the state machine, one row at a time ------------------------------------

    @admin.action(description="Confirm", permissions=["operate"])
    def confirm(self, request, queryset):
        run_each(self, request, queryset, _transition(Status.CONFIRMED), "appointment")

    @admin.action(description="Check in (the visit starts)", permissions=["operate"])
    def check_in(self, request, queryset):
        run_each(self, request, queryset, _transition(Status.IN_PROGRESS), "appointment")

    @admin.action(description="Complete", permissions=["operate"])
    def complete(self, request, queryset):
        run_each(self, request, queryset, _transition(Status.COMPLETED), "appointment")

    @admin.action(description="Mark no-show", permissions=["operate"])
    def mark_no_show(self, request, queryset):
        run_each(self, request, queryset, _transition(Status.NO_SHOW), "appointment")

    cancel = form_action(
        name="cancel",
        form_class=CancelForm,
        description="Cancel",
        apply=lambda modeladmin, request, obj, data: appointment_transition(
            tenant=request.tenant,
            actor=request.user,
            appointment=obj,
            status=Status.CANCELLED,
            reason=data["reason"],
        ),
    )

    # --- the forms -----------------------------------------------------------------------

    def has_change_permission(self, request, obj=None):
        # Once the visit has started (or ended), the appointment is history: readable only.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.status in Appointment.EDITABLE)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = AppointmentChangeForm if obj is not None else BookingForm
        form = super().get_form(request, obj, change, **kwargs)
        # modelform_factory made this class for this request only.
        form.request = request
        return form

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ("patient", "doctor", "appointment_date", "appointment_time")}),
                ("Details", {"fields": ("appointment_type", "reason", "notes")}),
            ]
        booked = (
            "appointment_number",
            "status",
            "patient",
            "doctor",
            "appointment_date",
            "start_time",
            "end_time",
            "appointment_type",
        )
        if not self.has_change_permission(request, obj):
            return [
                (None, {"fields": booked}),
                ("Details", {"fields": ("office", "reason", "notes", "cancellation_reason")}),
                ("History", {"fields": ("rescheduled_from", "booked_by", "created_at")}),
            ]
        return [
            (None, {"fields": booked}),
            ("Details", {"fields": ("office", "reason", "notes", "row_version")}),
            ("Reschedule", {"fields": ("reschedule_to", "new_time")}),
            ("History", {"fields": ("rescheduled_from", "booked_by", "created_at")}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "appointment_number",
            "status",
            "patient",
            "doctor",
            "appointment_date",
            "start_time",
            "end_time",
            "appointment_type",
            "cancellation_reason",
            "rescheduled_from",
            "booked_by",
            "created_at",
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "doctor":
            kwargs["queryset"] = bookable_doctors()
        elif db_field.name == "patient":
            kwargs["queryset"] = Patient.objects.active()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def add_view(self, request, form_url="", extra_context=None):
        if request.method == "POST" and "_slots" in request.POST:
            # The reason and notes stay out of the address (and so out of server logs); they
            # come after the slot on the form anyway.
            return self._show_slots(
                request, ("patient", "doctor", "appointment_date", "appointment_type")
            )
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST" and "_slots" in request.POST:
            return self._show_slots(request, ("reschedule_to",))
        return super().change_view(request, object_id, form_url, extra_context)

    def _show_slots(self, request, names) -> HttpResponseRedirect:
        # The same form again, filled in from the address, with the slots of the chosen
        # doctor and date. Nothing is saved; the form's page checks the permissions.
        values = {name: request.POST.get(name, "") for name in names}
        query = urlencode({k: v for k, v in values.items() if v})
        return HttpResponseRedirect(f"{request.path}?{query}")

    def save_model(self, request, obj, form, change):
        # A reschedule's refusal names the API's fields: here they are the new date and slot.
        names = {"appointment_date": "reschedule_to", "appointment_time": "new_time"}
        try:
            if change:
                self._change(request, obj, form)
            else:
                self._book(request, obj, form)
        except ApplicationError as exc:
            if change:
                renamed_fields(exc, names)
            raise

    def _book(self, request, obj, form):
        data = form.cleaned_data
        appointment = appointment_book(
            tenant=request.tenant,
            actor=request.user,
            patient_id=data["patient"].pk,
            doctor_id=data["doctor"].pk,
            appointment_date=data["appointment_date"],
            appointment_time=data.get("appointment_time"),
            appointment_type=data["appointment_type"],
            reason=data.get("reason") or "",
            notes=data.get("notes") or "",
        )
        obj.pk, obj.tenant_id, obj._state.adding = appointment.pk, appointment.tenant_id, False
        obj.appointment_number = appointment.appointment_number

    def _change(self, request, obj, form):
        changes = form_changes(form)
        for name in ("row_version", "reschedule_to", "new_time"):
            changes.pop(name, None)
        if "office" in changes:
            office = changes.pop("office")
            changes["office_id"] = office.pk if office else None
        if changes:
            appointment_update(
                tenant=request.tenant,
                actor=request.user,
                appointment=Appointment.objects.get(pk=obj.pk),
                expected_version=form.cleaned_data.get("row_version") or None,
                **changes,
            )
        if form.cleaned_data.get("reschedule_to"):
            request._appointment_rescheduled_to = appointment_reschedule(
                tenant=request.tenant,
                actor=request.user,
                appointment=Appointment.objects.get(pk=obj.pk),
                appointment_date=form.cleaned_data["reschedule_to"],
                appointment_time=form.cleaned_data["new_time"],
            )

    def response_post_save_add(self, request, obj):
        # The list of the booked day, where the new appointment is (the list opens on today).
        url = reverse("admin:clinical_appointment_changelist")
        return HttpResponseRedirect(f"{url}?day={obj.appointment_date.isoformat()}")

    def response_change(self, request, obj):
        new = getattr(request, "_appointment_rescheduled_to", None)
        if new is None:
            return super().response_change(request, obj)
        self.message_user(
            request,
            f"{obj} is rescheduled: the new appointment is {new}, on "
            f"{new.appointment_date:%a %d %b %Y} at {new.start_time:%H:%M}.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:clinical_appointment_change", args=[new.pk]))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            context.update(self._next_steps(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _next_steps(self, request, appointment) -> dict:
        """The appointment's prescription, or the way to write one (for those who may)."""
        membership = getattr(request, "membership", None)
        if membership is None:
            return {}
        role = membership.role
        written = None
        if matrix_allows(request, role, "prescriptions", "read"):
            written = Prescription.objects.filter(appointment=appointment).first()
        prescribe_url = None
        may_write = matrix_allows(request, role, "prescriptions", "create")
        if written is None and may_write and appointment.status not in CLOSED:
            add = reverse("admin:clinical_prescription_add")
            prescribe_url = f"{add}?appointment={appointment.pk}"
        return {
            "prescription": written,
            "prescription_url": written
            and reverse("admin:clinical_prescription_change", args=[written.pk]),
            "prescribe_url": prescribe_url,
        }
