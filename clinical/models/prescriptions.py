"""Prescriptions, their items and the record of every print."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from clinical.models.appointments import Appointment
from clinical.models.medicines import MedicineLine, medicine_line_constraints
from clinical.models.patients import Patient
from clinical.models.practice import Doctor
from tenants.scoping import TenantForeignKey, TenantOwnedModel

MIN_ITEMS = 1
MAX_ITEMS = 20


class Prescription(TenantOwnedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        DISPENSED = "dispensed", "Dispensed"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"

    TRANSITIONS = {
        Status.DRAFT: {Status.ACTIVE, Status.CANCELLED},
        Status.ACTIVE: {Status.DISPENSED, Status.COMPLETED, Status.CANCELLED, Status.EXPIRED},
        Status.DISPENSED: {Status.COMPLETED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
        Status.EXPIRED: set(),
    }
    EDITABLE = (Status.DRAFT, Status.ACTIVE)

    prescription_number = models.CharField(max_length=30, editable=False)
    # The earlier system's number (RX202601060001), kept searchable after an import.
    legacy_number = models.CharField(max_length=30, blank=True, default="", editable=False)
    patient = TenantForeignKey(Patient, on_delete=models.PROTECT, related_name="prescriptions")
    doctor = TenantForeignKey(Doctor, on_delete=models.PROTECT, related_name="prescriptions")
    appointment = TenantForeignKey(
        Appointment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="prescriptions",
    )
    visit_date = models.DateField()
    chief_complaint = models.CharField(max_length=500, blank=True)
    diagnosis = models.CharField(max_length=1000)
    symptoms = models.TextField(blank=True)
    clinical_notes = models.TextField(blank=True)
    instructions = models.TextField(blank=True)
    follow_up_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "prescription_number"], name="prescription_tenant_number_uniq"
            ),
            # At most one prescription per appointment.
            models.UniqueConstraint(
                fields=["tenant", "appointment"], name="prescription_tenant_appointment_uniq"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "-created_at", "-id"], name="prescription_tenant_recent"
            ),
            models.Index(
                fields=["tenant", "legacy_number"],
                condition=~Q(legacy_number=""),
                name="prescription_tenant_legacy_no",
            ),
        ]

    def __str__(self) -> str:
        return self.prescription_number

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())


class PrescriptionItem(MedicineLine):
    """One medicine of a prescription: a shared one or the clinic's own (MedicineLine)."""

    prescription = TenantForeignKey(Prescription, on_delete=models.CASCADE, related_name="items")
    dosage = models.CharField(max_length=100)
    frequency = models.CharField(max_length=100)
    duration = models.CharField(max_length=100)
    instructions = models.CharField(max_length=500, blank=True)
    quantity = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )
    generic_substitution_allowed = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)
    # Rupees, exact: what the earlier system recorded for the item (imported history; this
    # system does not price prescriptions itself). Empty for items written here.
    unit_price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    total_amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        ordering = ["order", "id"]
        # Exactly one medicine, and no medicine twice on one prescription.
        constraints = medicine_line_constraints("prescriptionitem", "prescription")

    def __str__(self) -> str:
        return f"{self.prescription_id}: {self.catalogue_medicine_id}"


class PrescriptionPrint(TenantOwnedModel):
    """Every print of a prescription: who, when, in which format."""

    class Format(models.TextChoices):
        HTML = "html", "HTML"
        PDF = "pdf", "PDF"

    prescription = TenantForeignKey(Prescription, on_delete=models.CASCADE, related_name="prints")
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    printed_at = models.DateTimeField(default=timezone.now)
    format = models.CharField(max_length=10, choices=Format.choices)

    class Meta:
        ordering = ["-printed_at"]

    def __str__(self) -> str:
        return f"{self.prescription_id} printed {self.printed_at:%Y-%m-%d %H:%M}"
