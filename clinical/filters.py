"""Query filters of the clinical lists (django-filter). Ids are plain UUID filters: another
clinic's id simply matches nothing, and a malformed one is a 400."""

from __future__ import annotations

import re

import django_filters
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from clinical.models import (
    Appointment,
    CatalogueMedicine,
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    Doctor,
    Patient,
    Prescription,
    ShortKey,
)
from clinical.models.dental import ALL_TEETH, SharedDentalTemplate
from clinical.selectors import patient_search
from core import fields


class DoctorFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search", max_length=100, label="Name, specialization or licence."
    )
    office = django_filters.UUIDFilter(field_name="office_links__office_id", distinct=True)

    class Meta:
        model = Doctor
        fields = ["is_active", "specialization"]

    def filter_search(self, queryset, name, value):
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(user__first_name__icontains=word)
                | Q(user__last_name__icontains=word)
                | Q(specialization__icontains=word)
                | Q(license_number__icontains=word)
            )
        return queryset


class PatientFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=100,
        label="A name, or the start of a mobile number (+91 optional).",
    )
    mobile_number = django_filters.CharFilter(field_name="mobile", max_length=20)

    class Meta:
        model = Patient
        fields = ["gender", "relationship_to_primary"]

    def filter_search(self, queryset, name, value):
        return patient_search(queryset, value)


class MedicineFilter(django_filters.FilterSet):
    """Filters of the catalogue a clinic sees (the view over the shared and own medicines)."""

    search = django_filters.CharFilter(
        method="filter_search", max_length=100, label="Name, generic name or composition."
    )
    scope = django_filters.ChoiceFilter(
        method="filter_scope",
        choices=[("global", "Shared catalogue"), ("clinic", "This clinic's own")],
    )
    category = django_filters.CharFilter(lookup_expr="iexact", max_length=100)

    class Meta:
        model = CatalogueMedicine
        fields = ["dosage_form", "prescription_only", "is_active"]

    def filter_search(self, queryset, name, value):
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(name__icontains=word)
                | Q(generic_name__icontains=word)
                | Q(composition__icontains=word)
            )
        return queryset

    def filter_scope(self, queryset, name, value):
        return queryset.filter(is_global=(value == "global"))


class ShortKeyFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=100)
    personal = django_filters.BooleanFilter(field_name="doctor", lookup_expr="isnull", exclude=True)

    class Meta:
        model = ShortKey
        fields = ["is_active"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))


class AppointmentFilter(django_filters.FilterSet):
    date = fields.DateFilter(field_name="appointment_date")
    date_from = fields.DateFilter(field_name="appointment_date", lookup_expr="gte")
    date_to = fields.DateFilter(field_name="appointment_date", lookup_expr="lte")
    doctor = django_filters.UUIDFilter(field_name="doctor_id")
    patient = django_filters.UUIDFilter(field_name="patient_id")
    office = django_filters.UUIDFilter(field_name="office_id")
    search = django_filters.CharFilter(
        method="filter_search", max_length=100, label="Appointment number or patient name."
    )

    class Meta:
        model = Appointment
        fields = ["status", "appointment_type"]

    def filter_search(self, queryset, name, value):
        number = value.strip().upper()
        if number.startswith("APT-"):
            return queryset.filter(appointment_number=number)
        if re.fullmatch(r"APT\d{12}", number):
            # The earlier system's number, kept by the import (clinics.legacy).
            return queryset.filter(legacy_number=number)
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(patient__first_name__icontains=word) | Q(patient__last_name__icontains=word)
            )
        return queryset


class PrescriptionFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient_id")
    doctor = django_filters.UUIDFilter(field_name="doctor_id")
    appointment = django_filters.UUIDFilter(field_name="appointment_id")
    visit_date_from = fields.DateFilter(field_name="visit_date", lookup_expr="gte")
    visit_date_to = fields.DateFilter(field_name="visit_date", lookup_expr="lte")
    search = django_filters.CharFilter(
        method="filter_search", max_length=100, label="Prescription number or patient name."
    )

    class Meta:
        model = Prescription
        fields = ["status"]

    def filter_search(self, queryset, name, value):
        number = value.strip().upper()
        if number.startswith("RX-"):
            return queryset.filter(prescription_number=number)
        if re.fullmatch(r"RX\d{12}", number):
            return queryset.filter(legacy_number=number)
        for word in value.split()[:5]:
            queryset = queryset.filter(
                Q(patient__first_name__icontains=word) | Q(patient__last_name__icontains=word)
            )
        return queryset


# --- dental records ---------------------------------------------------------------------------

# A tooth filter takes FDI numbers only: anything else is a 400, never a number PostgreSQL
# cannot hold as a tooth (smallint).
TEETH = [(n, str(n)) for n in ALL_TEETH]


class DentalObservationFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient_id")
    appointment = django_filters.UUIDFilter(field_name="appointment_id")
    prescription = django_filters.UUIDFilter(field_name="prescription_id")
    tooth_number = django_filters.TypedChoiceFilter(choices=TEETH, coerce=int)
    observed_from = fields.DateFilter(field_name="observed_on", lookup_expr="gte")
    observed_to = fields.DateFilter(field_name="observed_on", lookup_expr="lte")

    class Meta:
        model = DentalObservation
        fields = ["condition_type", "severity", "treatment_required", "treatment_done"]


class DentalProcedureFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient_id")
    observation = django_filters.UUIDFilter(field_name="observation_id")
    prescription = django_filters.UUIDFilter(field_name="prescription_id")
    appointment = django_filters.UUIDFilter(field_name="appointment_id")
    tooth_number = django_filters.TypedChoiceFilter(
        choices=TEETH, coerce=int, method="filter_tooth", label="Procedures covering this tooth."
    )
    procedure_code = django_filters.CharFilter(lookup_expr="iexact", max_length=5)

    class Meta:
        model = DentalProcedure
        fields = ["status"]

    @extend_schema_field(OpenApiTypes.INT)
    def filter_tooth(self, queryset, name, value):
        return queryset.filter(teeth__contains=[value])


class DentalTemplateFilter(django_filters.FilterSet):
    scope = django_filters.ChoiceFilter(
        method="filter_scope",
        choices=[("global", "Shared templates"), ("clinic", "This clinic's own")],
    )
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains", max_length=100)

    class Meta:
        # The filtered fields are common to both tables: the filters apply to the shared set
        # (SharedDentalTemplate) too (clinical.api.dental_templates.DentalTemplateViewSet).
        model = DentalTemplate
        fields = ["condition_type", "tooth_surface", "severity", "is_active"]

    def filter_scope(self, queryset, name, value):
        shared = queryset.model is SharedDentalTemplate
        return queryset if shared == (value == "global") else queryset.none()


class DentalAttachmentFilter(django_filters.FilterSet):
    patient = django_filters.UUIDFilter(field_name="patient_id")
    observation = django_filters.UUIDFilter(field_name="observation_id")
    procedure = django_filters.UUIDFilter(field_name="procedure_id")

    class Meta:
        model = DentalAttachment
        fields = ["file_type"]
