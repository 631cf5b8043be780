from __future__ import annotations

from rest_framework import serializers

from clinical.models import Prescription, PrescriptionItem
from clinical.models.prescriptions import MAX_ITEMS, MIN_ITEMS
from clinical.serializers.base import (
    DoctorSummarySerializer,
    InputSerializer,
    MedicineSummarySerializer,
    PatientSummarySerializer,
    text,
)
from clinical.serializers.shortkeys import ItemInputSerializer
from core import fields


class PrescriptionItemSerializer(serializers.ModelSerializer):
    # One id whether the line names a shared medicine or one of the clinic's own.
    medicine_id = serializers.UUIDField(source="catalogue_medicine_id", read_only=True)
    medicine = MedicineSummarySerializer(source="catalogue_medicine", read_only=True)

    class Meta:
        model = PrescriptionItem
        fields = [
            "id",
            "medicine_id",
            "medicine",
            "dosage",
            "frequency",
            "duration",
            "instructions",
            "quantity",
            "generic_substitution_allowed",
            "order",
        ]
        read_only_fields = fields


class PrescriptionSerializer(serializers.ModelSerializer):
    patient_id = serializers.UUIDField(read_only=True)
    patient = PatientSummarySerializer(read_only=True)
    doctor_id = serializers.UUIDField(read_only=True)
    doctor = DoctorSummarySerializer(read_only=True)
    appointment_id = serializers.UUIDField(read_only=True, allow_null=True)
    items = PrescriptionItemSerializer(many=True, read_only=True)

    class Meta:
        model = Prescription
        fields = [
            "id",
            "prescription_number",
            "patient_id",
            "patient",
            "doctor_id",
            "doctor",
            "appointment_id",
            "visit_date",
            "chief_complaint",
            "diagnosis",
            "symptoms",
            "clinical_notes",
            "instructions",
            "follow_up_date",
            "status",
            "items",
            "status_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PrescriptionItemInputSerializer(ItemInputSerializer):
    generic_substitution_allowed = serializers.BooleanField(required=False, default=True)


def rx_items_field(*, required: bool) -> serializers.ListField:
    return serializers.ListField(
        child=PrescriptionItemInputSerializer(),
        min_length=MIN_ITEMS,
        max_length=MAX_ITEMS,
        required=required,
        help_text=f"{MIN_ITEMS} to {MAX_ITEMS} medicines, in order; each medicine once.",
    )


class PrescriptionUpdateSerializer(InputSerializer):
    visit_date = fields.DateField(required=False, help_text="Not in the future.")
    chief_complaint = text(500)
    diagnosis = text(1000, required=False, allow_blank=False)
    symptoms = text(5000)
    clinical_notes = text(10000)
    instructions = text(5000)
    follow_up_date = fields.DateField(required=False, allow_null=True)
    items = rx_items_field(required=False)


class PrescriptionInputSerializer(PrescriptionUpdateSerializer):
    patient_id = serializers.UUIDField()
    doctor_id = serializers.UUIDField(
        required=False, help_text="Your own doctor profile (the default); no one else's."
    )
    appointment_id = serializers.UUIDField(required=False, allow_null=True)
    diagnosis = text(1000, required=True)
    status = serializers.ChoiceField(
        choices=[Prescription.Status.DRAFT, Prescription.Status.ACTIVE],
        default=Prescription.Status.DRAFT,
    )
    short_key_code = serializers.CharField(
        min_length=2,
        max_length=20,
        required=False,
        help_text="Take the items from this short key (instead of `items`).",
    )

    def validate(self, data):
        if not data.get("items") and not data.get("short_key_code"):
            raise serializers.ValidationError({"items": ["Give the items or a short_key_code."]})
        return data


class PrescriptionStatusSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=Prescription.Status.choices)
