"""The shared catalogues (medicines, dental observation templates): rows every clinic reads
and none may write, loaded from CSV files by operators. Each catalogue's shared rows are a
reference table of their own (`tenants.scoping.SharedCatalogModel`), beside the clinics' own
table.

One mechanism for both: a file is validated whole (every bad row reported with its line, and
nothing loaded when any is bad), then written in one transaction through the audited
platform role, matching existing rows on a natural key, so loading the same file again
changes nothing.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from tenants.platform import platform_access

Rows = list[tuple[int, dict]]


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


def catalogue_read(
    lines: Iterable[str],
    *,
    model: type[models.Model],
    required: Iterable[str],
    values_of: Callable[[dict], dict],
    key_of: Callable[[dict], Hashable],
) -> Rows:
    """Parse and validate a catalogue CSV into (line, field values) rows; raise
    CatalogueError listing every bad row. `values_of` turns a CSV row into field values (it
    may raise ValidationError); `key_of` names the row for duplicate detection."""
    reader = csv.DictReader(lines)
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise CatalogueError([(1, f"missing column(s): {', '.join(missing)}")])
    rows, errors, seen = [], [], {}
    for row in reader:
        line = reader.line_num
        try:
            values = values_of(row)
            # Field validation only: the row has no clinic (it is shared) and is not saved.
            model(**values).clean_fields()
        except ValidationError as exc:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            errors.append((line, messages))
            continue
        key = key_of(values)
        if key in seen:
            errors.append((line, f"duplicate of line {seen[key]}"))
            continue
        seen[key] = line
        rows.append((line, values))
    if errors:
        raise CatalogueError(errors)
    return rows


def catalogue_load(
    *,
    model: type[models.Model],
    rows: Rows,
    key_of: Callable[[object], Hashable],
    columns: Iterable[str],
    reason: str,
    action: str,
    actor=None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 500,
) -> LoadResult:
    """Create or update the shared rows, matched by `key_of` (which reads a dict of values
    or a model instance alike). Idempotent, all or nothing, through the platform role."""
    result = LoadResult(total=len(rows))
    now = timezone.now()
    with platform_access(reason=reason, actor=actor, action=action):
        shared = model.objects.all()
        existing = {key_of(vars(row)): row for row in shared}
        to_create, to_update = [], []
        for done, (_line, values) in enumerate(rows, start=1):
            row = existing.get(key_of(values))
            if row is None:
                to_create.append(model(**values))
            elif any(getattr(row, k) != v for k, v in values.items()):
                for k, v in values.items():
                    setattr(row, k, v)
                row.updated_at = now
                to_update.append(row)
            else:
                result.unchanged += 1
            if progress and (done % batch_size == 0 or done == len(rows)):
                progress(done, len(rows))
        model.objects.bulk_create(to_create, batch_size=batch_size)
        model.objects.bulk_update(to_update, [*columns, "updated_at"], batch_size=batch_size)
        result.created, result.updated = len(to_create), len(to_update)
    return result
