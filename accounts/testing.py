"""Test helpers for people: clinics with their owner, members, API and session log-ins, and
the row builders of the accounts models (see `tenants.testing.build`), which the generated
isolation suites use."""

from __future__ import annotations

import functools
import hashlib
import itertools
import secrets
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.clinic_middleware import SESSION_CLINIC_KEY
from accounts.models import Invitation, Membership, Role, User, normalize_email
from accounts.tokens import issue_tokens
from tenants.context import tenant_context
from tenants.services import tenant_create
from tenants.testing import register_builder

_n = itertools.count(1)


@register_builder(Invitation)
def build_invitation(**fields):
    """An open invitation, as a clinic's invite makes it (no person, no membership)."""
    n = next(_n)
    fields.setdefault("email", f"invited{n}@example.com")
    fields.setdefault("role", Role.NURSE)
    fields.setdefault("first_name", f"Typed{n}")
    fields.setdefault("last_name", "Name")
    fields.setdefault("secret_hash", hashlib.sha256(secrets.token_bytes(16)).hexdigest())
    fields.setdefault("expires_at", timezone.now() + timedelta(days=7))
    return Invitation.objects.create(**fields)


TEST_PASSWORD = "Correct-Horse-42"


@functools.cache
def test_password_hash() -> str:
    # Hashing once per run keeps argon2 (deliberately slow) out of every fixture.
    return make_password(TEST_PASSWORD)


def create_user(email: str | None = None, **fields):
    n = next(_n)
    email = normalize_email(email or f"person{n}@example.com")
    fields.setdefault("first_name", email.split("@")[0].title())
    fields.setdefault("last_name", "Tester")
    user = User(email=email, password=test_password_hash(), **fields)
    user.save()
    return user


def add_member(
    tenant, *, user=None, email: str | None = None, role: str = "doctor", is_active: bool = True
):
    user = user or create_user(email)
    with tenant_context(tenant):
        return Membership.objects.create(user=user, role=role, is_active=is_active)


def create_clinic(
    name: str | None = None, *, owner_email: str | None = None, plan: str = "trial", **fields
):
    """A clinic with its owner (returned as `clinic.owner`)."""
    n = next(_n)
    tenant = tenant_create(name=name or f"Clinic {n}", plan=plan)
    if fields:
        with tenant_context(tenant):
            for key, value in fields.items():
                setattr(tenant, key, value)
            tenant.save()
    membership = add_member(tenant, email=owner_email, role="owner")
    tenant.owner = membership.user
    return tenant


def membership_of(user, tenant):
    with tenant_context(tenant):
        return Membership.objects.select_related("user", "tenant").get(user=user)


def bearer(user, tenant) -> dict[str, str]:
    """HTTP headers of an API client logged in as `user` for `tenant`."""
    tokens = issue_tokens(membership_of(user, tenant))
    return {"HTTP_AUTHORIZATION": f"Bearer {tokens['access']}"}


def session_login(client, user, tenant) -> None:
    """Log a Django test client in as `user`, working in `tenant` (as the login page does)."""
    client.force_login(user)
    session = client.session
    session[SESSION_CLINIC_KEY] = str(tenant.pk)
    session.save()
