"""Dental records in the API: observations, procedures, templates, attachments and the chart.

Thin: output serializers read the model, input serializers check types and choices; the
services (clinical.services.dental) decide everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from django.urls import reverse
from rest_framework import serializers

from clinical.models import DentalAttachment, DentalObservation, DentalProcedure, DentalTemplate
from clinical.models.dental import (
    FDI_RULE,
    MAX_COST,
    MAX_TEETH_PER_PROCEDURE,
    ConditionType,
    Severity,
    ToothSurface,
    procedure_code_validator,
    validate_fdi_tooth,
)
from clinical.serializers.base import InputSerializer, PatientSummarySerializer, text
from core import fields


class ToothNumberField(serializers.IntegerField):
    """A tooth in FDI notation (11-48 permanent, 51-85 primary), with the rule in the error."""

    default_error_messages = {"invalid": f"Enter a tooth number in FDI notation: {FDI_RULE}."}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "FDI notation: 11-18, 21-28, 31-38, 41-48; 51-85 primary.")
        super().__init__(**kwargs)
        self.validators.append(validate_fdi_tooth)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError:
            self.fail("invalid")


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=MAX_COST,
        required=False,
        allow_null=True,
        help_text='Rupees, e.g. "2500.00".',
        **kwargs,
    )


def _choice(choices, *, required=False, allow_blank=True):
    return serializers.ChoiceField(choices=choices, required=required, allow_blank=allow_blank)


def attachment_url(request, attachment) -> str:
    path = reverse("dental-attachment-download", kwargs={"pk": attachment.pk})
    return request.build_absolute_uri(path) if request is not None else path


class AttachmentSummarySerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = DentalAttachment
        fields = ["id", "file_type", "content_type", "size", "original_name", "file_url"]
        read_only_fields = fields

    def get_file_url(self, attachment) -> str:
        """Download through the API (an authenticated member of the clinic only)."""
        return attachment_url(self.context.get("request"), attachment)


# --- observations -----------------------------------------------------------------------------


class DentalObservationSerializer(serializers.ModelSerializer):
    patient_id = serializers.UUIDField(read_only=True)
    doctor_id = serializers.UUIDField(read_only=True)
    appointment_id = serializers.UUIDField(read_only=True, allow_null=True)
    prescription_id = serializers.UUIDField(read_only=True, allow_null=True)
    is_open = serializers.BooleanField(read_only=True)
    attachments = AttachmentSummarySerializer(many=True, read_only=True)

    class Meta:
        model = DentalObservation
        fields = [
            "id",
            "patient_id",
            "doctor_id",
            "appointment_id",
            "prescription_id",
            "tooth_number",
            "tooth_surface",
            "condition_type",
            "severity",
            "notes",
            "treatment_required",
            "treatment_done",
            "treatment_date",
            "observed_on",
            "is_open",
            "attachments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DentalObservationUpdateSerializer(InputSerializer):
    tooth_number = ToothNumberField(required=False)
    tooth_surface = _choice(ToothSurface.choices)
    condition_type = _choice(ConditionType.choices, allow_blank=False)
    severity = _choice(Severity.choices)
    notes = text(5000)
    treatment_required = serializers.BooleanField(required=False)
    treatment_done = serializers.BooleanField(required=False)
    treatment_date = fields.DateField(required=False, allow_null=True)
    observed_on = fields.DateField(required=False, help_text="Not in the future.")
    prescription_id = serializers.UUIDField(
        required=False, allow_null=True, help_text="One of the patient's prescriptions."
    )


class DentalObservationInputSerializer(DentalObservationUpdateSerializer):
    patient_id = serializers.UUIDField()
    appointment_id = serializers.UUIDField(required=False, allow_null=True)
    tooth_number = ToothNumberField()
    condition_type = _choice(ConditionType.choices, required=True, allow_blank=False)


# --- procedures -------------------------------------------------------------------------------


class DentalProcedureSerializer(serializers.ModelSerializer):
    patient_id = serializers.UUIDField(read_only=True)
    doctor_id = serializers.UUIDField(read_only=True)
    observation_id = serializers.UUIDField(read_only=True, allow_null=True)
    prescription_id = serializers.UUIDField(read_only=True, allow_null=True)
    appointment_id = serializers.UUIDField(read_only=True, allow_null=True)
    teeth = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    attachments = AttachmentSummarySerializer(many=True, read_only=True)

    class Meta:
        model = DentalProcedure
        fields = [
            "id",
            "patient_id",
            "doctor_id",
            "observation_id",
            "prescription_id",
            "appointment_id",
            "procedure_code",
            "procedure_name",
            "teeth",
            "estimated_cost",
            "actual_cost",
            "status",
            "planned_date",
            "started_date",
            "completed_date",
            "notes",
            "attachments",
            "status_changed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class DentalProcedureUpdateSerializer(InputSerializer):
    procedure_code = serializers.CharField(
        max_length=5,
        required=False,
        validators=[procedure_code_validator],
        help_text="CDT-style: D and four digits (D2391).",
    )
    procedure_name = text(200, required=False, allow_blank=False)
    teeth = serializers.ListField(
        child=ToothNumberField(),
        max_length=MAX_TEETH_PER_PROCEDURE,
        required=False,
        allow_null=True,
        help_text="FDI numbers of the teeth it covers; empty: the whole mouth.",
    )
    estimated_cost = _money()
    actual_cost = _money()
    planned_date = fields.DateField(required=False, allow_null=True)
    notes = text(5000)

    def to_internal_value(self, data):
        # Codes are written as people type them (d2391): compare them in upper case.
        if isinstance(data, Mapping) and isinstance(data.get("procedure_code"), str):
            code = data.get("procedure_code").strip().upper()
            data = data.copy()
            data["procedure_code"] = code
        return super().to_internal_value(data)


class DentalProcedureInputSerializer(DentalProcedureUpdateSerializer):
    patient_id = serializers.UUIDField()
    observation_id = serializers.UUIDField(required=False, allow_null=True)
    prescription_id = serializers.UUIDField(required=False, allow_null=True)
    appointment_id = serializers.UUIDField(required=False, allow_null=True)
    procedure_code = serializers.CharField(
        max_length=5,
        validators=[procedure_code_validator],
        help_text="CDT-style: D and four digits (D2391).",
    )
    procedure_name = text(200, required=True)


class DentalProcedureStatusSerializer(InputSerializer):
    status = serializers.ChoiceField(choices=DentalProcedure.Status.choices)
    actual_cost = _money()
    notes = text(5000)


# --- templates --------------------------------------------------------------------------------


class DentalTemplateSerializer(serializers.ModelSerializer):
    scope = serializers.SerializerMethodField()
    specificity = serializers.IntegerField(
        source="fields_set",
        read_only=True,
        help_text="How many of condition, surface and severity the template names (0-3).",
    )

    class Meta:
        model = DentalTemplate
        fields = [
            "id",
            "name",
            "condition_type",
            "tooth_surface",
            "severity",
            "notes",
            "treatment_required",
            "procedure_code",
            "is_active",
            "scope",
            "specificity",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_scope(self, template) -> str:
        """`global` for the shared templates (read-only), `clinic` for the clinic's own."""
        return "global" if template.is_global else "clinic"


class DentalTemplateInputSerializer(InputSerializer):
    name = text(200, required=True)
    condition_type = _choice(ConditionType.choices)
    tooth_surface = _choice(ToothSurface.choices)
    severity = _choice(Severity.choices)
    notes = text(5000, required=True)
    treatment_required = serializers.BooleanField(required=False)
    procedure_code = serializers.CharField(max_length=5, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)

    def validate_procedure_code(self, value):
        value = value.strip().upper()
        if value:
            procedure_code_validator(value)
        return value


class DentalTemplateMatchSerializer(InputSerializer):
    condition = _choice(ConditionType.choices)
    surface = _choice(ToothSurface.choices)
    severity = _choice(Severity.choices)


# --- attachments ------------------------------------------------------------------------------


class DentalAttachmentSerializer(AttachmentSummarySerializer):
    patient_id = serializers.UUIDField(read_only=True)
    observation_id = serializers.UUIDField(read_only=True, allow_null=True)
    procedure_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = DentalAttachment
        fields = [
            "id",
            "patient_id",
            "observation_id",
            "procedure_id",
            "file_type",
            "content_type",
            "size",
            "original_name",
            "description",
            "file_url",
            "created_at",
        ]
        read_only_fields = fields


class DentalAttachmentInputSerializer(InputSerializer):
    file = serializers.FileField(help_text="JPEG, PNG or PDF (checked from its content).")
    file_type = serializers.ChoiceField(choices=DentalAttachment.FileType.choices)
    observation_id = serializers.UUIDField(required=False)
    procedure_id = serializers.UUIDField(required=False)
    description = text(500)


# --- the chart --------------------------------------------------------------------------------


class ChartProcedureSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    procedure_code = serializers.CharField()
    procedure_name = serializers.CharField()
    status = serializers.CharField()
    teeth = serializers.ListField(child=serializers.IntegerField())
    planned_date = fields.DateField(allow_null=True)
    completed_date = fields.DateField(allow_null=True)


class ChartToothSerializer(serializers.Serializer):
    tooth_number = serializers.IntegerField()
    dentition = serializers.ChoiceField(choices=["permanent", "primary"])
    condition_type = serializers.CharField(allow_null=True, help_text="The latest finding.")
    tooth_surface = serializers.CharField(allow_blank=True)
    severity = serializers.CharField(allow_blank=True)
    observed_on = fields.DateField(allow_null=True)
    observation_id = serializers.UUIDField(allow_null=True)
    treatment_required = serializers.BooleanField()
    open_procedures = ChartProcedureSerializer(many=True)
    completed_procedures = ChartProcedureSerializer(many=True)


class DentalChartSerializer(serializers.Serializer):
    patient = PatientSummarySerializer()
    teeth = ChartToothSerializer(many=True)
    whole_mouth_procedures = ChartProcedureSerializer(
        many=True, help_text="Procedures on no particular tooth (scaling, say)."
    )
    observations = serializers.IntegerField(help_text="Observations recorded in all.")
