from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clinical.models import Doctor, DoctorAvailability
from clinical.serializers.base import InputSerializer, OfficeSummarySerializer, text


class AvailabilitySerializer(serializers.Serializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 is Monday.")
    weekday_name = serializers.SerializerMethodField()
    start_time = serializers.TimeField(format="%H:%M")
    end_time = serializers.TimeField(format="%H:%M")
    office_id = serializers.UUIDField(allow_null=True, required=False)

    def get_weekday_name(self, window) -> str:
        return DoctorAvailability.WEEKDAYS[window.weekday]


class AvailabilityInputSerializer(InputSerializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 is Monday.")
    start_time = serializers.TimeField()
    end_time = serializers.TimeField()
    office_id = serializers.UUIDField(allow_null=True, required=False, default=None)


class DoctorSerializer(serializers.ModelSerializer):
    # Until the invited doctor accepts, `user_id` is null and the names, e-mail and phone are
    # what the clinic typed in the invitation; afterwards they are the person's own.
    user_id = serializers.UUIDField(read_only=True, allow_null=True)
    first_name = serializers.CharField(read_only=True)
    last_name = serializers.CharField(read_only=True)
    full_name = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    phone = serializers.CharField(read_only=True)
    invitation_status = serializers.ChoiceField(
        choices=["active", "invited", "expired", "declined", "revoked"],
        read_only=True,
        help_text="active once the doctor has accepted the invitation.",
    )
    office_ids = serializers.SerializerMethodField()
    offices = serializers.SerializerMethodField()
    availability = AvailabilitySerializer(many=True, read_only=True)

    class Meta:
        model = Doctor
        fields = [
            "id",
            "user_id",
            "first_name",
            "last_name",
            "full_name",
            "email",
            "phone",
            "license_number",
            "specialization",
            "qualification",
            "experience_years",
            "consultation_fee",
            "consultation_duration",
            "is_active",
            "invitation_status",
            "office_ids",
            "offices",
            "availability",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_office_ids(self, doctor) -> list[str]:
        return [str(link.office_id) for link in doctor.office_links.all()]

    @extend_schema_field(OfficeSummarySerializer(many=True))
    def get_offices(self, doctor):
        return [
            {"id": link.office_id, "name": link.office.name} for link in doctor.office_links.all()
        ]


class DoctorUpdateSerializer(InputSerializer):
    license_number = text(50, required=False, allow_blank=False)
    specialization = text(100, required=False, allow_blank=False)
    qualification = text(200)
    experience_years = serializers.IntegerField(
        min_value=0, max_value=70, required=False, allow_null=True
    )
    consultation_fee = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("1000000"),
        required=False,
        help_text='Rupees, e.g. "500.00".',
    )
    consultation_duration = serializers.IntegerField(
        min_value=5, max_value=240, required=False, help_text="Minutes per consultation."
    )
    office_ids = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=50,
        help_text="Replaces the doctor's offices.",
    )
    availability = serializers.ListField(
        child=AvailabilityInputSerializer(),
        required=False,
        max_length=42,
        help_text="Replaces the doctor's weekly availability.",
    )
