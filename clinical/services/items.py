"""Medicine lines shared by prescriptions and short keys: 1-20 lines, each medicine once,
every medicine visible to the clinic (shared catalogue or its own) and still active.

A client names a line's medicine by one id, shared or the clinic's own; the line stores it
in `shared_medicine` or `medicine` (clinical.models.medicines.MedicineLine). The id is
looked up in the catalogue the clinic sees, so another clinic's medicine is not found."""

from __future__ import annotations

import uuid

from clinical.models import CatalogueMedicine
from clinical.models.prescriptions import MAX_ITEMS, MIN_ITEMS
from clinical.services.common import clean_text, field_error, full_clean

ITEM_TEXT_FIELDS = ("dosage", "frequency", "duration", "instructions")


def _uuid(value, key: str) -> uuid.UUID:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        raise field_error(f"{key}.medicine_id", "Not a valid medicine id.") from None


def build_items(model, items, *, extra_fields=(), parent_field: str) -> list:
    """Unsaved `model` rows (PrescriptionItem or ShortKeyItem) for `items`, in order."""
    items = list(items or [])
    if not MIN_ITEMS <= len(items) <= MAX_ITEMS:
        raise field_error(
            "items",
            f"Give {MIN_ITEMS} to {MAX_ITEMS} medicines (got {len(items)}).",
            code="invalid_items",
        )
    ids = [_uuid(item.get("medicine_id"), f"items[{i}]") for i, item in enumerate(items)]
    # The catalogue view's manager shows the shared entries and this clinic's own, nothing
    # else (and row-level security of both tables backs it): one query for every line.
    medicines = {m.pk: m for m in CatalogueMedicine.objects.filter(pk__in=ids)}
    rows, seen = [], {}
    for index, (item, medicine_id) in enumerate(zip(items, ids, strict=True)):
        key = f"items[{index}]"
        medicine = medicines.get(medicine_id)
        if medicine is None:
            raise field_error(
                f"{key}.medicine_id",
                "No such medicine in this clinic's catalogue.",
                detail="Unknown medicine.",
            )
        if not medicine.is_active:
            raise field_error(f"{key}.medicine_id", "This medicine is no longer in use.")
        if medicine_id in seen:
            raise field_error(
                f"{key}.medicine_id",
                f"{medicine} is already item {seen[medicine_id] + 1}; list a medicine once.",
                code="duplicate_medicine",
            )
        seen[medicine_id] = index
        values = {name: clean_text(item.get(name)) for name in ITEM_TEXT_FIELDS}
        values["quantity"] = item.get("quantity")
        for name in extra_fields:
            if name in item:
                values[name] = item[name]
        row = model(order=index + 1, **values)
        row.set_medicine(medicine)
        full_clean(
            row,
            prefix=f"{key}.",
            exclude=[parent_field, "medicine", "shared_medicine"],
            validate_unique=False,
            validate_constraints=False,
        )
        rows.append(row)
    return rows
