from __future__ import annotations

from rest_framework import serializers

from clinical.models import Appointment
from clinical.serializers.base import (
    DoctorSummarySerializer,
    InputSerializer,
    OfficeSummarySerializer,
    PatientSummarySerializer,
    text,
)
from core import fields


class AppointmentSerializer(serializers.ModelSerializer):
    patient_id = serializers.UUIDField(read_only=True)
    patient = PatientSummarySerializer(read_only=True)
    doctor_id = serializers.UUIDField(read_only=True)
    doctor = DoctorSummarySerializer(read_only=True)
    office_id = serializers.UUIDField(read_only=True, allow_null=True)
    office = OfficeSummarySerializer(read_only=True, allow_null=True)
    appointment_time = serializers.TimeField(source="start_time", format="%H:%M", read_only=True)
    end_time = serializers.TimeField(format="%H:%M", read_only=True)
    rescheduled_from_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "appointment_number",
            "patient_id",
            "patient",
            "doctor_id",
            "doctor",
            "office_id",
            "office",
            "appointment_date",
            "appointment_time",
            "end_time",
            "duration_minutes",
            "appointment_type",
            "status",
            "reason",
            "notes",
            "cancellation_reason",
            "rescheduled_from_id",
            "status_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AppointmentInputSerializer(InputSerializer):
    patient_id = serializers.UUIDField()
    doctor_id = serializers.UUIDField()
    office_id = serializers.UUIDField(required=False, allow_null=True)
    appointment_date = fields.DateField(help_text="Today or later.")
    appointment_time = serializers.TimeField(
        required=False, help_text="Required for scheduled bookings; a walk-in defaults to now."
    )
    duration_minutes = serializers.IntegerField(
        min_value=5, max_value=480, required=False, help_text="Defaults to the doctor's."
    )
    appointment_type = serializers.ChoiceField(
        choices=Appointment.Type.choices, default=Appointment.Type.SCHEDULED
    )
    reason = text(500)
    notes = text(2000)


class AppointmentUpdateSerializer(InputSerializer):
    office_id = serializers.UUIDField(required=False, allow_null=True)
    reason = text(500)
    notes = text(2000)


class AppointmentStatusSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=Appointment.Status.choices)
    reason = text(500, help_text="Why it was cancelled (kept with the appointment).")


class AppointmentRescheduleSerializer(InputSerializer):
    appointment_date = fields.DateField()
    appointment_time = serializers.TimeField()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=480, required=False)
    office_id = serializers.UUIDField(required=False, allow_null=True)


class AvailabilityQuerySerializer(InputSerializer):
    doctor = serializers.UUIDField()
    date = fields.DateField()


class SlotSerializer(serializers.Serializer):
    start_time = serializers.TimeField(format="%H:%M")
    end_time = serializers.TimeField(format="%H:%M")
    office_id = serializers.UUIDField(allow_null=True)


class AvailabilityResponseSerializer(serializers.Serializer):
    doctor_id = serializers.UUIDField()
    date = fields.DateField()
    weekday = serializers.IntegerField(help_text="0 is Monday.")
    slot_minutes = serializers.IntegerField()
    slots = SlotSerializer(many=True)
