"""Short keys: a named set of medicines with default directions, to pre-fill prescriptions."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from clinical.models.medicines import MedicineLine, medicine_line_constraints
from clinical.models.practice import Doctor
from tenants.scoping import TenantForeignKey, TenantOwnedModel

short_key_code_validator = RegexValidator(
    r"^[A-Z0-9_-]{2,20}$",
    "A code has 2 to 20 letters, digits, '-' or '_'.",
    code="invalid_code",
)


class ShortKey(TenantOwnedModel):
    """Personal to one doctor (`doctor` set) or shared with the whole clinic."""

    code = models.CharField(max_length=20, validators=[short_key_code_validator])
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=500, blank=True)
    doctor = TenantForeignKey(
        Doctor, on_delete=models.CASCADE, null=True, blank=True, related_name="short_keys"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    usage_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="shortkey_tenant_code_uniq"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def is_personal(self) -> bool:
        return self.doctor_id is not None


class ShortKeyItem(MedicineLine):
    """One medicine of a short key: a shared one or the clinic's own (MedicineLine)."""

    short_key = TenantForeignKey(ShortKey, on_delete=models.CASCADE, related_name="items")
    dosage = models.CharField(max_length=100)
    frequency = models.CharField(max_length=100)
    duration = models.CharField(max_length=100)
    instructions = models.CharField(max_length=500, blank=True)
    quantity = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        # Exactly one medicine, and no medicine twice in one short key.
        constraints = medicine_line_constraints("shortkeyitem", "short_key")

    def __str__(self) -> str:
        return f"{self.short_key_id}: {self.catalogue_medicine_id}"
