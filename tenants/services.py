"""Write operations on clinics. Admin, API, pages and commands all call these."""

from __future__ import annotations

import re
import secrets
import unicodedata
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants import dbroles, plans
from tenants.context import tenant_context
from tenants.models import Tenant

CODE_MAX_LENGTH = 40


def database_setup(*, admin_url: str) -> bool:
    """Create or correct the roles and the database described by the settings."""
    spec = dbroles.RoleSpec(
        database=settings.DATABASES["default"]["NAME"],
        owner=_role("owner"),
        runtime=_role("default"),
        platform=_role("platform"),
    )
    return dbroles.ensure_roles_and_database(dbroles.conninfo_from_url(admin_url), spec)


def _role(alias: str) -> dbroles.Role:
    config = settings.DATABASES[alias]
    return dbroles.Role(config["USER"], config.get("PASSWORD") or None)


def tenant_code_base(name: str) -> str:
    """A readable ASCII slug from any clinic name.

    Accents fold to their letters ("Clínica Niño" → "clinica-nino"); punctuation becomes a
    hyphen. Scripts with no Latin form (Devanagari, Tamil, …) leave nothing, and then the code
    is "clinic" plus a random suffix, still unique and URL-safe.
    """
    folded = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    slug = slug[:CODE_MAX_LENGTH].rstrip("-")
    return slug or "clinic"


def _code_candidates(base: str):
    if base != "clinic":
        yield base
    # A random suffix rather than "-2", "-3": the runtime role cannot list other clinics'
    # codes (row-level security), and random suffixes do not collide under concurrency.
    for _ in range(8):
        yield f"{base[: CODE_MAX_LENGTH - 5]}-{secrets.token_hex(2)}"
    yield f"{base[: CODE_MAX_LENGTH - 9]}-{secrets.token_hex(4)}"


@transaction.atomic
def tenant_create(
    *,
    name: str,
    email: str = "",
    phone: str = "",
    address: str = "",
    plan: str = plans.TRIAL,
    tenant_id: uuid.UUID | None = None,
) -> Tenant:
    """Create a clinic with a unique code. Runs as the runtime role, in the new clinic's
    context: the policy lets a transaction create only the clinic it acts for."""
    plan_info = plans.get_plan(plan)
    tenant = Tenant(
        id=tenant_id or uuid.uuid4(),
        name=(name or "").strip(),
        email=email,
        phone=phone,
        address=address,
        plan=plan,
        trial_ends_at=(
            timezone.now() + timedelta(days=plan_info.trial_days) if plan_info.trial_days else None
        ),
    )
    base = tenant_code_base(tenant.name)
    tenant.code = base
    tenant.full_clean(exclude=["code"], validate_unique=False)
    with tenant_context(tenant.id):
        for candidate in _code_candidates(base):
            tenant.code = candidate
            try:
                # The unique index decides, so two clinics signing up with one name at the
                # same moment cannot both get it.
                with transaction.atomic():
                    tenant.save(force_insert=True)
                return tenant
            except IntegrityError as exc:
                diag = getattr(exc.__cause__, "diag", None)
                if "code" not in (getattr(diag, "constraint_name", None) or ""):
                    raise
    raise IntegrityError("Could not find a free clinic code.")
