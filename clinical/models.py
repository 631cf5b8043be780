"""Clinical records. Every model here is clinic-owned (`TenantOwnedModel`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from tenants.models import TenantForeignKey, TenantManager, TenantOwnedModel, TenantQuerySet


class Office(TenantOwnedModel):
    """A place where the clinic sees patients; the letterhead of printed prescriptions."""

    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    phone = models.CharField(max_length=20, blank=True)
    is_primary = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="office_tenant_name_uniq"),
        ]

    def __str__(self) -> str:
        return self.name


class Doctor(TenantOwnedModel):
    """A doctor's professional profile in one clinic (the person is `user`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="doctor_profiles"
    )
    license_number = models.CharField(max_length=50)
    specialization = models.CharField(max_length=100)
    qualification = models.CharField(max_length=200, blank=True)
    experience_years = models.PositiveSmallIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    offices = models.ManyToManyField(Office, through="DoctorOffice", related_name="doctors")

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "license_number"], name="doctor_tenant_license_uniq"
            ),
            models.UniqueConstraint(fields=["tenant", "user"], name="doctor_tenant_user_uniq"),
        ]

    def __str__(self) -> str:
        return f"Dr. {self.user.get_full_name()}"


class DoctorOffice(TenantOwnedModel):
    """Where a doctor practises. An explicit through model, so the link is clinic-owned too."""

    doctor = TenantForeignKey(Doctor, on_delete=models.CASCADE, related_name="office_links")
    office = TenantForeignKey(Office, on_delete=models.CASCADE, related_name="doctor_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "doctor", "office"], name="doctoroffice_tenant_uniq"
            ),
        ]


class PatientQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(deleted_at__isnull=True)


class PatientManager(TenantManager.from_queryset(PatientQuerySet)):
    pass


class Patient(TenantOwnedModel):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    # Stored normalised: ten digits, no country code or spaces.
    mobile = models.CharField(max_length=10)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Soft delete: the record disappears from lists but its history stays intact.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = PatientManager()

    class Meta:
        ordering = ["first_name", "last_name"]
        constraints = [
            # Per clinic (design invariant 9): a duplicate in another clinic is not an error
            # and so can never reveal that clinic's patients.
            models.UniqueConstraint(
                fields=["tenant", "mobile", "first_name"], name="patient_tenant_mobile_name_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
