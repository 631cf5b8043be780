"""Helpers shared by the importers of the clinical records: rows as dicts of values, checked
the way full_clean() checks a model's own fields, written in batches (importer.Writer)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import FileField

from clinics.legacy.people import message


def new_row(model, **values) -> dict:
    """A row of `model` as column values by attribute name (`patient_id`, `notes`, …): the
    hot tables are written without building a model instance per row (see Writer)."""
    return values


def clean(model, values: dict) -> None:
    """What `full_clean()` checks of a row's own values, field by field (empty values,
    lengths, choices, validators such as FDI teeth and CDT codes), without a model instance.
    The values are already Python values of the right type (they come typed from the
    source's columns or from clinics.legacy.convert). References are checked by the
    database: its same-clinic foreign keys, under row-level security."""
    errors = {}
    for f, choices, validators in _checked_fields(model):
        if f.attname not in values:
            continue
        value = values[f.attname]
        try:
            if value is None:
                if not f.null:
                    raise ValidationError(f.error_messages["null"], code="null")
                continue
            if value in f.empty_values:
                if not f.blank:
                    raise ValidationError(f.error_messages["blank"], code="blank")
                continue
            if choices is not None and value not in choices:
                raise ValidationError(
                    f.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": value},
                )
            for validator in validators:
                validator(value)
        except ValidationError as exc:
            errors[f.name] = exc.error_list
    if errors:
        raise ValidationError(errors)


_CHECKED: dict = {}


def _checked_fields(model) -> list:
    if model not in _CHECKED:
        _CHECKED[model] = [
            (f, {c for c, _label in f.flatchoices} if f.choices else None, f.validators)
            for f in model._meta.concrete_fields
            if not f.is_relation and not f.primary_key and not isinstance(f, FileField)
        ]
    return _CHECKED[model]


def valid(model, values, report, table, legacy_id) -> bool:
    try:
        clean(model, values)
    except ValidationError as exc:
        report.skip(table, legacy_id, message(exc))
        return False
    return True


def batch_writer(model, ctx, table, **kwargs):
    from clinics.legacy.importer import Writer

    return Writer(model, ctx, table, **kwargs)


def done(bar, *writers) -> None:
    for writer in writers:
        writer.flush()
    if bar:
        bar.finish()


def choice(mapping, value, what, report, where, default=""):
    key = str(value or "").strip().lower()
    if not key:
        return default
    if key in mapping:
        return mapping[key]
    report.change(*where, f"{what} {value!r} has no equivalent: {default or 'left blank'}")
    return default


def load_existing(model, target: dict, fields=("patient_id", "doctor_id")) -> None:
    for pk, *values in model.objects.values_list("id", *fields).iterator(chunk_size=5000):
        target[pk] = tuple(values)
