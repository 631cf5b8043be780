"""The medicine catalogue: shared entries (tenant empty) plus each clinic's own."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from tenants.scoping import CatalogModel

# WHO ATC codes, at any level from the anatomical group (N) to the substance (N02BE01).
atc_code_validator = RegexValidator(
    r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$",
    "Enter a WHO ATC code such as N02BE01.",
    code="invalid_atc_code",
)


class Medicine(CatalogModel):
    """A medicine in one form and strength (Paracetamol tablet 500 mg).

    Rows with no clinic form the global catalogue (`manage.py load_medicines`): every clinic
    reads them and none can change them. A clinic adds its own rows, visible only to it.
    """

    class DosageForm(models.TextChoices):
        TABLET = "tablet", "Tablet"
        CAPSULE = "capsule", "Capsule"
        SYRUP = "syrup", "Syrup"
        SUSPENSION = "suspension", "Suspension"
        SOLUTION = "solution", "Oral solution"
        DROPS = "drops", "Drops"
        INJECTION = "injection", "Injection"
        CREAM = "cream", "Cream"
        OINTMENT = "ointment", "Ointment"
        GEL = "gel", "Gel"
        LOTION = "lotion", "Lotion"
        INHALER = "inhaler", "Inhaler"
        NASAL_SPRAY = "nasal_spray", "Nasal spray"
        POWDER = "powder", "Powder"
        MOUTHWASH = "mouthwash", "Mouthwash"
        LOZENGE = "lozenge", "Lozenge"
        SUPPOSITORY = "suppository", "Suppository"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    generic_name = models.CharField(max_length=200, blank=True)
    composition = models.CharField(max_length=500, blank=True)
    manufacturer = models.CharField(max_length=200, blank=True)
    dosage_form = models.CharField(max_length=20, choices=DosageForm.choices)
    strength = models.CharField(max_length=100, blank=True)
    category = models.CharField(max_length=100, blank=True)
    # Rupees, exact; empty when unknown (the shared catalogue carries no prices).
    price = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("10000000"))],
    )
    prescription_only = models.BooleanField(default=True)
    atc_code = models.CharField(max_length=7, blank=True, validators=[atc_code_validator])
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "strength", "id"]
        constraints = [
            # NULLS NOT DISTINCT: the global catalogue (tenant NULL) has no duplicates either,
            # which is what makes load_medicines idempotent.
            models.UniqueConstraint(
                fields=["tenant", "name", "dosage_form", "strength"],
                nulls_distinct=False,
                name="medicine_tenant_name_form_strength_uniq",
            ),
        ]
        indexes = [
            # Lists read "shared or mine" in name order: two ranges of this index (the shared
            # catalogue, tenant NULL, and the clinic's own), never the other clinics' rows.
            # An index on the name alone would walk every clinic's medicines and filter.
            models.Index(fields=["tenant", "name", "strength", "id"], name="medicine_tenant_name"),
        ]

    def __str__(self) -> str:
        return " ".join(p for p in (self.name, self.strength) if p)

    @property
    def display_name(self) -> str:
        return f"{self} ({self.get_dosage_form_display()})"
