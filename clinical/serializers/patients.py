from __future__ import annotations

from rest_framework import serializers

from clinical.models import Patient
from clinical.serializers.base import InputSerializer, text
from core import fields
from core.fields import PhoneField


class PatientSerializer(serializers.ModelSerializer):
    mobile_number = serializers.CharField(source="mobile", read_only=True)
    full_name = serializers.CharField(read_only=True)
    age = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = Patient
        fields = [
            "id",
            "first_name",
            "last_name",
            "full_name",
            "mobile_number",
            "date_of_birth",
            "age",
            "gender",
            "email",
            "address",
            "notes",
            "emergency_contact",
            "relationship_to_primary",
            "print_language",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Patient) -> dict:
        # The patient list is the busiest endpoint (up to 100 rows a page). DRF's generic
        # walk over the declared fields cost more than the list's database work
        # (bench/http_load.py), so the same output is built directly; a test checks it
        # against DRF's own rendering of these fields for every kind of value.
        born = instance.date_of_birth
        return {
            "id": str(instance.id),
            "first_name": instance.first_name,
            "last_name": instance.last_name,
            "full_name": instance.full_name,
            "mobile_number": instance.mobile,
            "date_of_birth": None if born is None else born.isoformat(),
            "age": instance.age,
            "gender": instance.gender,
            "email": instance.email,
            "address": instance.address,
            "notes": instance.notes,
            "emergency_contact": instance.emergency_contact,
            "relationship_to_primary": instance.relationship_to_primary,
            "print_language": instance.print_language,
            "created_at": _DATETIME.to_representation(instance.created_at),
            "updated_at": _DATETIME.to_representation(instance.updated_at),
        }


# Renders a datetime exactly as a ModelSerializer's DateTimeField does (time zone, format).
_DATETIME = serializers.DateTimeField()


class FamilyMemberInputSerializer(InputSerializer):
    first_name = text(100, required=True)
    last_name = text(100)
    date_of_birth = fields.DateField(required=False, allow_null=True)
    gender = serializers.ChoiceField(
        choices=Patient.Gender.choices, required=False, allow_blank=True
    )
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    address = text(1000)
    notes = text(5000)
    emergency_contact = text(200)
    relationship_to_primary = serializers.ChoiceField(
        choices=Patient.Relationship.choices,
        required=False,
        allow_null=True,
        help_text="Omit for the first patient of a mobile number (it becomes `self`); "
        "required for every further family member.",
    )
    print_language = text(
        10, help_text="The language of this patient's prints (en, hi, …); empty: the clinic's."
    )


class PatientInputSerializer(FamilyMemberInputSerializer):
    mobile_number = PhoneField(
        mobile=True,
        required=True,
        source="mobile",
        help_text="Indian mobile number; +91, spaces and dashes are accepted, ten digits "
        "are stored.",
    )


class FamilySerializer(serializers.Serializer):
    mobile_number = serializers.CharField()
    count = serializers.IntegerField()
    limit = serializers.IntegerField()
    members = PatientSerializer(many=True, help_text="The primary member (`self`) first.")
