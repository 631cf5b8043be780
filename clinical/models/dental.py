"""Dental records: observations per tooth (FDI notation), procedures and their treatment plan,
reusable observation templates (shared and the clinic's own) and attachments (x-rays, photos).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from clinical.models.appointments import Appointment
from clinical.models.patients import Patient
from clinical.models.practice import Doctor
from clinical.models.prescriptions import Prescription
from tenants.scoping import SharedCatalogModel, TenantForeignKey, TenantOwnedModel

# FDI (ISO 3950) two-digit tooth numbers: quadrant then position from the midline.
PERMANENT_TEETH = tuple(q * 10 + p for q in (1, 2, 3, 4) for p in range(1, 9))
PRIMARY_TEETH = tuple(q * 10 + p for q in (5, 6, 7, 8) for p in range(1, 6))
ALL_TEETH = PERMANENT_TEETH + PRIMARY_TEETH
MAX_TEETH_PER_PROCEDURE = len(PERMANENT_TEETH)

FDI_RULE = (
    "permanent teeth are 11-18, 21-28, 31-38 and 41-48; primary teeth are 51-55, 61-65, "
    "71-75 and 81-85"
)
FDI_MESSAGE = "{value} is not a tooth in FDI notation: " + FDI_RULE + "."


def validate_fdi_tooth(value) -> None:
    if value not in ALL_TEETH:
        raise ValidationError(FDI_MESSAGE.format(value=value), code="invalid_tooth")


def validate_fdi_teeth(values) -> None:
    bad = [v for v in values or () if v not in ALL_TEETH]
    if bad:
        raise ValidationError(FDI_MESSAGE.format(value=bad[0]), code="invalid_tooth")
    if len(set(values)) != len(values):
        raise ValidationError("A tooth is listed twice.", code="duplicate_tooth")


def tooth_kind(number: int) -> str:
    return "permanent" if number in PERMANENT_TEETH else "primary"


class ToothSurface(models.TextChoices):
    # One value per surface; the label names both words used for front and back teeth.
    MESIAL = "mesial", "Mesial"
    DISTAL = "distal", "Distal"
    OCCLUSAL = "occlusal", "Occlusal / incisal"
    BUCCAL = "buccal", "Buccal / labial"
    LINGUAL = "lingual", "Lingual / palatal"


class ConditionType(models.TextChoices):
    CARIES = "caries", "Caries"
    FRACTURE = "fracture", "Fracture"
    MISSING = "missing", "Missing"
    FILLED = "filled", "Filled"
    CROWN = "crown", "Crown"
    ROOT_CANAL_TREATED = "root_canal_treated", "Root canal treated"
    MOBILITY = "mobility", "Mobility"
    PERIODONTAL_POCKET = "periodontal_pocket", "Periodontal pocket"
    IMPACTED = "impacted", "Impacted"
    OTHER = "other", "Other"


class Severity(models.TextChoices):
    MILD = "mild", "Mild"
    MODERATE = "moderate", "Moderate"
    SEVERE = "severe", "Severe"


TOOTH_CHECK = Q(tooth_number__in=ALL_TEETH)


class DentalObservation(TenantOwnedModel):
    """What a dentist found on one tooth (and surface) at one visit.

    An observation is *open* while no prescription covers it and its treatment is not done;
    writing a prescription for the observation's appointment links the open ones to it.
    """

    patient = TenantForeignKey(
        Patient, on_delete=models.PROTECT, related_name="dental_observations"
    )
    doctor = TenantForeignKey(Doctor, on_delete=models.PROTECT, related_name="+")
    appointment = TenantForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    prescription = TenantForeignKey(
        Prescription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dental_observations",
    )
    tooth_number = models.PositiveSmallIntegerField(validators=[validate_fdi_tooth])
    tooth_surface = models.CharField(max_length=20, choices=ToothSurface.choices, blank=True)
    condition_type = models.CharField(max_length=30, choices=ConditionType.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    notes = models.TextField(blank=True)
    treatment_required = models.BooleanField(default=False)
    treatment_done = models.BooleanField(default=False)
    treatment_date = models.DateField(null=True, blank=True)
    observed_on = models.DateField(default=timezone.localdate)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-observed_on", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=TOOTH_CHECK, name="dentalobservation_fdi_tooth"),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "-observed_on", "-created_at", "-id"],
                name="dentalobs_tenant_recent",
            ),
            # The chart: a patient's latest observation per tooth.
            models.Index(
                fields=["tenant", "patient", "tooth_number", "-observed_on", "-created_at"],
                name="dentalobs_tenant_patient_tooth",
            ),
        ]

    def __str__(self) -> str:
        surface = f" {self.get_tooth_surface_display().lower()}" if self.tooth_surface else ""
        return f"Tooth {self.tooth_number}{surface}: {self.get_condition_type_display()}"

    @property
    def is_open(self) -> bool:
        return self.prescription_id is None and not self.treatment_done


procedure_code_validator = RegexValidator(
    r"^D\d{4}$",
    "Enter a CDT-style procedure code: D and four digits, such as D2391.",
    code="invalid_procedure_code",
)
MAX_COST = Decimal("10000000")


class DentalProcedure(TenantOwnedModel):
    """A treatment on one or more teeth (or the whole mouth: no teeth), planned and done."""

    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS = {
        Status.PLANNED: {Status.IN_PROGRESS, Status.CANCELLED},
        Status.IN_PROGRESS: {Status.COMPLETED, Status.CANCELLED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
    }
    OPEN = (Status.PLANNED, Status.IN_PROGRESS)

    patient = TenantForeignKey(Patient, on_delete=models.PROTECT, related_name="dental_procedures")
    doctor = TenantForeignKey(Doctor, on_delete=models.PROTECT, related_name="+")
    observation = TenantForeignKey(
        DentalObservation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="procedures",
    )
    prescription = TenantForeignKey(
        Prescription,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dental_procedures",
    )
    appointment = TenantForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    procedure_code = models.CharField(max_length=5, validators=[procedure_code_validator])
    procedure_name = models.CharField(max_length=200)
    teeth = ArrayField(
        models.PositiveSmallIntegerField(),
        default=list,
        blank=True,
        size=MAX_TEETH_PER_PROCEDURE,
        validators=[validate_fdi_teeth],
    )
    # Rupees, exact.
    estimated_cost = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_COST)],
    )
    actual_cost = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(MAX_COST)],
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    planned_date = models.DateField(null=True, blank=True)
    started_date = models.DateField(null=True, blank=True)
    completed_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(teeth__contained_by=list(ALL_TEETH)),
                name="dentalprocedure_fdi_teeth",
            ),
            models.CheckConstraint(
                condition=Q(estimated_cost__gte=0) | Q(estimated_cost__isnull=True),
                name="dentalprocedure_estimate_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(actual_cost__gte=0) | Q(actual_cost__isnull=True),
                name="dentalprocedure_cost_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "-created_at", "-id"], name="dentalproc_tenant_recent"),
            models.Index(
                fields=["tenant", "patient", "-created_at"], name="dentalproc_tenant_patient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure_code} {self.procedure_name}"

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def record_date(self):
        """The day the case summary files it under: done, else started, else planned, else
        the day it was written down."""
        return (
            self.completed_date
            or self.started_date
            or self.planned_date
            or timezone.localdate(self.created_at)
        )


class DentalTemplateFields(models.Model):
    """Reusable observation text for a condition, surface and severity (blank: any): the
    fields of a clinic's own templates and of the shared set alike."""

    name = models.CharField(max_length=200)
    condition_type = models.CharField(max_length=30, choices=ConditionType.choices, blank=True)
    tooth_surface = models.CharField(max_length=20, choices=ToothSurface.choices, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    notes = models.TextField()
    treatment_required = models.BooleanField(default=False)
    procedure_code = models.CharField(
        max_length=5, blank=True, validators=[procedure_code_validator]
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def fields_set(self) -> int:
        """How specific the template is: how many of condition, surface, severity it names."""
        return sum(bool(v) for v in (self.condition_type, self.tooth_surface, self.severity))


class DentalTemplate(TenantOwnedModel, DentalTemplateFields):
    """A clinic's own observation template, which its owners, admins and doctors manage.

    The shared starter set lives apart, in `SharedDentalTemplate`; lists and matches offer
    both (clinical.selectors.dental_templates_visible).
    """

    class Meta(DentalTemplateFields.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name"],
                name="dentaltemplate_tenant_name_uniq",
            ),
        ]
        indexes = [
            # Lists and matches read the clinic's own rows by condition; the list in name
            # order uses the unique (tenant, name) index above.
            models.Index(
                fields=["tenant", "condition_type", "name", "id"],
                name="dentaltemplate_tenant_cond",
            ),
        ]

    @property
    def is_global(self) -> bool:
        return False


class SharedDentalTemplate(SharedCatalogModel, DentalTemplateFields):
    """The shared starter set (`manage.py load_dental_templates`): a reference table, read by
    every clinic and written by none (row-level security kind "reference"); the platform
    loads it through platform_access."""

    class Meta(DentalTemplateFields.Meta):
        constraints = [
            models.UniqueConstraint(fields=["name"], name="shareddentaltemplate_name_uniq"),
        ]
        indexes = [
            models.Index(fields=["condition_type", "name", "id"], name="shareddentaltemplate_cond"),
        ]


def attachment_path(instance: DentalAttachment, filename: str) -> str:
    """Where a file is stored: under its clinic's prefix, named by a random id. The client's
    file name is never part of the path (it is kept as `original_name`)."""
    extension = DentalAttachment.EXTENSIONS.get(instance.content_type, "")
    return f"{instance.tenant_id}/dental/{uuid.uuid4().hex}{extension}"


class DentalAttachment(TenantOwnedModel):
    """An x-ray, photo or document of an observation or a procedure.

    Files live in Django's storage under the clinic's prefix and are served only through
    the API's authorised download view; deleting the record deletes the file (on commit).
    """

    class FileType(models.TextChoices):
        XRAY = "xray", "X-ray"
        BEFORE = "before", "Photo before treatment"
        AFTER = "after", "Photo after treatment"
        INTRAORAL = "intraoral", "Intra-oral photo"
        OTHER = "other", "Other"

    EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}

    patient = TenantForeignKey(Patient, on_delete=models.PROTECT, related_name="+")
    observation = TenantForeignKey(
        DentalObservation,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    procedure = TenantForeignKey(
        DentalProcedure,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
    )
    file = models.FileField(upload_to=attachment_path, max_length=255)
    file_type = models.CharField(max_length=20, choices=FileType.choices)
    content_type = models.CharField(max_length=50, editable=False)
    size = models.PositiveIntegerField(editable=False)
    original_name = models.CharField(max_length=255, blank=True)
    description = models.CharField(max_length=500, blank=True)
    # An attachment imported from the earlier system whose file was not copied (no copy of
    # its object store was given): the record stays, its download answers 404.
    file_missing = models.BooleanField(default=False, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The API attaches a file to exactly one of them; the database asks for at
            # least one, so a file never floats free of a record.
            models.CheckConstraint(
                condition=Q(observation__isnull=False) | Q(procedure__isnull=False),
                name="dentalattachment_has_parent",
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "-created_at", "-id"], name="dentalattach_tenant_recent"
            ),
            models.Index(
                fields=["tenant", "patient", "-created_at"], name="dentalattach_tenant_patient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_file_type_display()} {self.original_name or self.pk}"
