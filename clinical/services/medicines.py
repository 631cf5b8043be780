"""Write operations on the medicine catalogue.

A clinic writes only its own medicines (`Medicine`); the shared catalogue (`SharedMedicine`,
a reference table) is written only by `medicine_catalogue_load`, inside platform_access (the
audited BYPASSRLS role): row-level security refuses every write to it from a clinic's
connection whatever the code does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinical.models import Medicine, SharedMedicine
from clinical.services.catalogues import (
    LoadResult,
    Rows,
    catalogue_load,
    catalogue_read,
)
from clinical.services.common import clean_text, constraint_of, full_clean
from core.errors import ApplicationError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context

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
def medicine_update(*, tenant, actor, medicine, **changes) -> Medicine:
    """Change one of the clinic's own medicines; `medicine` may be any catalogue entry (a
    CatalogueMedicine from the list), and a shared one is refused."""
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


def _key(values: dict) -> tuple:
    return (values["name"].lower(), values["dosage_form"], values["strength"].lower())


def read_catalogue(lines: Iterable[str]) -> Rows:
    """Parse and validate a catalogue CSV; raise CatalogueError listing every bad row."""
    return catalogue_read(
        lines, model=SharedMedicine, required=REQUIRED_COLUMNS, values_of=_row_values, key_of=_key
    )


def medicine_catalogue_load(
    *,
    rows: Rows,
    reason: str,
    actor=None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 500,
) -> LoadResult:
    """Create or update shared catalogue entries, matched on (name, form, strength).

    Idempotent: loading the same rows again changes nothing. All or nothing: one
    transaction on the platform connection.
    """
    return catalogue_load(
        model=SharedMedicine,
        rows=rows,
        key_of=_key,
        columns=CSV_COLUMNS,
        reason=reason,
        action="medicine.catalogue_loaded",
        actor=actor,
        progress=progress,
        batch_size=batch_size,
    )
