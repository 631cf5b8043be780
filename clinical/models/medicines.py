"""The medicine catalogue: the shared catalogue, each clinic's own medicines, and the view of
both that a clinic reads.

* `SharedMedicine` (`clinical_sharedmedicine`): the platform's catalogue (`manage.py
  load_medicines`), a reference table with no clinic column. Every clinic reads it and none
  writes it (row-level security kind "reference").
* `Medicine` (`clinical_medicine`): a clinic's own medicines, clinic-owned like any record.
* `CatalogueMedicine` (the view `clinical_medicinecatalogue`): what a clinic sees, the
  shared catalogue and its own medicines in one list. The API's list, the admin's list and
  autocomplete, and the validation of prescription and short-key lines all read it.

A prescription or short-key line names either a shared medicine or one of the clinic's own
(clinical.models.prescriptions.MedicineLine), and the database checks either reference.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tenants.context import DbContext
from tenants.scoping import (
    ScopedManager,
    SharedCatalogModel,
    TenantForeignKey,
    TenantOwnedModel,
)

# WHO ATC codes, at any level from the anatomical group (N) to the substance (N02BE01).
atc_code_validator = RegexValidator(
    r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$",
    "Enter a WHO ATC code such as N02BE01.",
    code="invalid_atc_code",
)


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


class MedicineFields(models.Model):
    """A medicine in one form and strength (Paracetamol tablet 500 mg): the fields the shared
    catalogue, a clinic's own medicines and the catalogue view have in common."""

    DosageForm = DosageForm

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
        abstract = True
        ordering = ["name", "strength", "id"]

    def __str__(self) -> str:
        return " ".join(p for p in (self.name, self.strength) if p)

    @property
    def display_name(self) -> str:
        return f"{self} ({self.get_dosage_form_display()})"


class SharedMedicine(SharedCatalogModel, MedicineFields):
    """The shared catalogue (`manage.py load_medicines`): every clinic reads it, none changes
    it. Kept apart from the clinics' own medicines so that a distributed cluster copies it
    whole to every node (a reference table) while the clinics' rows are sharded by clinic."""

    class Meta(MedicineFields.Meta):
        constraints = [
            # One entry per name, form and strength: what makes load_medicines idempotent.
            models.UniqueConstraint(
                fields=["name", "dosage_form", "strength"],
                name="sharedmedicine_name_form_strength_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["name", "strength", "id"], name="sharedmedicine_name"),
        ]


class Medicine(TenantOwnedModel, MedicineFields):
    """A clinic's own medicine, visible to that clinic only."""

    class Meta(MedicineFields.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "name", "dosage_form", "strength"],
                name="medicine_tenant_name_form_strength_uniq",
            ),
        ]
        indexes = [
            # The clinic's own medicines in name order: one range of this index.
            models.Index(fields=["tenant", "name", "strength", "id"], name="medicine_tenant_name"),
        ]

    @property
    def is_global(self) -> bool:
        return False


class CatalogueManager(ScopedManager):
    """The catalogue a clinic sees: the shared entries and the clinic's own."""

    def scope_filter(self, ctx: DbContext) -> Q | None:
        if ctx.tenant_id is None:
            return None
        # `is_global` is a constant in each half of the view's UNION ALL, so PostgreSQL
        # folds this filter to `tenant_id = X` on the clinic's medicines (an index range,
        # and the literal that routes the query to one shard) and to nothing on the shared
        # catalogue. `tenant_id IS NULL` instead would stay an OR on the clinic's table
        # before PostgreSQL 17 and lose the index order.
        return Q(tenant_id=ctx.tenant_id) | Q(is_global=True)

    def none(self):
        # An empty queryset reads nothing, so it needs no clinic (schema generation, forms).
        return super().get_queryset().none()


class CatalogueMedicine(MedicineFields):
    """A row of the catalogue a clinic sees: a shared medicine (`is_global`, no clinic) or one
    of the clinic's own. Read-only: the view `clinical_medicinecatalogue` (security_invoker,
    so row-level security of both tables applies to the reader), a UNION ALL of the two
    tables (clinical migration 0011).

    Why a view rather than two queries: filters, ordering, counts and pages apply to one
    queryset (django-filter, DRF's pagination, the admin's changelist and autocomplete), and
    PostgreSQL pushes each filter into both halves, where the indexes (name, strength, id)
    and (tenant_id, name, strength, id) return a page in order through a Merge Append: no
    sort, two index ranges, one query and one count whatever the page. A union of two ORM
    querysets could not be filtered, counted by django-filter or listed by the admin once
    combined, so each reader would filter both halves itself.
    """

    id = models.UUIDField(primary_key=True, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    is_global = models.BooleanField(editable=False)

    objects = CatalogueManager()

    class Meta(MedicineFields.Meta):
        managed = False
        db_table = "clinical_medicinecatalogue"
        verbose_name = "medicine"


class MedicineLine(TenantOwnedModel):
    """A line that names one medicine: a prescription's item or a short key's. It names either
    one of the clinic's own medicines (`medicine`: the composite foreign key (tenant_id,
    medicine_id) → clinical_medicine(tenant_id, id), so never another clinic's) or a shared
    one (`shared_medicine`: an ordinary foreign key to the reference table), exactly one of
    the two (`medicine_line_constraints`). Clients see one `medicine` id either way
    (`catalogue_medicine`); the services resolve it into the right column."""

    medicine = TenantForeignKey(
        Medicine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shared_medicine = models.ForeignKey(
        SharedMedicine, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def catalogue_medicine(self) -> MedicineFields | None:
        """The medicine this line names, shared or the clinic's own."""
        if self.medicine_id is not None:
            return self.medicine
        return self.shared_medicine if self.shared_medicine_id is not None else None

    @property
    def catalogue_medicine_id(self):
        return self.medicine_id or self.shared_medicine_id

    def set_medicine(self, entry: MedicineFields) -> None:
        """Name `entry` (a CatalogueMedicine, SharedMedicine or Medicine) in the right column."""
        if entry.is_global:
            self.medicine, self.shared_medicine_id = None, entry.pk
        else:
            self.medicine_id, self.shared_medicine = entry.pk, None


def medicine_line_constraints(model: str, parent: str) -> list[models.BaseConstraint]:
    """A medicine line's constraints: exactly one medicine, and each medicine once per parent."""
    return [
        models.CheckConstraint(
            condition=Q(medicine__isnull=False, shared_medicine__isnull=True)
            | Q(medicine__isnull=True, shared_medicine__isnull=False),
            name=f"{model}_one_medicine",
        ),
        models.UniqueConstraint(
            fields=["tenant", parent, "medicine"], name=f"{model}_tenant_medicine_uniq"
        ),
        models.UniqueConstraint(
            fields=["tenant", parent, "shared_medicine"],
            name=f"{model}_tenant_shared_medicine_uniq",
        ),
    ]
