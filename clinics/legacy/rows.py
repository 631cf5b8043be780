"""Helpers shared by the importers of the clinical records: rows as dicts of values, checked
the way full_clean() checks a model's own fields, written in batches (`Writer`)."""

from __future__ import annotations

import psycopg
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import FileField
from django.utils import timezone

from clinics.legacy.people import message

# Rows written per statement (or per pipelined batch, for tables with an array column).
BATCH = 1000


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


def batch_writer(model, ctx, table, **kwargs) -> Writer:
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


class Writer:
    """Writes the rows of one table in batches, after dropping those a previous run already
    wrote (same id).

    The rows are dicts of validated values (clinics.legacy.rows.clean), inserted with
    one INSERT … SELECT FROM unnest(column arrays) per batch, sent in binary, on Django's own
    connection: the same runtime role, the same transaction, the clinic's context already sent
    (a query through the ORM sends it first), so row-level security and the same-clinic
    foreign keys check every row. Building and compiling a model instance per row, as
    bulk_create does, costs more than the database's own work at 100,000 rows.
    """

    def __init__(self, model, ctx, table: str, *, on_flush=None):
        self.model, self.ctx, self.table = model, ctx, table
        self.batch: list[dict] = []
        self.on_flush = on_flush
        self.fields = list(model._meta.concrete_fields)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        insert = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) "
        # One array per column, unnested into rows: one short statement per batch. An array
        # column cannot travel that way (unnest would flatten it): those tables send one
        # prepared INSERT per row, pipelined.
        self.by_row = any(isinstance(f, ArrayField) for f in self.fields)
        if self.by_row:
            self.sql = insert + f"VALUES ({', '.join(['%s'] * len(self.fields))})"
        else:
            arrays = ", ".join(f"%b::{f.db_type(connection)}[]" for f in self.fields)
            self.sql = insert + f"SELECT * FROM unnest({arrays})"

    def add(self, values: dict) -> None:
        self.batch.append(values)
        if len(self.batch) >= BATCH:
            self.flush()

    def _value(self, f, values: dict):
        if f.attname == "tenant_id":
            return self.ctx.tenant.pk
        if f.attname in values:
            value = values[f.attname]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = timezone.now()
        else:
            value = f.get_default()
        return value

    def flush(self) -> None:
        if not self.batch:
            return
        present: set = set()
        # The clinic's context reaches PostgreSQL with this ORM query (or a cheap one when a
        # clinic this run created has nothing to look up).
        if self.ctx.fresh:
            self.model.objects.filter(pk=self.batch[0]["id"]).exists()
        else:
            ids = [row["id"] for row in self.batch]
            present = set(self.model.objects.filter(pk__in=ids).values_list("pk", flat=True))
        fresh = [row for row in self.batch if row["id"] not in present]
        if fresh:
            with psycopg.Cursor(connection.connection) as cursor:
                if self.by_row:
                    rows = [[self._value(f, row) for f in self.fields] for row in fresh]
                    cursor.executemany(self.sql, rows)
                else:
                    cursor.execute(
                        self.sql, [[self._value(f, row) for row in fresh] for f in self.fields]
                    )
        self.ctx.report.new(self.table, len(fresh))
        self.ctx.report.existing(self.table, len(self.batch) - len(fresh))
        if self.on_flush:
            self.on_flush(fresh)
        self.batch = []
