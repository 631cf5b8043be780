"""Patients, and families that share one mobile number."""

from __future__ import annotations

from datetime import date

from django.db import models
from django.db.models import Q
from django.utils import timezone

from clinical.languages import validate_print_language
from tenants.scoping import TenantManager, TenantOwnedModel, TenantQuerySet

# A family shares one mobile number; at most this many active patients per number.
MAX_FAMILY_SIZE = 10


class PatientQuerySet(TenantQuerySet):
    def active(self):
        return self.filter(deleted_at__isnull=True)


class PatientManager(TenantManager.from_queryset(PatientQuerySet)):
    pass


class Patient(TenantOwnedModel):
    class Gender(models.TextChoices):
        MALE = "male", "Male"
        FEMALE = "female", "Female"
        OTHER = "other", "Other"

    class Relationship(models.TextChoices):
        SELF = "self", "Self"
        SPOUSE = "spouse", "Spouse"
        CHILD = "child", "Child"
        PARENT = "parent", "Parent"
        SIBLING = "sibling", "Sibling"
        GRANDPARENT = "grandparent", "Grandparent"
        GRANDCHILD = "grandchild", "Grandchild"
        OTHER = "other", "Other"

    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100, blank=True)
    # Stored normalised: ten digits, no country code or spaces. Shared by a family.
    mobile = models.CharField(max_length=10)
    date_of_birth = models.DateField(null=True, blank=True)
    gender = models.CharField(max_length=10, choices=Gender.choices, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    emergency_contact = models.CharField(max_length=200, blank=True)
    # Relationship to the family's primary member (the one whose relationship is `self`).
    # The services make the first patient of a number `self`; a row written any other way
    # (a legacy import, say) claims no place in its family, so it cannot collide with the
    # one `self` a family may have.
    relationship_to_primary = models.CharField(
        max_length=20, choices=Relationship.choices, default=Relationship.OTHER
    )
    # The language of this patient's prints; empty: the clinic's (its print template's).
    print_language = models.CharField(
        max_length=10, blank=True, validators=[validate_print_language]
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Soft delete: the record disappears from lists but its history stays intact.
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = PatientManager()

    class Meta:
        ordering = ["first_name", "last_name", "id"]
        constraints = [
            # Per clinic (design invariant 9): a duplicate in another clinic is not an error
            # and so can never reveal that clinic's patients. A deleted record does not block
            # registering the person again.
            models.UniqueConstraint(
                fields=["tenant", "mobile", "first_name"],
                condition=Q(deleted_at__isnull=True),
                name="patient_tenant_mobile_name_uniq",
            ),
            # One primary member per family.
            models.UniqueConstraint(
                fields=["tenant", "mobile"],
                condition=Q(deleted_at__isnull=True, relationship_to_primary="self"),
                name="patient_tenant_family_self_uniq",
            ),
        ]
        indexes = [
            # The patient list's order, so a page never sorts the whole clinic.
            models.Index(
                fields=["tenant", "first_name", "last_name", "id"], name="patient_tenant_name"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def age(self) -> int | None:
        return self.age_on(timezone.localdate())
