"""Short keys: named medicine sets that pre-fill prescriptions."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from clinical.models import ShortKey, ShortKeyItem
from clinical.services.common import acting_doctor, clean_text, constraint_of, full_clean
from clinical.services.items import build_items
from core.errors import ApplicationError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context

SHORT_KEY_FIELDS = ("code", "name", "description", "is_active")


def normalize_code(code) -> str:
    return clean_text(code).upper()


def _save(key: ShortKey, *, insert: bool) -> None:
    try:
        with transaction.atomic():
            key.save(force_insert=insert)
    except IntegrityError as exc:
        if constraint_of(exc) == "shortkey_tenant_code_uniq":
            raise ApplicationError(
                "This clinic already has a short key with this code.",
                code="duplicate_code",
                field_errors={"code": ["Already used in this clinic."]},
            ) from exc
        raise


def _apply(key: ShortKey, fields: dict) -> None:
    for name, value in fields.items():
        if name not in SHORT_KEY_FIELDS:
            raise ApplicationError(f"{name} cannot be changed.")
        if name == "code":
            value = normalize_code(value)
        elif isinstance(value, str):
            value = clean_text(value)
        setattr(key, name, value)
    full_clean(key, exclude=["doctor"], validate_unique=False, validate_constraints=False)


def _replace_items(key: ShortKey, items) -> None:
    rows = build_items(ShortKeyItem, items, parent_field="short_key")
    ShortKeyItem.objects.filter(short_key=key).delete()
    for row in rows:
        row.short_key = key
    ShortKeyItem.objects.bulk_create(rows)


@transaction.atomic
def short_key_create(
    *, tenant, actor, code: str, name: str, items, description: str = "", personal=False
) -> ShortKey:
    """A personal key belongs to the actor's own doctor profile; a shared one to the clinic."""
    with tenant_context(tenant):
        key = ShortKey(created_by=actor, doctor=acting_doctor(actor) if personal else None)
        _apply(key, {"code": code, "name": name, "description": description})
        _save(key, insert=True)
        _replace_items(key, items)
        audit_record(action="short_key.created", actor=actor, object=key)
    return key


def _check_owner(actor, key: ShortKey) -> None:
    if key.doctor_id is not None and key.doctor.user_id != getattr(actor, "pk", None):
        raise PermissionDeniedError(
            "A personal short key can be changed only by its doctor.", code="not_own_short_key"
        )


@transaction.atomic
def short_key_update(*, tenant, actor, short_key: ShortKey, items=None, **changes) -> ShortKey:
    with tenant_context(tenant):
        key = (
            ShortKey.objects.select_for_update(of=("self",))
            .select_related("doctor")
            .get(pk=short_key.pk)
        )
        _check_owner(actor, key)
        _apply(key, changes)
        _save(key, insert=False)
        if items is not None:
            _replace_items(key, items)
        audit_record(action="short_key.updated", actor=actor, object=key)
    return key


@transaction.atomic
def short_key_delete(*, tenant, actor, short_key: ShortKey) -> None:
    with tenant_context(tenant):
        key = (
            ShortKey.objects.select_for_update(of=("self",))
            .select_related("doctor")
            .get(pk=short_key.pk)
        )
        _check_owner(actor, key)
        audit_record(action="short_key.deleted", actor=actor, object=key)
        key.delete()


@transaction.atomic
def short_key_use(*, tenant, actor, short_key: ShortKey) -> ShortKey:
    """Count one use (atomically, in the database) and return the key to pre-fill from."""
    with tenant_context(tenant):
        acting_doctor(actor)
        if not short_key.is_active:
            raise ApplicationError("This short key is switched off.", code="short_key_inactive")
        ShortKey.objects.filter(pk=short_key.pk).update(
            usage_count=F("usage_count") + 1, last_used_at=timezone.now()
        )
        short_key.refresh_from_db(fields=["usage_count", "last_used_at"])
    return short_key
