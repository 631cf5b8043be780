"""Admin of appointments (prescriptions: clinical.admin.prescriptions).

The lists read one table and prefetch the patients and doctors by key, as the API does: a
join of two tables under row-level security makes PostgreSQL misjudge the join
(clinical.selectors).
"""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_mixins import ReadOnlyFieldsMixin
from clinical.admin.common import ClinicalAdmin
from clinical.models import Appointment, Doctor
from clinical.selectors import appointments_with_details


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
class AppointmentAdmin(ReadOnlyFieldsMixin, ClinicalAdmin):
    """Booked, confirmed, moved and cancelled at the front desk (pages and API)."""

    resource = "appointments"

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
