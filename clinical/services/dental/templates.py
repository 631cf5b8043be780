"""Dental observation templates: the clinic's own set (owners and admins write it) and the
shared set every clinic reads, loaded from a CSV through the audited platform role."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.db import IntegrityError, transaction

from clinical.models import DentalTemplate, SharedDentalTemplate
from clinical.services.catalogues import LoadResult, Rows, catalogue_load, catalogue_read
from clinical.services.common import clean_text, constraint_of
from clinical.services.dental.checks import apply_fields, clean_row
from core.errors import ApplicationError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context

# clinical/data/dental_templates.csv: this module is clinical/services/dental/templates.py.
STARTER_TEMPLATES = Path(__file__).resolve().parents[2] / "data" / "dental_templates.csv"

TEMPLATE_FIELDS = (
    "name",
    "condition_type",
    "tooth_surface",
    "severity",
    "notes",
    "treatment_required",
    "procedure_code",
    "is_active",
)
TEMPLATE_CSV_COLUMNS = (
    "name",
    "condition_type",
    "tooth_surface",
    "severity",
    "treatment_required",
    "procedure_code",
    "notes",
)


def _template_save(template: DentalTemplate, *, insert: bool) -> None:
    try:
        with transaction.atomic():
            template.save(force_insert=insert)
    except IntegrityError as exc:
        if constraint_of(exc) == "dentaltemplate_tenant_name_uniq":
            raise ApplicationError(
                "This clinic already has a template of this name.",
                code="duplicate_template",
                field_errors={"name": ["Already in this clinic's templates."]},
            ) from exc
        raise


def _own_template(template: DentalTemplate | SharedDentalTemplate) -> DentalTemplate:
    if template.is_global:
        raise PermissionDeniedError(
            "The shared templates are read-only; add your own template instead.",
            code="catalogue_read_only",
        )
    return DentalTemplate.objects.select_for_update().get(pk=template.pk)


@transaction.atomic
def dental_template_create(*, tenant, actor, **fields) -> DentalTemplate:
    """Add an observation template to the clinic's own set."""
    with tenant_context(tenant):
        template = DentalTemplate()
        apply_fields(template, fields, TEMPLATE_FIELDS)
        clean_row(template)
        _template_save(template, insert=True)
        audit_record(action="dental_template.created", actor=actor, object=template)
    return template


@transaction.atomic
def dental_template_update(*, tenant, actor, template: DentalTemplate, **changes):
    with tenant_context(tenant):
        template = _own_template(template)
        apply_fields(template, changes, TEMPLATE_FIELDS)
        clean_row(template)
        _template_save(template, insert=False)
        audit_record(
            action="dental_template.updated",
            actor=actor,
            object=template,
            details={"fields": sorted(changes)},
        )
    return template


@transaction.atomic
def dental_template_delete(*, tenant, actor, template: DentalTemplate) -> None:
    with tenant_context(tenant):
        template = _own_template(template)
        audit_record(
            action="dental_template.deleted",
            actor=actor,
            object=template,
            details={"name": template.name},
        )
        template.delete()


def _template_values(row: dict) -> dict:
    values = {name: clean_text(row.get(name)) for name in TEMPLATE_CSV_COLUMNS}
    flag = values.pop("treatment_required").lower()
    values["treatment_required"] = flag in ("1", "true", "yes", "y")
    values["procedure_code"] = values["procedure_code"].upper()
    return values


def _template_key(values: dict) -> str:
    return values["name"].lower()


def read_dental_templates(lines: Iterable[str]) -> Rows:
    """Parse and validate a template CSV; raise CatalogueError listing every bad row."""
    return catalogue_read(
        lines,
        model=SharedDentalTemplate,
        required=("name", "notes"),
        values_of=_template_values,
        key_of=_template_key,
    )


def dental_template_catalogue_load(*, rows: Rows, reason: str, actor=None) -> LoadResult:
    """Create or update the shared templates, matched on their name. Idempotent, all or
    nothing, through the audited platform role (no clinic can write shared rows)."""
    return catalogue_load(
        model=SharedDentalTemplate,
        rows=rows,
        key_of=_template_key,
        columns=TEMPLATE_CSV_COLUMNS,
        reason=reason,
        action="dental_template.catalogue_loaded",
        actor=actor,
    )
