"""Write operations on the medicine catalogue.

A clinic writes only its own entries; the shared catalogue (tenant empty) is written only by
`medicine_catalogue_load`, inside platform_access (the audited BYPASSRLS role): row-level
security refuses shared rows to every clinic's connection whatever the code does.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinic_saas.errors import ApplicationError, PermissionDeniedError
from clinical.models import Medicine
from clinical.services.common import clean_text, constraint_of, full_clean
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.platform import platform_access

MEDICINE_FIELDS = (
    "name",
    "generic_name",
    "composition",
    "manufacturer",
    "dosage_form",
    "strength",
    "category",
    "price",
    "prescription_only",
    "atc_code",
    "notes",
    "is_active",
)
STARTER_CATALOGUE = Path(__file__).resolve().parent.parent / "data" / "medicines.csv"


def _duplicate(exc: IntegrityError) -> ApplicationError | None:
    if constraint_of(exc) == "medicine_tenant_name_form_strength_uniq":
        return ApplicationError(
            "This clinic already has this medicine in this form and strength.",
            code="duplicate_medicine",
            field_errors={"name": ["Already in this clinic's catalogue."]},
        )
    return None


def _save(medicine: Medicine, *, insert: bool) -> None:
    try:
        with transaction.atomic():
            medicine.save(force_insert=insert)
    except IntegrityError as exc:
        error = _duplicate(exc)
        if error is None:
            raise
        raise error from exc


def _apply(medicine: Medicine, fields: dict) -> None:
    for name, value in fields.items():
        if name not in MEDICINE_FIELDS:
            raise ApplicationError(f"{name} cannot be changed.")
        if isinstance(value, str):
            value = clean_text(value)
        if name == "atc_code":
            value = value.upper()
        setattr(medicine, name, value)
    full_clean(medicine, validate_unique=False, validate_constraints=False)


@transaction.atomic
def medicine_create(*, tenant, actor, **fields) -> Medicine:
    """Add a medicine to the clinic's own catalogue."""
    with tenant_context(tenant):
        medicine = Medicine()
        _apply(medicine, fields)
        _save(medicine, insert=True)
        audit_record(action="medicine.created", actor=actor, object=medicine)
    return medicine


@transaction.atomic
def medicine_update(*, tenant, actor, medicine: Medicine, **changes) -> Medicine:
    with tenant_context(tenant):
        if medicine.is_global:
            raise PermissionDeniedError(
                "The shared catalogue is read-only; add the medicine to your clinic's own "
                "catalogue instead.",
                code="catalogue_read_only",
            )
        medicine = Medicine.objects.select_for_update().get(pk=medicine.pk)
        _apply(medicine, changes)
        _save(medicine, insert=False)
        audit_record(
            action="medicine.updated",
            actor=actor,
            object=medicine,
            details={"fields": sorted(changes)},
        )
    return medicine


# --- the shared catalogue ---------------------------------------------------------------------


class CatalogueError(Exception):
    """A catalogue file that cannot be loaded; `errors` lists (line, message)."""

    def __init__(self, errors: list[tuple[int, str]]):
        super().__init__(f"{len(errors)} invalid row(s)")
        self.errors = errors


@dataclass
class LoadResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    total: int = 0
    errors: list = field(default_factory=list)


CSV_COLUMNS = (
    "name",
    "generic_name",
    "composition",
    "manufacturer",
    "dosage_form",
    "strength",
    "category",
    "price",
    "prescription_only",
    "atc_code",
    "notes",
)
REQUIRED_COLUMNS = ("name", "dosage_form")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n", ""}


def _row_values(row: dict) -> dict:
    values = {name: clean_text(row.get(name)) for name in CSV_COLUMNS}
    values["dosage_form"] = values["dosage_form"].lower().replace(" ", "_")
    values["atc_code"] = values["atc_code"].upper()
    price = values.pop("price")
    try:
        values["price"] = Decimal(price) if price else None
    except InvalidOperation:
        raise ValidationError({"price": [f"{price!r} is not a number."]}) from None
    if values["price"] is not None and not values["price"].is_finite():
        raise ValidationError({"price": ["Not a finite amount."]})
    flag = values.pop("prescription_only").lower()
    if flag not in _TRUE | _FALSE:
        raise ValidationError({"prescription_only": [f"{flag!r} is not yes or no."]})
    values["prescription_only"] = flag in _TRUE if flag else True
    return values


def read_catalogue(lines: Iterable[str]) -> list[tuple[int, dict]]:
    """Parse and validate a catalogue CSV; raise CatalogueError listing every bad row."""
    reader = csv.DictReader(lines)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CatalogueError([(1, f"missing column(s): {', '.join(missing)}")])
    rows, errors, seen = [], [], {}
    for row in reader:
        line = reader.line_num
        try:
            values = _row_values(row)
            medicine = Medicine(**values)
            # Field validation only: the row has no clinic (it is shared) and is not saved.
            medicine.clean_fields(exclude=["tenant"])
        except ValidationError as exc:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            errors.append((line, messages))
            continue
        key = (values["name"].lower(), values["dosage_form"], values["strength"].lower())
        if key in seen:
            errors.append((line, f"duplicate of line {seen[key]}"))
            continue
        seen[key] = line
        rows.append((line, values))
    if errors:
        raise CatalogueError(errors)
    return rows


def medicine_catalogue_load(
    *,
    rows: list[tuple[int, dict]],
    reason: str,
    actor=None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 500,
) -> LoadResult:
    """Create or update shared catalogue entries, matched on (name, form, strength).

    Idempotent: loading the same rows again changes nothing. All or nothing: one
    transaction on the platform connection.
    """
    result = LoadResult(total=len(rows))
    now = timezone.now()
    with platform_access(reason=reason, actor=actor, action="medicine.catalogue_loaded"):
        existing = {
            (m.name.lower(), m.dosage_form, m.strength.lower()): m
            for m in Medicine.objects.filter(tenant__isnull=True)
        }
        to_create, to_update = [], []
        for done, (_line, values) in enumerate(rows, start=1):
            key = (values["name"].lower(), values["dosage_form"], values["strength"].lower())
            medicine = existing.get(key)
            if medicine is None:
                to_create.append(Medicine(tenant=None, **values))
            elif any(getattr(medicine, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(medicine, k, v)
                medicine.updated_at = now
                to_update.append(medicine)
            else:
                result.unchanged += 1
            if progress and (done % batch_size == 0 or done == len(rows)):
                progress(done, len(rows))
        Medicine.objects.bulk_create(to_create, batch_size=batch_size)
        Medicine.objects.bulk_update(to_update, [*CSV_COLUMNS, "updated_at"], batch_size=batch_size)
        result.created, result.updated = len(to_create), len(to_update)
    return result
