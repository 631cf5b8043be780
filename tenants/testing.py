"""Test helpers shared by every app's tests: clinics, members and generic rows.

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

from django.contrib.auth.hashers import make_password
from django.db import models
from django.utils import timezone

from tenants.context import current, tenant_context

TEST_PASSWORD = "Correct-Horse-42"
_counter = itertools.count(1)
_builders: dict[type[models.Model], Callable[..., models.Model]] = {}


@functools.cache
def test_password_hash() -> str:
    # Hashing once per run keeps argon2 (deliberately slow) out of every fixture.
    return make_password(TEST_PASSWORD)


def create_user(email: str | None = None, **fields):
    from accounts.models import User, normalize_email

    n = next(_counter)
    email = normalize_email(email or f"person{n}@example.com")
    fields.setdefault("first_name", email.split("@")[0].title())
    fields.setdefault("last_name", "Tester")
    user = User(email=email, password=test_password_hash(), **fields)
    user.save()
    return user


def add_member(
    tenant, *, user=None, email: str | None = None, role: str = "doctor", is_active: bool = True
):
    from accounts.models import Membership

    user = user or create_user(email)
    with tenant_context(tenant):
        return Membership.objects.create(user=user, role=role, is_active=is_active)


def create_clinic(
    name: str | None = None, *, owner_email: str | None = None, plan: str = "trial", **fields
):
    """A clinic with its owner (returned as `clinic.owner`)."""
    from tenants.services import tenant_create

    n = next(_counter)
    tenant = tenant_create(name=name or f"Clinic {n}", plan=plan)
    if fields:
        with tenant_context(tenant):
            for key, value in fields.items():
                setattr(tenant, key, value)
            tenant.save()
    membership = add_member(tenant, email=owner_email, role="owner")
    tenant.owner = membership.user
    return tenant


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


def membership_of(user, tenant):
    from accounts.models import Membership

    with tenant_context(tenant):
        return Membership.objects.select_related("user", "tenant").get(user=user)


def bearer(user, tenant) -> dict[str, str]:
    """HTTP headers of an API client logged in as `user` for `tenant`."""
    from accounts.tokens import issue_tokens

    tokens = issue_tokens(membership_of(user, tenant))
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}


def session_login(client, user, tenant) -> None:
    """Log a Django test client in as `user`, working in `tenant` (as the login page does)."""
    from tenants.middleware import SESSION_TENANT_KEY

    client.force_login(user)
    session = client.session
    session[SESSION_TENANT_KEY] = str(tenant.pk)
    session.save()
