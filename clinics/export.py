"""A clinic's complete data as one archive, for portability (the owner's right to leave).

The archive is a ZIP file:

    manifest.json                 format, clinic, time, row counts, files, schema versions
    data/tenants.tenant.json      the clinic itself
    data/accounts.user.json       its members (identity only: no password hash, no tokens)
    data/<app>.<model>.json       every clinic-owned model (Django's JSON serialisation)
    data/tenants.auditevent.json  the clinic's audit log
    files/<stored path>           every file a clinic-owned row references

It is read as the runtime role inside the clinic's own tenant context, so row-level security
guarantees that nothing of another clinic can end up in it, whatever the code below does.
Writing it is audited in the clinic's log ("tenant.exported", with the counts).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

from django.core import serializers
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from accounts.models import Membership, User
from tenants import dataset
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant

FORMAT = "clinic-saas-export"
VERSION = 1
CHUNK = 1000

# Secrets are not data: they would only let someone impersonate the clinic's people.
EXCLUDED_FIELDS = {"accounts.invitation": {"secret_hash"}}
# Replay caches of API answers (they may hold tokens), kept a day: not the clinic's records.
EXCLUDED_MODELS = {"tenants.idempotencykey"}
USER_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "is_active",
    "email_verified_at",
    "date_joined",
)

ProgressFactory = Callable[[str, int], object]


def _fields(model) -> list[str] | None:
    excluded = EXCLUDED_FIELDS.get(model._meta.label_lower)
    if not excluded:
        return None  # all of them
    return [
        f.name for f in model._meta.concrete_fields if f.name not in excluded and not f.primary_key
    ]


def _write_json(archive, name, queryset, total, progress, fields=None) -> int:
    bar = progress(name, total) if progress else None
    count = 0

    def rows():
        nonlocal count
        for obj in queryset.iterator(chunk_size=CHUNK):
            count += 1
            if bar is not None:
                bar.advance()
            yield obj

    with archive.open(f"data/{name}.json", "w") as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8")
        serializers.serialize("json", rows(), stream=stream, fields=fields)
        stream.flush()
        stream.detach()
    if bar is not None:
        bar.finish()
    return count


def _people(tenant) -> set:
    """Everybody the clinic's data names: its members, and anyone a clinic-owned row points
    at (a doctor's profile, who sent an invitation)."""

    ids = set(Membership.objects.values_list("user_id", flat=True))
    for model in dataset.clinic_models():
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                rows = model._base_manager.filter(
                    tenant_id=tenant.pk, **{f"{field.name}__isnull": False}
                )
                ids |= set(rows.values_list(field.attname, flat=True).distinct())
    return ids


def _schema_versions() -> dict[str, str]:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        latest[app] = max(latest.get(app, ""), name)
    return dict(sorted(latest.items()))


def clinic_export(
    *, tenant: Tenant, path: str | os.PathLike, progress: ProgressFactory | None = None, actor=None
) -> dict:
    """Write the clinic's archive to `path` (atomically: a partial file never appears there)
    and answer its manifest."""

    path = Path(path)
    partial = path.with_name(path.name + ".part")
    counts: dict[str, int] = {}
    files: list[str] = []
    missing: list[str] = []
    try:
        with tenant_context(tenant), zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            clinic = Tenant.objects.filter(pk=tenant.pk)
            counts["tenants.tenant"] = _write_json(zf, "tenants.tenant", clinic, 1, None)
            members = User.objects.filter(pk__in=_people(tenant)).order_by("pk")
            counts["accounts.user"] = _write_json(
                zf, "accounts.user", members, members.count(), progress, list(USER_FIELDS)
            )
            for model in dataset.clinic_models():
                if model._meta.label_lower in EXCLUDED_MODELS:
                    continue
                # The explicit clinic filter keeps catalogues' shared rows out; row-level
                # security would refuse any other clinic's row anyway.
                rows = model._base_manager.filter(tenant_id=tenant.pk).order_by("pk")
                label = model._meta.label_lower
                counts[label] = _write_json(zf, label, rows, rows.count(), progress, _fields(model))
                for field in dataset.file_fields(model):
                    for name in rows.exclude(**{field.name: ""}).values_list(field.name, flat=True):
                        if not name:
                            continue
                        if default_storage.exists(name):
                            with default_storage.open(name, "rb") as source:
                                with zf.open(f"files/{name}", "w") as target:
                                    for chunk in iter(lambda s=source: s.read(1 << 20), b""):
                                        target.write(chunk)
                            files.append(name)
                        else:
                            missing.append(name)
            log = AuditEvent.objects.order_by("created_at")
            counts["tenants.auditevent"] = _write_json(
                zf, "tenants.auditevent", log, log.count(), progress
            )
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "exported_at": timezone.now().isoformat(),
                "clinic": {"id": str(tenant.pk), "code": tenant.code, "name": tenant.name},
                "counts": counts,
                "files": len(files),
                "missing_files": missing,
                "schema": _schema_versions(),
            }
            zf.writestr("manifest.json", json.dumps(manifest, indent=2))
            audit_record(
                action="tenant.exported",
                actor=actor,
                object=tenant,
                details={
                    "file": path.name,
                    "patients": counts.get("clinical.patient", 0),
                    "counts": counts,
                    "files": len(files),
                },
            )
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()
    return manifest
