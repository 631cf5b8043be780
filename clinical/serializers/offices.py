from __future__ import annotations

from rest_framework import serializers

from clinical.models import Office
from core.fields import PhoneField, StrictInputMixin


class OfficeDoctorSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(source="full_name")
    specialization = serializers.CharField()


class OfficeSerializer(StrictInputMixin, serializers.ModelSerializer):
    doctors = serializers.SerializerMethodField()
    phone = PhoneField(required=False, allow_blank=True)

    class Meta:
        model = Office
        fields = [
            "id",
            "name",
            "address",
            "phone",
            "is_primary",
            "is_active",
            "doctors",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]

    def get_doctors(self, office) -> list[dict]:
        doctors = [link.doctor for link in office.doctor_links.all() if link.doctor.is_active]
        return OfficeDoctorSerializer(doctors, many=True).data
