from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from clinical.api.base import CONFLICT_STATE, ClinicalViewSet, error
from clinical.filters import AppointmentFilter
from clinical.models import Appointment, Doctor
from clinical.selectors import appointments_with_details, doctor_free_slots
from clinical.serializers.appointments import (
    AppointmentInputSerializer,
    AppointmentRescheduleSerializer,
    AppointmentSerializer,
    AppointmentStatusSerializer,
    AppointmentUpdateSerializer,
    AvailabilityQuerySerializer,
    AvailabilityResponseSerializer,
)
from clinical.services import (
    appointment_book,
    appointment_reschedule,
    appointment_transition,
    appointment_update,
)
from clinical.services.appointments import local_now
from clinical.services.common import get_in_clinic

SLOT_TAKEN = error("The doctor already has an appointment at that time (`slot_taken`).")


@extend_schema(tags=["appointments"])
class AppointmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicalViewSet):
    """Appointments (APT-YYYYMMDD-NNNN): booking, status, rescheduling, free slots."""

    model = Appointment
    versioned = True
    resource = "appointments"
    serializer_class = AppointmentSerializer
    filterset_class = AppointmentFilter
    ordering_fields = ["appointment_date", "start_time", "created_at", "status"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def narrow_queryset(self, queryset):
        return appointments_with_details(queryset)

    def _answer(self, appointment, status_code=status.HTTP_200_OK):
        appointment = self.get_queryset().get(pk=appointment.pk)
        return Response(AppointmentSerializer(appointment).data, status=status_code)

    @extend_schema(
        request=AppointmentInputSerializer,
        responses={201: AppointmentSerializer, 409: SLOT_TAKEN},
    )
    def create(self, request, *args, **kwargs):
        """Book an appointment: today or later, inside the doctor's availability (walk-ins:
        today, any time), never overlapping another booking of the doctor."""
        data = AppointmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = appointment_book(
            tenant=request.tenant, actor=request.user, **data.validated_data
        )
        return self._answer(appointment, status.HTTP_201_CREATED)

    @extend_schema(
        request=AppointmentUpdateSerializer,
        responses={200: AppointmentSerializer, 409: CONFLICT_STATE},
    )
    def partial_update(self, request, *args, **kwargs):
        """Change the reason, notes or office before the visit (times: reschedule)."""
        data = AppointmentUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        appointment = appointment_update(
            tenant=request.tenant,
            actor=request.user,
            appointment=self.get_object(),
            expected_version=self.expected_version(request),
            **data.validated_data,
        )
        return self._answer(appointment)

    @extend_schema(
        request=AppointmentStatusSerializer,
        responses={200: AppointmentSerializer, 409: CONFLICT_STATE},
    )
    @action(detail=True, methods=["post"], matrix_action="status", url_path="status")
    def change_status(self, request, pk=None):
        """scheduled → confirmed → in_progress → completed, or cancelled / no_show before
        the visit starts; anything else is 409 `invalid_transition`."""
        data = AppointmentStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = appointment_transition(
            tenant=request.tenant,
            actor=request.user,
            appointment=self.get_object(),
            **data.validated_data,
        )
        return self._answer(appointment)

    @extend_schema(
        request=AppointmentRescheduleSerializer,
        responses={201: AppointmentSerializer, 409: SLOT_TAKEN},
    )
    @action(detail=True, methods=["post"], matrix_action="reschedule")
    def reschedule(self, request, pk=None):
        """Book a new time: answers the new appointment; the old one becomes `rescheduled`."""
        data = AppointmentRescheduleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        appointment = appointment_reschedule(
            tenant=request.tenant,
            actor=request.user,
            appointment=self.get_object(),
            **data.validated_data,
        )
        return self._answer(appointment, status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("doctor", OpenApiTypes.UUID, required=True),
            OpenApiParameter("date", OpenApiTypes.DATE, required=True),
        ],
        responses=AvailabilityResponseSerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"], matrix_action="read", filter_backends=[])
    def availability(self, request):
        """Free slots of a doctor on a date: the weekly availability cut into slots of the
        consultation length, minus booked ones (and, today, minus past ones)."""
        query = AvailabilityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        doctor = get_in_clinic(
            Doctor.objects.prefetch_related("availability"),
            query.validated_data["doctor"],
            field="doctor",
            label="doctor",
        )
        day = query.validated_data["date"]
        now = local_now()
        slots = (
            []
            if day < now.date() or not doctor.is_active
            else doctor_free_slots(doctor=doctor, day=day, now=now)
        )
        body = {
            "doctor_id": doctor.pk,
            "date": day,
            "weekday": day.weekday(),
            "slot_minutes": doctor.consultation_duration,
            "slots": slots,
        }
        return Response(AvailabilityResponseSerializer(body).data)
