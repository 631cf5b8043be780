from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from clinical.api.base import ClinicalViewSet
from clinical.filters import DoctorFilter
from clinical.models import Doctor
from clinical.selectors import doctors_with_details
from clinical.serializers.doctors import DoctorSerializer, DoctorUpdateSerializer
from clinical.services import doctor_activate, doctor_deactivate, doctor_update


@extend_schema(tags=["doctors"])
class DoctorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicalViewSet):
    """The clinic's doctors with their offices and weekly availability. Doctors are added
    with POST /api/v1/tenants/doctors and deactivated, never deleted."""

    model = Doctor
    resource = "doctors"
    serializer_class = DoctorSerializer
    filterset_class = DoctorFilter
    ordering_fields = ["created_at", "specialization", "license_number"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def narrow_queryset(self, queryset):
        return doctors_with_details(queryset)

    def _answer(self, doctor):
        return Response(DoctorSerializer(self.get_queryset().get(pk=doctor.pk)).data)

    @extend_schema(request=DoctorUpdateSerializer, responses=DoctorSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change the profile, fee, consultation length, offices or weekly availability
        (`office_ids` and `availability` replace what was there)."""
        doctor = self.get_object()
        data = DoctorUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doctor = doctor_update(
            tenant=request.tenant, actor=request.user, doctor=doctor, **data.validated_data
        )
        return self._answer(doctor)

    @extend_schema(request=None, responses=DoctorSerializer)
    @action(detail=True, methods=["post"], matrix_action="deactivate")
    def deactivate(self, request, pk=None):
        """Stop new bookings and prescriptions for this doctor; the history stays."""
        doctor = doctor_deactivate(
            tenant=request.tenant, actor=request.user, doctor=self.get_object()
        )
        return self._answer(doctor)

    @extend_schema(request=None, responses=DoctorSerializer)
    @action(detail=True, methods=["post"], matrix_action="activate")
    def activate(self, request, pk=None):
        """Reactivate a doctor, within the plan's doctor limit."""
        doctor = doctor_activate(
            tenant=request.tenant, actor=request.user, doctor=self.get_object()
        )
        return self._answer(doctor)
