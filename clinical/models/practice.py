"""Offices, doctors, where they practise and when they see patients."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from tenants.scoping import TenantForeignKey, TenantOwnedModel


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
    """A doctor's professional profile in one clinic (the person is `user`).

    A doctor who is invited but has not accepted yet has no `user`: the profile hangs on the
    `invitation`, and the clinic sees only what it typed there (issue 12, item 1). The seat
    is taken from the invitation on, so the doctor limit counts pending invitations too.

    Doctors are deactivated, never deleted: their appointments and prescriptions stay.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="doctor_profiles",
    )
    invitation = TenantForeignKey(
        "accounts.Invitation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="doctor_profiles",
    )
    license_number = models.CharField(max_length=50)
    specialization = models.CharField(max_length=100)
    qualification = models.CharField(max_length=200, blank=True)
    experience_years = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(70)]
    )
    # Rupees, exact: money is never a float.
    consultation_fee = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000000"))],
    )
    # Minutes per consultation: the length of a booking slot.
    consultation_duration = models.PositiveSmallIntegerField(
        default=15, validators=[MinValueValidator(5), MaxValueValidator(240)]
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    offices = models.ManyToManyField(Office, through="DoctorOffice", related_name="doctors")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "license_number"], name="doctor_tenant_license_uniq"
            ),
            models.UniqueConstraint(fields=["tenant", "user"], name="doctor_tenant_user_uniq"),
        ]

    def __str__(self) -> str:
        return f"Dr. {self.full_name}"

    # Who the doctor is, as the clinic may see it: the person's own details once they have
    # accepted, and until then only what the clinic typed in the invitation.
    def _typed(self, name: str) -> str:
        invitation = self.invitation if self.invitation_id else None
        return getattr(invitation, name, "") if invitation is not None else ""

    @property
    def first_name(self) -> str:
        return self.user.first_name if self.user_id else self._typed("first_name")

    @property
    def last_name(self) -> str:
        return self.user.last_name if self.user_id else self._typed("last_name")

    @property
    def email(self) -> str:
        return self.user.email if self.user_id else self._typed("email")

    @property
    def phone(self) -> str:
        return self.user.phone if self.user_id else self._typed("phone")

    @property
    def full_name(self) -> str:
        if self.user_id:
            return self.user.get_full_name()
        return f"{self.first_name} {self.last_name}".strip() or self.email

    @property
    def invitation_status(self) -> str:
        """`active` once the person has joined, else the invitation's status."""
        if self.user_id:
            return "active"
        invitation = self.invitation if self.invitation_id else None
        return invitation.status if invitation is not None else "revoked"


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


class DoctorAvailability(TenantOwnedModel):
    """One weekly time window in which a doctor sees patients (Monday is weekday 0).

    Booking slots are cut from these windows in steps of the doctor's consultation duration.
    """

    WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

    doctor = TenantForeignKey(Doctor, on_delete=models.CASCADE, related_name="availability")
    weekday = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)])
    start_time = models.TimeField()
    end_time = models.TimeField()
    office = TenantForeignKey(
        Office, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "doctor", "weekday", "start_time"],
                name="availability_tenant_slot_uniq",
            ),
            models.CheckConstraint(
                condition=Q(end_time__gt=F("start_time")), name="availability_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="availability_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.WEEKDAYS[self.weekday]} {self.start_time:%H:%M}-{self.end_time:%H:%M}"
