"""Row builders for the accounts models (see tenants.testing.build); used by the generated
isolation suites."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from datetime import timedelta

from django.utils import timezone

from accounts.models import Invitation, Role
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
