"""Print templates in the API. Thin: types and choices here, every rule in
clinical.services.printing."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from clinical.models import PrintTemplate
from clinical.serializers.base import InputSerializer, text

SECTION_FIELDS = [f"show_{section}" for section in PrintTemplate.SECTIONS]


class PrintTemplateSerializer(serializers.ModelSerializer):
    office_id = serializers.UUIDField(read_only=True, allow_null=True)
    doctor_id = serializers.UUIDField(read_only=True, allow_null=True)
    scope = serializers.CharField(read_only=True, help_text="clinic, office or doctor.")
    logo_url = serializers.SerializerMethodField()
    signature_url = serializers.SerializerMethodField()

    class Meta:
        model = PrintTemplate
        fields = [
            "id",
            "scope",
            "office_id",
            "doctor_id",
            "name",
            "paper_size",
            "orientation",
            "margin_top_mm",
            "margin_right_mm",
            "margin_bottom_mm",
            "margin_left_mm",
            "header_title",
            "header_address",
            "header_phone",
            "registration_number",
            "logo_url",
            "doctor_name",
            "doctor_qualification",
            "doctor_registration",
            "signature_url",
            "footer_text",
            "language",
            *SECTION_FIELDS,
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def _image_url(self, template, field) -> str | None:
        if not getattr(template, field).name:
            return None
        path = reverse(f"print-template-{field}", kwargs={"pk": template.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_logo_url(self, template) -> str | None:
        """The logo through the API (members of the clinic only), or null."""
        return self._image_url(template, "logo")

    def get_signature_url(self, template) -> str | None:
        """The signature image through the API (members of the clinic only), or null."""
        return self._image_url(template, "signature")


class OptionalBoolean(serializers.BooleanField):
    """A boolean that is left alone when absent, in multipart forms too (DRF otherwise
    reads a missing form field as False, which would hide sections nobody asked to hide)."""

    default_empty_html = serializers.empty


def _margin():
    return serializers.IntegerField(min_value=0, max_value=50, required=False)


class PrintTemplateInputSerializer(InputSerializer):
    """A template's fields; images as multipart files. On create, `office_id` or
    `doctor_id` (not both) makes it that office's or doctor's; neither, the clinic's."""

    office_id = serializers.UUIDField(required=False, allow_null=True)
    doctor_id = serializers.UUIDField(required=False, allow_null=True)
    name = text(100)
    paper_size = serializers.ChoiceField(choices=PrintTemplate.Paper.choices, required=False)
    orientation = serializers.ChoiceField(choices=PrintTemplate.Orientation.choices, required=False)
    margin_top_mm = _margin()
    margin_right_mm = _margin()
    margin_bottom_mm = _margin()
    margin_left_mm = _margin()
    header_title = text(200)
    header_address = text(1000)
    header_phone = text(50)
    registration_number = text(50)
    doctor_name = text(200)
    doctor_qualification = text(200)
    doctor_registration = text(50)
    footer_text = text(300)
    language = text(10, help_text="en, hi, … (a language prints are available in); empty: en.")
    logo = serializers.FileField(required=False, help_text="JPEG or PNG, at most 1 MB.")
    signature = serializers.FileField(required=False, help_text="JPEG or PNG, at most 1 MB.")
    remove_logo = OptionalBoolean(required=False)
    remove_signature = OptionalBoolean(required=False)
    show_header = OptionalBoolean(required=False)
    show_doctor = OptionalBoolean(required=False)
    show_chief_complaint = OptionalBoolean(required=False)
    show_diagnosis = OptionalBoolean(required=False)
    show_generic_names = OptionalBoolean(required=False)
    show_dental = OptionalBoolean(required=False)
    show_advice = OptionalBoolean(required=False)
    show_follow_up = OptionalBoolean(required=False)
    show_signature = OptionalBoolean(required=False)
