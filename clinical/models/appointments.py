"""Appointments: a patient's booked time with a doctor."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from clinical.models.patients import Patient
from clinical.models.practice import Doctor, Office
from tenants.scoping import TenantForeignKey, TenantOwnedModel


class Appointment(TenantOwnedModel):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CONFIRMED = "confirmed", "Confirmed"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"
        RESCHEDULED = "rescheduled", "Rescheduled"

    class Type(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        WALK_IN = "walk_in", "Walk-in"

    # The status machine: from each status, the statuses it may move to. `rescheduled` is
    # reached only through rescheduling, which books the new time as a new appointment.
    TRANSITIONS = {
        Status.SCHEDULED: {
            Status.CONFIRMED,
            Status.IN_PROGRESS,
            Status.CANCELLED,
            Status.NO_SHOW,
            Status.RESCHEDULED,
        },
        Status.CONFIRMED: {
            Status.IN_PROGRESS,
            Status.CANCELLED,
            Status.NO_SHOW,
            Status.RESCHEDULED,
        },
        Status.IN_PROGRESS: {Status.COMPLETED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
        Status.NO_SHOW: set(),
        Status.RESCHEDULED: set(),
    }
    # Appointments in these statuses hold their time: no other booking may overlap them.
    BLOCKING = (Status.SCHEDULED, Status.CONFIRMED, Status.IN_PROGRESS, Status.COMPLETED)
    # Details (reason, notes, office) can change only before the visit has started.
    EDITABLE = (Status.SCHEDULED, Status.CONFIRMED)

    appointment_number = models.CharField(max_length=30, editable=False)
    # The number the earlier system gave it (APT202601060001), kept searchable after an
    # import (clinics.legacy); empty for appointments made here.
    legacy_number = models.CharField(max_length=30, blank=True, default="", editable=False)
    patient = TenantForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    doctor = TenantForeignKey(Doctor, on_delete=models.PROTECT, related_name="appointments")
    office = TenantForeignKey(
        Office, on_delete=models.PROTECT, null=True, blank=True, related_name="appointments"
    )
    appointment_date = models.DateField()
    start_time = models.TimeField()
    # Derived from start_time + duration_minutes; stored so overlap checks are one query.
    end_time = models.TimeField()
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    appointment_type = models.CharField(max_length=20, choices=Type.choices, default=Type.SCHEDULED)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SCHEDULED)
    reason = models.CharField(max_length=500, blank=True)
    notes = models.TextField(blank=True)
    cancellation_reason = models.CharField(max_length=500, blank=True)
    rescheduled_from = TenantForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rescheduled_to"
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["appointment_date", "start_time", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "appointment_number"], name="appointment_tenant_number_uniq"
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="appointment_ends_after_start"
            ),
        ]
        indexes = [
            models.Index(
                fields=["tenant", "appointment_date", "start_time", "id"],
                name="appointment_tenant_day",
            ),
            models.Index(
                fields=["tenant", "doctor", "appointment_date", "start_time"],
                name="appointment_tenant_doctor_day",
            ),
            models.Index(
                fields=["tenant", "legacy_number"],
                condition=~Q(legacy_number=""),
                name="appointment_tenant_legacy_no",
            ),
        ]

    def __str__(self) -> str:
        return self.appointment_number

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())
