"""Print templates: the clinic's letterhead and layout for printed prescriptions.

One template for the clinic, and optionally one per office and one per doctor. A print
uses the prescribing doctor's template, else the office's, else the clinic's, else the
built-in layout (clinical/print_templates.py). The HTML print page and the PDF read the
same resolved template.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from clinical.languages import validate_print_language
from clinical.models.practice import Doctor, Office
from tenants.scoping import TenantForeignKey, TenantOwnedModel


def print_image_path(instance: PrintTemplate, filename: str) -> str:
    """Under the clinic's prefix, named by a random id; the client's file name is never part
    of the path."""
    extension = PrintTemplate.EXTENSIONS.get(_sniffed_type(filename), "")
    return f"{instance.tenant_id}/print/{uuid.uuid4().hex}{extension}"


def _sniffed_type(filename: str) -> str:
    # The service names the stored file "logo.<type>" after sniffing; the path reuses it.
    for content_type, extension in PrintTemplate.EXTENSIONS.items():
        if filename.endswith(extension):
            return content_type
    return ""


MARGIN = [MinValueValidator(0), MaxValueValidator(50)]


class PrintTemplate(TenantOwnedModel):
    class Paper(models.TextChoices):
        A4 = "a4", "A4"
        A5 = "a5", "A5"
        LETTER = "letter", "Letter"

    class Orientation(models.TextChoices):
        PORTRAIT = "portrait", "Portrait"
        LANDSCAPE = "landscape", "Landscape"

    EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}
    SECTIONS = (
        "header",
        "doctor",
        "chief_complaint",
        "diagnosis",
        "generic_names",
        "dental",
        "advice",
        "follow_up",
        "signature",
    )

    # Neither: the clinic's template. One of them: that office's or that doctor's.
    office = TenantForeignKey(
        Office, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    doctor = TenantForeignKey(
        Doctor, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=100)
    paper_size = models.CharField(max_length=10, choices=Paper.choices, default=Paper.A4)
    orientation = models.CharField(
        max_length=10, choices=Orientation.choices, default=Orientation.PORTRAIT
    )
    margin_top_mm = models.PositiveSmallIntegerField(default=16, validators=MARGIN)
    margin_right_mm = models.PositiveSmallIntegerField(default=14, validators=MARGIN)
    margin_bottom_mm = models.PositiveSmallIntegerField(default=18, validators=MARGIN)
    margin_left_mm = models.PositiveSmallIntegerField(default=14, validators=MARGIN)
    # The header; an empty field falls back to the office's or the clinic's own details.
    header_title = models.CharField(max_length=200, blank=True)
    header_address = models.TextField(blank=True)
    header_phone = models.CharField(max_length=50, blank=True)
    registration_number = models.CharField(
        max_length=50, blank=True, help_text="The clinic's registration or GST number."
    )
    logo = models.FileField(upload_to=print_image_path, max_length=255, blank=True)
    logo_content_type = models.CharField(max_length=20, blank=True, editable=False)
    # The doctor's block; empty fields fall back to the prescribing doctor's profile.
    doctor_name = models.CharField(max_length=200, blank=True)
    doctor_qualification = models.CharField(max_length=200, blank=True)
    doctor_registration = models.CharField(max_length=50, blank=True)
    signature = models.FileField(upload_to=print_image_path, max_length=255, blank=True)
    signature_content_type = models.CharField(max_length=20, blank=True, editable=False)
    footer_text = models.CharField(max_length=300, blank=True)
    # The language of prints under this template unless the patient chose one; the clinic's
    # template's language is the clinic's default. Empty: English.
    language = models.CharField(max_length=10, blank=True, validators=[validate_print_language])
    show_header = models.BooleanField(default=True)
    show_doctor = models.BooleanField(default=True)
    show_chief_complaint = models.BooleanField(default=True)
    show_diagnosis = models.BooleanField(default=True)
    show_generic_names = models.BooleanField(default=True)
    show_dental = models.BooleanField(default=True)
    show_advice = models.BooleanField(default=True)
    show_follow_up = models.BooleanField(default=True)
    show_signature = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        # "Not both an office and a doctor" is checked by clean() (and so by the services),
        # not by a CHECK constraint: the generated isolation suite moves a row's reference
        # to another clinic's doctor and must meet the composite foreign key, not a CHECK.
        constraints = [
            # One template per scope in a clinic (uniqueness includes the clinic).
            models.UniqueConstraint(
                fields=["tenant"],
                condition=Q(office__isnull=True, doctor__isnull=True),
                name="printtemplate_one_per_clinic",
            ),
            models.UniqueConstraint(
                fields=["tenant", "office"],
                condition=Q(office__isnull=False),
                name="printtemplate_one_per_office",
            ),
            models.UniqueConstraint(
                fields=["tenant", "doctor"],
                condition=Q(doctor__isnull=False),
                name="printtemplate_one_per_doctor",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "name", "id"], name="printtemplate_tenant_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def scope(self) -> str:
        if self.doctor_id:
            return "doctor"
        if self.office_id:
            return "office"
        return "clinic"

    def clean(self):
        super().clean()
        if self.office_id and self.doctor_id:
            raise ValidationError(
                {"doctor": "A template is for the clinic, one office or one doctor, not both."}
            )

    def sections(self) -> dict[str, bool]:
        return {name: getattr(self, f"show_{name}") for name in self.SECTIONS}
