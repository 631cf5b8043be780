"""Optimistic concurrency for clinical records: a version of each row, and the check that an
edit starts from the version the editor saw.

The version is derived from PostgreSQL's `xmin`, the id of the transaction that wrote the
row's current state: every UPDATE, from any path (API, admin, a service, a bulk update),
gives the row a new one, with no column to keep in step. It is not shown as is, because
transaction ids are global and would tell one clinic how busy the others are; clients see
an HMAC of (table, id, xmin) under SECRET_KEY, opaque and the same for every reader.

The API sends it as a strong `ETag`; a `PATCH` with `If-Match` naming another version gets
409 `edit_conflict`. The admin's change form carries it in a hidden field. Update services
take it as `expected_version` and compare it with the row they have locked
(`select_for_update`), so two concurrent edits of one version cannot both pass: the second
waits for the first's lock, then sees the new version.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db.models.expressions import RawSQL

from core.errors import ConflictError

EDIT_CONFLICT = "edit_conflict"


def row_version(model, pk) -> str | None:
    """The current version of the row `pk` of `model` (None when it is not visible)."""
    table = model._meta.db_table
    xmin = (
        model._default_manager.filter(pk=pk)
        .annotate(row_xmin=RawSQL(f'"{table}".xmin::text', ()))
        .values_list("row_xmin", flat=True)
        .first()
    )
    if xmin is None:
        return None
    message = f"{table}:{pk}:{xmin}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:24]


def etag(version: str) -> str:
    return f'"{version}"'


def versions_from_if_match(header: str | None) -> list[str] | None:
    """The versions an `If-Match` header accepts: None without the header (no precondition),
    ["*"] for any. Weak tags (`W/"…"`) never match: If-Match compares strongly."""
    if header is None:
        return None
    tags = [tag.strip() for tag in header.split(",") if tag.strip()]
    if tags == ["*"]:
        return ["*"]
    return [tag[1:-1] for tag in tags if len(tag) >= 2 and tag[0] == tag[-1] == '"']


def check_version(row, expected) -> None:
    """Raise 409 `edit_conflict` unless `expected` (one version, a list of them, "*" or
    None for "no precondition") names the current version of `row`. Call it with the row
    locked, before changing anything."""
    if expected is None:
        return
    accepted = [expected] if isinstance(expected, str) else list(expected)
    if "*" in accepted:
        return
    current = row_version(type(row), row.pk)
    if current not in accepted:
        raise ConflictError(
            "Someone else changed this record after you opened it; nothing was saved. "
            "Load it again, then make your change.",
            code=EDIT_CONFLICT,
            extra={"version": current},
        )
