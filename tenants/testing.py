"""Generic rows for every app's tests (people, clinics and log-ins: `accounts.testing`).

`build(Model)` creates a valid row of any clinic-owned model in the current clinic context,
following its references (each created in the same clinic). The generated two-clinic suite
uses it, so a new `TenantOwnedModel` is covered without writing anything; a model whose rows
need particular values registers a builder with `@register_builder(Model)`.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import itertools
import uuid
from collections.abc import Callable

from django.db import models
from django.utils import timezone

from tenants.context import current

_counter = itertools.count(1)
_builders: dict[type[models.Model], Callable[..., models.Model]] = {}


def register_builder(model: type[models.Model]):
    def decorator(func):
        _builders[model] = func
        return func

    return decorator


def _value_for(field: models.Field, n: int):
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.EmailField):
        return f"row{n}@example.com"
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DecimalField):
        return decimal.Decimal("1")
    if isinstance(field, models.IntegerField | models.FloatField):
        return 1
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate() + datetime.timedelta(days=1)
    if isinstance(field, models.TimeField):
        return datetime.time(10, 0)
    if isinstance(field, models.DurationField):
        return datetime.timedelta(minutes=15)
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.GenericIPAddressField):
        return "127.0.0.1"
    if isinstance(field, models.FileField):
        return f"test/{n}.txt"
    if isinstance(field, models.CharField | models.TextField):
        digits = str(9_000_000_000 + n)
        text = digits if "mobile" in field.name or "phone" in field.name else f"{field.name}-{n}"
        return text[: field.max_length] if field.max_length else text
    raise NotImplementedError(f"No generic value for {field!r}; register a builder.")


@functools.cache
def _discover_builders() -> None:
    # Each app may register builders in its own `testing` module (clinical/testing.py, ...).
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("testing")


def build(model: type[models.Model], **overrides) -> models.Model:
    """Create a row of `model` in the current clinic context."""
    _discover_builders()
    if model in _builders:
        return _builders[model](**overrides)
    if current().tenant_id is None and not current().platform:
        raise RuntimeError("build() needs a clinic context.")
    n = next(_counter)
    values = {}
    for field in model._meta.concrete_fields:
        if field.name in overrides or field.primary_key or field.name == "tenant":
            continue
        if (
            field.has_default()
            or field.null
            or getattr(field, "auto_now", False)
            or getattr(field, "auto_now_add", False)
        ):
            continue
        if field.is_relation:
            values[field.name] = build(field.related_model)
        elif field.blank and isinstance(field, models.CharField | models.TextField):
            continue
        else:
            values[field.name] = _value_for(field, n)
    values.update(overrides)
    return model._default_manager.create(**values)


def audit_events(**filters) -> list:
    """Every audit event matching `filters`, the clinics' (`AuditEvent`) and the platform's own
    (`PlatformAuditEvent`) together, oldest first, read through the platform role (which sees
    only committed rows)."""
    from tenants.models import AuditEvent, PlatformAuditEvent
    from tenants.platform import platform_access

    # A filter on the clinic (`tenant_id=...`) reads only the clinics' table.
    clinic_filter = any(key.split("__")[0] in ("tenant", "tenant_id") for key in filters)
    with platform_access(reason="test: read the audit log"):
        events = list(AuditEvent.objects.filter(**filters))
        if not clinic_filter:
            events += PlatformAuditEvent.objects.filter(**filters)
    return sorted(events, key=lambda event: event.created_at)
