"""Adopting the data of the original single-clinic system into one clinic ("Legacy Clinic").

The source is a PostgreSQL database (any server the command can reach, read-only) holding the
single-clinic system's tables in one schema. Those are this application's tables as they were
before clinics existed: the same table and column names (`accounts_user`,
`clinical_office`, `clinical_doctor`, `clinical_doctoroffice`, `clinical_patient`, and any
later clinic-owned model's table), without `tenant_id`, with integer or UUID ids. A
`tenant_id` column may exist: then only its NULL rows — the ones that have no clinic — are
adopted.

* People (`accounts_user`): matched by e-mail with existing accounts (one login, several
  clinics), otherwise created with their password hash when Django can read it (else they
  reset it). Never staff or superusers. Each becomes a member of the clinic with the role of
  the legacy `role` column when there is one, else doctor (if they have a doctor profile)
  or receptionist; `owner_email` becomes the owner.
* Every clinic-owned model whose table exists is copied generically: columns matched by name,
  references rewritten to the new ids, missing columns take the model's default. New ids are
  derived from (clinic, table, legacy id), so running the import again adds only new rows.
* Everything is validated first and written in one transaction as the runtime role inside the
  clinic's context (row-level security applies); the plan's limits are checked on the result.
  Nothing is written when anything fails, and `dry_run` rolls back after counting.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from psycopg import sql
from psycopg.rows import dict_row

from clinic_saas.errors import ApplicationError
from clinic_saas.validators import normalize_indian_mobile
from tenants import dataset, plans
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.dbroles import conninfo_from_url
from tenants.models import Tenant

LEGACY_NAMESPACE = uuid.UUID("6f1d4a52-3c55-4d0e-9a4e-3b1f0c2f7d11")
DEFAULT_NAME = "Legacy Clinic"
USER_TABLE = "accounts_user"
BATCH = 1000
MAX_REPORTED_PROBLEMS = 20

# Not the single-clinic system's data: memberships come from its users table; the rest is
# what the multi-clinic system itself records.
NOT_IMPORTED = {
    "accounts.membership",
    "accounts.invitation",
    "tenants.planchange",
    "tenants.idempotencykey",
}
# Values the old system stored loosely, stored normalised here.
NORMALISE: dict[tuple[str, str], Callable] = {
    ("clinical.patient", "mobile"): normalize_indian_mobile,
}


@dataclass
class ImportResult:
    tenant: Tenant | None = None
    created_tenant: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False


class LegacySource:
    """Read-only access to the legacy schema."""

    def __init__(self, url: str, schema: str):
        self.schema = schema
        try:
            self.conn = psycopg.connect(conninfo_from_url(url), row_factory=dict_row)
        except psycopg.Error as exc:
            raise ApplicationError(
                f"Cannot connect to the legacy database: {exc}".strip(), code="legacy_unreachable"
            ) from exc
        self.conn.read_only = True
        self._columns = self._load_columns()
        if not self._columns:
            self.close()
            raise ApplicationError(
                f"The legacy database has no tables in schema {schema!r}.", code="legacy_empty"
            )

    def _load_columns(self) -> dict[str, set[str]]:
        with self.conn.cursor() as cursor:
            cursor.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = %s",
                [self.schema],
            )
            columns: dict[str, set[str]] = {}
            for row in cursor.fetchall():
                columns.setdefault(row["table_name"], set()).add(row["column_name"])
        return columns

    def columns(self, table: str) -> set[str] | None:
        return self._columns.get(table)

    def _where(self, table: str) -> sql.Composable:
        # Only the rows that have no clinic yet.
        if "tenant_id" in self._columns.get(table, ()):
            return sql.SQL(" WHERE tenant_id IS NULL")
        return sql.SQL("")

    def count(self, table: str) -> int:
        query = sql.SQL("SELECT count(*) AS n FROM {}").format(
            sql.Identifier(self.schema, table)
        ) + self._where(table)
        with self.conn.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchone()["n"]

    def skipped(self, table: str) -> int:
        if "tenant_id" not in self._columns.get(table, ()):
            return 0
        query = sql.SQL("SELECT count(*) AS n FROM {} WHERE tenant_id IS NOT NULL").format(
            sql.Identifier(self.schema, table)
        )
        with self.conn.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchone()["n"]

    def rows(self, table: str):
        query = (
            sql.SQL("SELECT * FROM {}").format(sql.Identifier(self.schema, table))
            + self._where(table)
            + sql.SQL(" ORDER BY id")
        )
        with self.conn.cursor(name=f"legacy_{table}") as cursor:
            cursor.itersize = BATCH
            cursor.execute(query)
            yield from cursor

    def close(self) -> None:
        self.conn.close()


def _new_id(tenant_id, label: str, legacy_id) -> uuid.UUID:
    return uuid.uuid5(LEGACY_NAMESPACE, f"{tenant_id}:{label}:{legacy_id}")


def _aware(value):
    if hasattr(value, "tzinfo") and hasattr(value, "hour") and timezone.is_naive(value):
        return timezone.make_aware(value)
    return value


class _Problems(list):
    def add(self, where: str, message: str) -> None:
        if len(self) < MAX_REPORTED_PROBLEMS:
            self.append(f"{where}: {message}")
        self.total = getattr(self, "total", 0) + 1

    def raise_if_any(self) -> None:
        if self:
            more = getattr(self, "total", len(self)) - len(self)
            tail = f"\n  … and {more} more" if more > 0 else ""
            raise ApplicationError(
                "The legacy data cannot be imported as it is; nothing was written:\n  "
                + "\n  ".join(self)
                + tail,
                code="legacy_invalid",
            )


def legacy_import(
    *,
    source_url: str,
    schema: str = "public",
    name: str = DEFAULT_NAME,
    code: str | None = None,
    owner_email: str,
    plan: str = plans.BASIC,
    dry_run: bool = False,
    progress=None,
    actor=None,
    details: dict | None = None,
) -> ImportResult:
    from accounts.models import normalize_email
    from tenants.selectors import tenant_by_code
    from tenants.services import tenant_code_base

    try:
        plans.get_plan(plan)
    except ValueError as exc:
        raise ApplicationError(str(exc), field_errors={"plan": [str(exc)]}) from exc
    owner_email = normalize_email(owner_email)
    if not owner_email:
        raise ApplicationError(
            "Name the clinic's owner (owner_email).", field_errors={"owner_email": ["Required."]}
        )
    source = LegacySource(source_url, schema)
    try:
        # Adopt into the clinic named by `code`, or the one a previous run created from
        # `name`; a first run creates it.
        wanted = code or tenant_code_base(name)
        existing = tenant_by_code(wanted, reason=f"legacy import into {wanted}", details=details)
        if code and existing is None:
            raise ApplicationError(f"No clinic has the code {code!r}.", code="not_found")
        result = ImportResult(dry_run=dry_run)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    _import(source, result, existing, name, owner_email, plan, progress)
            except IntegrityError as exc:
                raise ApplicationError(
                    "The legacy data breaks a rule of the new schema (a duplicate, or a "
                    f"reference to a missing row); nothing was written: {exc}".strip(),
                    code="legacy_invalid",
                ) from exc
            with tenant_context(result.tenant):
                audit_record(
                    action="tenant.legacy_imported",
                    actor=actor,
                    object=result.tenant,
                    details={
                        "schema": schema,
                        "counts": result.counts,
                        "skipped_with_clinic": result.skipped,
                        "dry_run": dry_run,
                        **(details or {}),
                    },
                )
            if dry_run:
                transaction.set_rollback(True)
        return result
    finally:
        source.close()


def _import(source, result, existing, name, owner_email, plan, progress) -> None:
    from tenants.services import tenant_create

    if existing is None:
        try:
            tenant = tenant_create(name=name, plan=plan)
        except ValidationError as exc:
            raise ApplicationError("Invalid clinic.", field_errors=exc.message_dict) from exc
        result.created_tenant = True
    else:
        tenant = existing
    result.tenant = tenant
    with tenant_context(tenant):
        users = _import_people(source, tenant, owner_email, result, progress)
        for model in dataset.clinic_models():
            label = model._meta.label_lower
            if label in NOT_IMPORTED or source.columns(model._meta.db_table) is None:
                continue
            _import_model(source, tenant, model, users, result, progress)
        _check_limits(tenant)


def _role_for(row, doctor_user_ids) -> str:
    from accounts.models import Role

    role = (row.get("role") or "").strip().lower()
    if role in Role.values and role != Role.OWNER:
        return role
    return Role.DOCTOR if row["id"] in doctor_user_ids else Role.RECEPTIONIST


def _import_people(source, tenant, owner_email, result, progress) -> dict:
    """Legacy user id → User; every legacy person becomes a member of the clinic."""
    from accounts.models import Membership, Role, User, normalize_email

    columns = source.columns(USER_TABLE)
    users: dict = {}
    if columns is None:
        owner = User.objects.filter(email=owner_email).first()
        if owner is None:
            raise ApplicationError(
                f"The legacy database has no {USER_TABLE} table and no account has the e-mail "
                f"{owner_email}; create the owner's account first.",
                code="owner_unknown",
            )
        people = [(owner, Role.OWNER, True)]
    else:
        doctor_user_ids = _legacy_doctor_user_ids(source)
        people = []
        problems = _Problems()
        total = source.count(USER_TABLE)
        bar = progress("people", total) if progress else None
        for row in source.rows(USER_TABLE):
            email = normalize_email(row.get("email") or "")
            if not email:
                problems.add(f"{USER_TABLE} id {row['id']}", "no e-mail address")
                continue
            user = User.objects.filter(email=email).first()
            if user is None:
                user = _new_user(row, email, problems)
            if user is None:
                continue
            users[row["id"]] = user
            role = Role.OWNER if email == owner_email else _role_for(row, doctor_user_ids)
            people.append((user, role, bool(row.get("is_active", True)) or role == Role.OWNER))
            if bar:
                bar.advance()
        problems.raise_if_any()
        if bar:
            bar.finish()
        if not any(role == Role.OWNER for _u, role, _a in people):
            owner = User.objects.filter(email=owner_email).first()
            if owner is None:
                raise ApplicationError(
                    f"{owner_email} is neither a legacy user nor an existing account.",
                    code="owner_unknown",
                )
            people.append((owner, Role.OWNER, True))
    already = set(Membership.objects.values_list("user_id", flat=True))
    added = 0
    for user, role, active in people:
        if user.pk in already:
            continue
        Membership.objects.create(user=user, role=role, is_active=active)
        added += 1
    result.counts["accounts.membership"] = added
    return users


def _legacy_doctor_user_ids(source) -> set:
    from clinical.models import Doctor

    table = Doctor._meta.db_table
    if "user_id" not in (source.columns(table) or ()):
        return set()
    return {row["user_id"] for row in source.rows(table)}


def _new_user(row, email, problems):
    from accounts.models import User

    user = User(
        email=email,
        first_name=(row.get("first_name") or "")[:100],
        last_name=(row.get("last_name") or "")[:100],
        phone=(row.get("phone") or "")[:20],
        is_active=bool(row.get("is_active", True)),
        date_joined=_aware(row.get("date_joined")) or timezone.now(),
    )
    password = row.get("password") or ""
    try:
        identify_hasher(password)
        user.password = password  # the person keeps their password
    except ValueError:
        user.set_unusable_password()  # an unknown scheme: they reset it
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as exc:
        problems.add(f"{USER_TABLE} id {row['id']}", _message(exc))
        return None
    user.save(force_insert=True)
    return user


def _message(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def _import_model(source, tenant, model, users, result, progress) -> None:
    from accounts.models import User

    label = model._meta.label_lower
    table = model._meta.db_table
    columns = source.columns(table)
    problems = _Problems()
    if "id" not in columns:
        problems.add(table, "has no id column")
    fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.name != "tenant"]
    for f in fields:
        if f.column not in columns and not (
            f.has_default() or f.null or f.blank or getattr(f, "auto_now", False)
        ):
            problems.add(table, f"column {f.column} is missing (required by {label}.{f.name})")
    problems.raise_if_any()

    total = source.count(table)
    result.skipped[label] = source.skipped(table)
    bar = progress(label, total) if progress else None
    batch: list = []
    created = 0

    def flush():
        nonlocal created
        ids = [obj.pk for obj in batch]
        present = set(model._base_manager.filter(pk__in=ids).values_list("pk", flat=True))
        fresh = [obj for obj in batch if obj.pk not in present]
        model.objects.bulk_create(fresh)
        created += len(fresh)
        batch.clear()

    for row in source.rows(table):
        values = {model._meta.pk.attname: _new_id(tenant.pk, label, row["id"])}
        where = f"{table} id {row['id']}"
        for f in fields:
            if f.column not in columns:
                continue
            value = _aware(row[f.column])
            if value is None and not f.null:
                continue  # the old system's NULL: the model's default ("" for text)
            if f.is_relation and value is not None:
                if f.related_model is User:
                    user = users.get(value)
                    if user is None:
                        problems.add(where, f"{f.column} {value} is not a legacy user")
                        continue
                    value = user.pk
                else:
                    value = _new_id(tenant.pk, f.related_model._meta.label_lower, value)
            elif (label, f.name) in NORMALISE and value:
                try:
                    value = NORMALISE[(label, f.name)](value)
                except ValidationError as exc:
                    problems.add(where, f"{f.name}: {' '.join(exc.messages)}")
                    continue
            values[f.attname] = value
        obj = model(**values)
        try:
            obj.full_clean(
                exclude=[f.name for f in fields if f.is_relation],
                validate_unique=False,
                validate_constraints=False,
            )
        except ValidationError as exc:
            problems.add(where, _message(exc))
            continue
        batch.append(obj)
        if len(batch) >= BATCH:
            problems.raise_if_any()
            flush()
        if bar:
            bar.advance()
    problems.raise_if_any()
    if batch:
        flush()
    if bar:
        bar.finish()
    result.counts[label] = created


def _check_limits(tenant) -> None:
    from tenants.selectors import tenant_counts

    locked = Tenant.objects.get(pk=tenant.pk)
    counts = tenant_counts(locked)
    problems = [
        f"the {locked.plan_info.name} plan allows {limit:,} {resource}; the legacy data has "
        f"{counts[resource]:,}"
        for resource, limit in (("doctors", locked.max_doctors), ("patients", locked.max_patients))
        if limit is not None and counts[resource] > limit
    ]
    if problems:
        raise ApplicationError(
            "Choose a larger plan (--plan): " + "; ".join(problems) + ". Nothing was written.",
            code="plan_below_usage",
        )
