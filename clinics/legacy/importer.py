"""Adopting one clinic of the earlier system (docs/operations.md, "Importing a clinic of the
earlier system") into a clinic of this one.

The source is only read (clinics.legacy.source). The import first checks what can refuse it
as a whole (the schema, the clinic chosen, the owner, the plan against the row counts), then
converts and validates every row before its batch is written, as the runtime role inside the
clinic's context (row-level security applies), all in one transaction: any failure, or a dry
run, leaves nothing behind. Rows that cannot be adopted as they are get skipped or changed,
and the report says which and why. Ids are kept (patients) or derived from the clinic and
the earlier id, so a second run recognises what it adopted and adds only what is new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from accounts.models import normalize_email
from clinical.models import NumberCounter
from clinics.legacy import dental, people, records
from clinics.legacy.convert import derived_id
from clinics.legacy.report import Report
from clinics.legacy.source import LegacySource
from clinics.selectors import clinic_counts
from core.errors import ApplicationError
from tenants import plans
from tenants.audit import audit_record
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.platform import platform_access
from tenants.selectors import tenant_by_code
from tenants.services import tenant_create

DEFAULT_NAME = "Legacy Clinic"
# Not adopted, with the reason the report gives.
NOT_ADOPTED = {
    "case_studies": "AI-written case summaries are read-only history; not adopted",
    "audit_logs": "the earlier system's audit log has no clinic; not adopted",
}


@dataclass
class ImportResult:
    tenant: Tenant | None = None
    created_tenant: bool = False
    source_tenant: str | None = None
    report: Report = field(default_factory=Report)
    dry_run: bool = False


class Context:
    """What one import run knows: the clinic, the report, the maps from earlier ids to new
    ones (kept as small as the rows they map), and progress."""

    def __init__(
        self, source, tenant, report, progress, *, files_from=None, owner_email="", fresh=False
    ):
        self.source, self.tenant, self.report = source, tenant, report
        self.fresh = fresh  # the clinic was created by this run
        self.progress = progress
        self.files_from = files_from
        self.owner_email = owner_email
        self.users: dict = {}  # earlier user id → User id (members only)
        self.invited: dict = {}  # earlier user id → Invitation (an account here already)
        self.doctor_of_user: dict = {}  # earlier user id → Doctor id
        self.doctors: set = set()  # Doctor ids of this clinic (new or earlier runs)
        self.offices: dict = {}  # earlier office id (text) → Office id
        self.patients: set = set()  # Patient ids
        self.patient_keys: dict = {}  # (earlier mobile, first name) → Patient id
        self.medicines: dict = {}  # earlier medicine id → Medicine or SharedMedicine id
        self.shared_medicines: set = set()  # those of them in the shared catalogue
        self.appointments: dict = {}  # Appointment id → (patient id, doctor id)
        self.prescriptions: dict = {}  # Prescription id → (patient id, doctor id)
        self.observations: dict = {}  # DentalObservation id → (patient id, doctor id)
        self.procedures: dict = {}  # DentalProcedure id → patient id
        self.counters: dict = {}  # (kind, day) → highest number imported
        self.file_copies: list = []  # (source path, storage name) copied after commit

    def id(self, table: str, legacy_id):
        return derived_id(self.tenant.pk, table, legacy_id)

    def bar(self, table: str):
        if self.progress is None:
            return None
        return self.progress(table, self.source.count(table))

    def count_number(self, kind: str, day, value: int) -> None:
        key = (kind, day)
        if value > self.counters.get(key, 0):
            self.counters[key] = value


def legacy_import(
    *,
    source_url: str,
    owner_email: str,
    schema: str = "public",
    source_tenant: str | None = None,
    name: str | None = None,
    code: str | None = None,
    plan: str = plans.BASIC,
    files_from: str | None = None,
    dry_run: bool = False,
    progress: Callable | None = None,
    actor=None,
    details: dict | None = None,
) -> ImportResult:
    try:
        plans.get_plan(plan)
    except ValueError as exc:
        raise ApplicationError(str(exc), field_errors={"plan": [str(exc)]}) from exc
    owner_email = normalize_email(owner_email)
    if not owner_email:
        raise ApplicationError(
            "Name the clinic's owner (owner_email).", field_errors={"owner_email": ["Required."]}
        )
    source = LegacySource(source_url, schema=schema, source_tenant=source_tenant)
    try:
        name = name or (source.tenant or {}).get("tenant_name") or DEFAULT_NAME
        people.check_owner(source, owner_email)
        _check_plan_fits(source, plan)
        target_id = _target_id(source, name)
        if code:
            existing = tenant_by_code(code, reason=f"legacy import into {code}", details=details)
            if existing is None:
                raise ApplicationError(f"No clinic has the code {code!r}.", code="not_found")
        else:
            existing = _previous_target(target_id, details)
        result = ImportResult(
            dry_run=dry_run,
            source_tenant=(source.tenant or {}).get("tenant_code"),
        )
        try:
            with transaction.atomic():
                _import(
                    source,
                    result,
                    existing,
                    name,
                    owner_email,
                    plan,
                    progress,
                    files_from,
                    target_id,
                )
                with tenant_context(result.tenant):
                    audit_record(
                        action="tenant.legacy_imported",
                        actor=actor,
                        object=result.tenant,
                        details={
                            "schema": schema,
                            "source_tenant": result.source_tenant,
                            "summary": [list(row) for row in result.report.summary()],
                            "dry_run": dry_run,
                            **(details or {}),
                        },
                    )
                if dry_run:
                    transaction.set_rollback(True)
        except (IntegrityError, psycopg.errors.IntegrityError) as exc:
            raise ApplicationError(
                "The earlier system's data breaks a rule of this system (a duplicate, or a "
                f"reference to a missing row); nothing was written: {exc}".strip(),
                code="legacy_invalid",
            ) from exc
        return result
    finally:
        source.close()


def _target_id(source: LegacySource, name: str):
    """The id of the clinic an import creates, the same for every run of one source clinic,
    so a second run finds it (clinic codes carry a random suffix): from the earlier clinic's
    id, or, before clinics, from the source's first user and the clinic's name."""
    if source.tenant is not None:
        return derived_id("earlier", "tenants", source.tenant["id"])
    first = source.conn.execute("SELECT min(id::text) AS id FROM users").fetchone()["id"]
    return derived_id("earlier", "clinic", f"{first}:{name}")


def _previous_target(target_id, details):
    """The clinic a previous run created (audited platform access: the runtime role cannot
    look up another clinic), or None."""
    with platform_access(
        reason="legacy import: the clinic of a previous run",
        action="platform.command",
        details={"tenant_id": str(target_id), **(details or {})},
    ):
        return Tenant.objects.filter(pk=target_id).first()


def _check_plan_fits(source: LegacySource, plan: str) -> None:
    """Refuse before writing anything when the plan cannot hold the earlier clinic. The exact
    check runs again on the result (skipped rows do not count)."""
    info = plans.get_plan(plan)
    problems = []
    for resource, limit, table in (
        ("doctors", info.max_doctors, "doctors"),
        ("patients", info.max_patients, "patients"),
    ):
        if limit is not None and source.count(table) > limit:
            problems.append(
                f"the {info.name} plan allows {limit:,} {resource}; the earlier system has "
                f"{source.count(table):,}"
            )
    if problems:
        raise ApplicationError(
            "Choose a larger plan (--plan): " + "; ".join(problems) + ". Nothing was written.",
            code="plan_below_usage",
        )


def _import(
    source, result, existing, name, owner_email, plan, progress, files_from, target_id
) -> None:
    if existing is None:
        try:
            tenant = tenant_create(name=name, plan=plan, tenant_id=target_id)
        except ValidationError as exc:
            raise ApplicationError("Invalid clinic.", field_errors=exc.message_dict) from exc
        result.created_tenant = True
    else:
        tenant = existing
    result.tenant = tenant
    ctx = Context(
        source,
        tenant,
        result.report,
        progress,
        files_from=files_from,
        owner_email=owner_email,
        fresh=result.created_tenant,
    )
    with tenant_context(tenant):
        people.import_users(ctx)
        people.import_doctors(ctx)
        records.import_patients(ctx)
        records.import_medicines(ctx)
        records.import_short_keys(ctx)
        records.import_appointments(ctx)
        records.import_prescriptions(ctx)
        dental.import_dental(ctx)
        dental.import_prescription_templates(ctx)
        for table, reason in NOT_ADOPTED.items():
            whole = not source.has(table, "tenant_id")
            if source.count(table, every_clinic=whole):
                rows = source.count(table, every_clinic=whole)
                ctx.report.note(f"{table}: {rows:,} rows; {reason}.")
        _continue_numbers(ctx)
        _check_limits(tenant)
        if ctx.file_copies:
            copies = list(ctx.file_copies)
            transaction.on_commit(lambda: dental.copy_files(copies))


def _continue_numbers(ctx: Context) -> None:
    """The clinic's next APT-/RX- numbers follow the imported ones: each (kind, day) counter
    is raised to the highest number imported, never lowered."""
    table = NumberCounter._meta.db_table
    with connection.cursor() as cursor:
        for (kind, day), last in ctx.counters.items():
            cursor.execute(
                f'INSERT INTO "{table}" (id, tenant_id, kind, day, last) '
                "VALUES (gen_random_uuid(), %s, %s, %s, %s) "
                f'ON CONFLICT (tenant_id, kind, day) DO UPDATE SET last = GREATEST("{table}".last, '
                "EXCLUDED.last)",
                [ctx.tenant.pk, kind, day, last],
            )


def _check_limits(tenant) -> None:
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    counts = clinic_counts(locked)
    problems = [
        f"the {locked.plan_info.name} plan allows {limit:,} {resource}; the import makes "
        f"{counts[resource]:,}"
        for resource, limit in (("doctors", locked.max_doctors), ("patients", locked.max_patients))
        if limit is not None and counts[resource] > limit
    ]
    if problems:
        raise ApplicationError(
            "Choose a larger plan (--plan): " + "; ".join(problems) + ". Nothing was written.",
            code="plan_below_usage",
        )
