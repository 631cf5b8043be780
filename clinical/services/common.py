"""Helpers shared by the clinical services: error translation and same-clinic lookups."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models

from clinical.models import Doctor
from core.errors import ApplicationError, PermissionDeniedError, PlanLimitReached


def constraint_of(exc: IntegrityError) -> str:
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) or ""


def invalid(exc: ValidationError, *, prefix: str = "", rename: dict | None = None):
    """A model's ValidationError as an ApplicationError with flat field errors."""
    rename = rename or {}
    errors = {}
    for name, messages in exc.message_dict.items():
        key = rename.get(name, name)
        errors[f"{prefix}{key}"] = [str(m) for m in messages]
    return ApplicationError("Some fields are invalid.", field_errors=errors)


def full_clean(obj: models.Model, *, prefix: str = "", rename: dict | None = None, **kwargs):
    try:
        obj.full_clean(**kwargs)
    except ValidationError as exc:
        raise invalid(exc, prefix=prefix, rename=rename) from exc


def limit_reached(resource: str, limit: int, current: int, tenant) -> PlanLimitReached:
    return PlanLimitReached(
        f"The {tenant.plan_info.name} plan allows {limit:,} {resource}; upgrade the plan to "
        f"add more.",
        extra={"resource": resource, "limit": limit, "current": current, "plan": tenant.plan},
    )


def field_error(field: str, message: str, *, detail: str | None = None, code: str = "invalid"):
    return ApplicationError(detail or message, code=code, field_errors={field: [message]})


def get_in_clinic(queryset, pk, *, field: str, label: str, lock: bool = False):
    """The row with this id in the current clinic, or a 400 field error.

    Another clinic's id and a missing one get the same answer (design invariant 10), and a
    malformed id is a field error too, never a database error.
    """
    if pk is None:
        return None
    try:
        pk = pk if isinstance(pk, uuid.UUID) else uuid.UUID(str(pk))
    except (TypeError, ValueError, AttributeError):
        raise field_error(field, f"Not a valid {label} id.") from None
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    row = queryset.filter(pk=pk).first()
    if row is None:
        raise field_error(field, f"No such {label} in this clinic.", detail=f"Unknown {label}.")
    return row


def acting_doctor(actor, *, lock: bool = False):
    """The actor's own active doctor profile in this clinic, or 403: only doctors write
    prescriptions and use short keys, and only as themselves."""
    queryset = Doctor.objects.filter(user_id=getattr(actor, "pk", None), is_active=True)
    if lock:
        queryset = queryset.select_for_update()
    doctor = queryset.first()
    if doctor is None:
        raise PermissionDeniedError(
            "Only a doctor of this clinic can do this.", code="not_a_doctor"
        )
    return doctor


def as_type(field: models.Field, value, *, name: str):
    """Text from a form ("2026-12-01", "10:30") as the field's Python type, or a 400."""
    if value is None or value == "":
        return None
    try:
        return field.to_python(value)
    except ValidationError as exc:
        raise field_error(name, exc.messages[0]) from None


def clean_text(value) -> str:
    return (value or "").strip()
