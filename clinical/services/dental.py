"""Dental records: observations, procedures, observation templates and attachments.

Observations and procedures are written by doctors (any active doctor of the clinic, recorded
as `doctor`); attachments by the clinical staff. Every reference in a request (patient,
appointment, prescription, observation, procedure) must be a row of the same clinic and of
the same patient, else a 400 field error. Stored files are deleted once the deletion of their
record has committed, so a rolled-back request never loses a file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from clinical.models import (
    Appointment,
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    DentalTemplate,
    Patient,
    Prescription,
)
from clinical.services.catalogues import LoadResult, Rows, catalogue_load, catalogue_read
from clinical.services.common import (
    acting_doctor,
    clean_text,
    constraint_of,
    field_error,
    full_clean,
    get_in_clinic,
)
from clinical.versions import check_version
from core.errors import ApplicationError, ConflictError, PermissionDeniedError
from tenants.audit import audit_record
from tenants.context import tenant_context

STARTER_TEMPLATES = Path(__file__).resolve().parent.parent / "data" / "dental_templates.csv"

OBSERVATION_FIELDS = (
    "tooth_number",
    "tooth_surface",
    "condition_type",
    "severity",
    "notes",
    "treatment_required",
    "treatment_done",
    "treatment_date",
    "observed_on",
)
PROCEDURE_FIELDS = (
    "procedure_code",
    "procedure_name",
    "teeth",
    "estimated_cost",
    "actual_cost",
    "planned_date",
    "notes",
)
# What may still change once a procedure is completed or cancelled.
CLOSED_PROCEDURE_FIELDS = ("notes", "actual_cost")
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
TEXT_FIELDS = ("notes", "procedure_name", "name")
REFERENCE_NAMES = {
    "patient": "patient_id",
    "doctor": "doctor_id",
    "appointment": "appointment_id",
    "prescription": "prescription_id",
    "observation": "observation_id",
    "procedure": "procedure_id",
}


# --- shared checks ----------------------------------------------------------------------------


def _patient(patient_id) -> Patient:
    patient = get_in_clinic(
        Patient.objects.active(), patient_id, field="patient_id", label="patient"
    )
    if patient is None:
        raise field_error("patient_id", "This field is required.")
    return patient


def _same_patient(row, patient: Patient, field: str, label: str) -> None:
    if row is not None and row.patient_id != patient.pk:
        raise field_error(
            field, f"The {label} is of another patient.", code=f"{label.replace(' ', '_')}_mismatch"
        )


def _appointment(appointment_id, patient: Patient) -> Appointment | None:
    appointment = get_in_clinic(
        Appointment.objects.all(), appointment_id, field="appointment_id", label="appointment"
    )
    _same_patient(appointment, patient, "appointment_id", "appointment")
    return appointment


def _prescription(prescription_id, patient: Patient, appointment) -> Prescription | None:
    prescription = get_in_clinic(
        Prescription.objects.all(), prescription_id, field="prescription_id", label="prescription"
    )
    _same_patient(prescription, patient, "prescription_id", "prescription")
    if (
        prescription is not None
        and appointment is not None
        and prescription.appointment_id not in (None, appointment.pk)
    ):
        raise field_error(
            "prescription_id",
            "The prescription was written for another appointment.",
            code="prescription_mismatch",
        )
    return prescription


def _apply(row, fields: dict, allowed: Iterable[str]) -> None:
    allowed = set(allowed)
    for name, value in fields.items():
        if name not in allowed:
            raise ApplicationError(f"{name} cannot be changed.", code="not_editable")
        if name in TEXT_FIELDS:
            value = clean_text(value)
        elif name in ("procedure_code",) and isinstance(value, str):
            value = clean_text(value).upper()
        setattr(row, name, value)


def _clean(row, *, exclude: Iterable[str] = ()) -> None:
    full_clean(
        row,
        exclude=[*exclude],
        validate_unique=False,
        validate_constraints=False,
        rename=REFERENCE_NAMES,
    )


def _not_in_future(value, name: str) -> None:
    if value is not None and value > timezone.localdate():
        raise field_error(name, "Cannot be in the future.")


def _delete_files_on_commit(names: list[str]) -> None:
    storage = DentalAttachment._meta.get_field("file").storage
    names = [n for n in names if n]
    if names:
        transaction.on_commit(lambda: [storage.delete(name) for name in names])


def _attachment_files(**filters) -> list[str]:
    return list(DentalAttachment.objects.filter(**filters).values_list("file", flat=True))


# --- observations -----------------------------------------------------------------------------


def _check_observation(observation: DentalObservation) -> None:
    _not_in_future(observation.observed_on, "observed_on")
    if observation.treatment_done and observation.treatment_date is None:
        observation.treatment_date = timezone.localdate()
    if (
        observation.treatment_date is not None
        and observation.observed_on is not None
        and observation.treatment_date < observation.observed_on
    ):
        raise field_error("treatment_date", "The treatment cannot be before the observation.")


@transaction.atomic
def dental_observation_create(
    *,
    tenant,
    actor,
    patient_id,
    appointment_id=None,
    prescription_id=None,
    **fields,
) -> DentalObservation:
    """Record a finding on one tooth, by the actor's own doctor profile. An observation made
    at an appointment that already has its prescription is linked to that prescription."""
    with tenant_context(tenant):
        doctor = acting_doctor(actor)
        patient = _patient(patient_id)
        appointment = _appointment(appointment_id, patient)
        prescription = _prescription(prescription_id, patient, appointment)
        if prescription is None and appointment is not None:
            prescription = Prescription.objects.filter(appointment=appointment).first()
        observation = DentalObservation(
            patient=patient,
            doctor=doctor,
            appointment=appointment,
            prescription=prescription,
            created_by=actor,
        )
        _apply(observation, fields, OBSERVATION_FIELDS)
        _clean(observation, exclude=["patient", "doctor", "appointment", "prescription"])
        _check_observation(observation)
        observation.save(force_insert=True)
        audit_record(
            action="dental_observation.created",
            actor=actor,
            object=observation,
            patient_id=patient.pk,
        )
    return observation


@transaction.atomic
def dental_observation_update(
    *, tenant, actor, observation: DentalObservation, expected_version=None, **changes
) -> DentalObservation:
    """Change a finding (any doctor of the clinic). `prescription_id` links it to one of the
    patient's prescriptions, or unlinks it (null).
    `expected_version` (clinical.versions): the version the editor saw; another one is a 409
    `edit_conflict` and nothing changes."""
    with tenant_context(tenant):
        acting_doctor(actor)
        observation = DentalObservation.objects.select_for_update().get(pk=observation.pk)
        check_version(observation, expected_version)
        if "prescription_id" in changes:
            observation.prescription = _prescription(
                changes.pop("prescription_id"), observation.patient, observation.appointment
            )
        _apply(observation, changes, OBSERVATION_FIELDS)
        _clean(observation, exclude=["patient", "doctor", "appointment", "prescription"])
        _check_observation(observation)
        observation.save()
        audit_record(
            action="dental_observation.updated",
            actor=actor,
            object=observation,
            patient_id=observation.patient_id,
            details={"fields": sorted(changes)},
        )
    return observation


@transaction.atomic
def dental_observation_delete(*, tenant, actor, observation: DentalObservation) -> None:
    """Delete a finding recorded by mistake, with its attachments (their files go once the
    deletion has committed); procedures planned from it stay, unlinked."""
    with tenant_context(tenant):
        acting_doctor(actor)
        observation = DentalObservation.objects.select_for_update().get(pk=observation.pk)
        files = _attachment_files(observation=observation)
        audit_record(
            action="dental_observation.deleted",
            actor=actor,
            object=observation,
            patient_id=observation.patient_id,
            details={"tooth_number": observation.tooth_number, "attachments": len(files)},
        )
        observation.delete()
        _delete_files_on_commit(files)


def dental_observations_link_to_prescription(*, prescription: Prescription) -> int:
    """Link the open observations of the prescription's appointment to it (called by
    prescription_create inside its transaction and clinic context). Open: no prescription
    yet and the treatment not done."""
    if prescription.appointment_id is None:
        return 0
    return DentalObservation.objects.filter(
        appointment_id=prescription.appointment_id,
        patient_id=prescription.patient_id,
        prescription__isnull=True,
        treatment_done=False,
    ).update(prescription=prescription, updated_at=timezone.now())


# --- procedures -------------------------------------------------------------------------------


def _check_procedure(procedure: DentalProcedure) -> None:
    # A JSON null for the teeth means "no particular tooth" (the whole mouth).
    if procedure.teeth is None:
        procedure.teeth = []


@transaction.atomic
def dental_procedure_create(
    *,
    tenant,
    actor,
    patient_id,
    observation_id=None,
    prescription_id=None,
    appointment_id=None,
    **fields,
) -> DentalProcedure:
    """Plan a procedure (status `planned`), by the actor's own doctor profile. Without
    `teeth`, a procedure for an observation covers the observation's tooth."""
    with tenant_context(tenant):
        doctor = acting_doctor(actor)
        patient = _patient(patient_id)
        observation = get_in_clinic(
            DentalObservation.objects.all(),
            observation_id,
            field="observation_id",
            label="observation",
        )
        _same_patient(observation, patient, "observation_id", "observation")
        appointment = _appointment(appointment_id, patient)
        prescription = _prescription(prescription_id, patient, appointment)
        procedure = DentalProcedure(
            patient=patient,
            doctor=doctor,
            observation=observation,
            prescription=prescription,
            appointment=appointment,
            created_by=actor,
            status_changed_at=timezone.now(),
        )
        if observation is not None and not fields.get("teeth"):
            fields["teeth"] = [observation.tooth_number]
        _apply(procedure, fields, PROCEDURE_FIELDS)
        _check_procedure(procedure)
        _clean(
            procedure,
            exclude=["patient", "doctor", "observation", "prescription", "appointment"],
        )
        procedure.save(force_insert=True)
        audit_record(
            action="dental_procedure.created",
            actor=actor,
            object=procedure,
            patient_id=patient.pk,
        )
    return procedure


@transaction.atomic
def dental_procedure_update(
    *, tenant, actor, procedure: DentalProcedure, expected_version=None, **changes
) -> DentalProcedure:
    """Change a planned or running procedure; a completed or cancelled one keeps everything
    but its notes and actual cost.
    `expected_version` (clinical.versions): the version the editor saw; another one is a 409
    `edit_conflict` and nothing changes."""
    with tenant_context(tenant):
        acting_doctor(actor)
        procedure = DentalProcedure.objects.select_for_update().get(pk=procedure.pk)
        check_version(procedure, expected_version)
        if not procedure.is_open:
            closed = sorted(set(changes) - set(CLOSED_PROCEDURE_FIELDS))
            if closed:
                raise ConflictError(
                    f"A {procedure.get_status_display().lower()} procedure cannot change "
                    f"{', '.join(closed)}.",
                    code="not_editable",
                )
        _apply(procedure, changes, PROCEDURE_FIELDS)
        _check_procedure(procedure)
        _clean(
            procedure,
            exclude=["patient", "doctor", "observation", "prescription", "appointment"],
        )
        procedure.save()
        audit_record(
            action="dental_procedure.updated",
            actor=actor,
            object=procedure,
            patient_id=procedure.patient_id,
            details={"fields": sorted(changes)},
        )
    return procedure


@transaction.atomic
def dental_procedure_transition(
    *, tenant, actor, procedure: DentalProcedure, status: str, actual_cost=None, notes=None
) -> DentalProcedure:
    """planned → in_progress → completed, or cancelled from either open status. Starting
    sets the start date, completing the completion date (and marks the observation it
    treats as done)."""
    with tenant_context(tenant):
        acting_doctor(actor)
        procedure = DentalProcedure.objects.select_for_update().get(pk=procedure.pk)
        if status not in DentalProcedure.Status.values:
            raise field_error("status", f"Unknown status {status!r}.")
        if not procedure.can_move_to(status):
            allowed = sorted(DentalProcedure.TRANSITIONS.get(procedure.status, ()))
            raise ConflictError(
                f"A {procedure.get_status_display().lower()} procedure cannot become {status}.",
                code="invalid_transition",
                extra={"from": procedure.status, "to": status, "allowed": allowed},
            )
        today = timezone.localdate()
        previous = procedure.status
        procedure.status = status
        procedure.status_changed_at = timezone.now()
        if status == DentalProcedure.Status.IN_PROGRESS:
            procedure.started_date = procedure.started_date or today
        if status == DentalProcedure.Status.COMPLETED:
            procedure.started_date = procedure.started_date or today
            procedure.completed_date = today
        if actual_cost is not None:
            procedure.actual_cost = actual_cost
        if notes:
            procedure.notes = clean_text(notes)
        _clean(
            procedure,
            exclude=["patient", "doctor", "observation", "prescription", "appointment"],
        )
        procedure.save()
        if status == DentalProcedure.Status.COMPLETED and procedure.observation_id:
            DentalObservation.objects.filter(pk=procedure.observation_id).update(
                treatment_done=True, treatment_date=today, updated_at=timezone.now()
            )
        audit_record(
            action="dental_procedure.status_changed",
            actor=actor,
            object=procedure,
            patient_id=procedure.patient_id,
            details={"from": previous, "to": status},
        )
    return procedure


@transaction.atomic
def dental_procedure_delete(*, tenant, actor, procedure: DentalProcedure) -> None:
    """Delete a procedure recorded by mistake, with its attachments (files on commit)."""
    with tenant_context(tenant):
        acting_doctor(actor)
        procedure = DentalProcedure.objects.select_for_update().get(pk=procedure.pk)
        files = _attachment_files(procedure=procedure)
        audit_record(
            action="dental_procedure.deleted",
            actor=actor,
            object=procedure,
            patient_id=procedure.patient_id,
            details={"procedure_code": procedure.procedure_code, "attachments": len(files)},
        )
        procedure.delete()
        _delete_files_on_commit(files)


# --- observation templates --------------------------------------------------------------------


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


def _own_template(template: DentalTemplate) -> DentalTemplate:
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
        _apply(template, fields, TEMPLATE_FIELDS)
        _clean(template)
        _template_save(template, insert=True)
        audit_record(action="dental_template.created", actor=actor, object=template)
    return template


@transaction.atomic
def dental_template_update(*, tenant, actor, template: DentalTemplate, **changes):
    with tenant_context(tenant):
        template = _own_template(template)
        _apply(template, changes, TEMPLATE_FIELDS)
        _clean(template)
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


TEMPLATE_CSV_COLUMNS = (
    "name",
    "condition_type",
    "tooth_surface",
    "severity",
    "treatment_required",
    "procedure_code",
    "notes",
)


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
        model=DentalTemplate,
        required=("name", "notes"),
        values_of=_template_values,
        key_of=_template_key,
    )


def dental_template_catalogue_load(*, rows: Rows, reason: str, actor=None) -> LoadResult:
    """Create or update the shared templates, matched on their name. Idempotent, all or
    nothing, through the audited platform role (no clinic can write shared rows)."""
    return catalogue_load(
        model=DentalTemplate,
        rows=rows,
        key_of=_template_key,
        columns=TEMPLATE_CSV_COLUMNS,
        reason=reason,
        action="dental_template.catalogue_loaded",
        actor=actor,
    )


# --- attachments ------------------------------------------------------------------------------

# The first bytes of each accepted kind of file: what the file is, whatever it claims.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
_UNSAFE_NAME = re.compile(r"[^\w .()+-]")


def sniff_content_type(upload) -> str | None:
    """The content type of an uploaded file from its magic bytes, or None."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def _safe_name(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/"))
    return _UNSAFE_NAME.sub("_", base).strip()[:255]


def max_attachment_bytes() -> int:
    return settings.DENTAL_ATTACHMENT_MAX_BYTES


@transaction.atomic
def dental_attachment_create(
    *,
    tenant,
    actor,
    file,
    file_type: str,
    observation_id=None,
    procedure_id=None,
    description: str = "",
) -> DentalAttachment:
    """Store an x-ray, photo or PDF for one observation or one procedure.

    Refused: a file over the size limit (413 `file_too_large`), an empty one, and anything
    whose content is not JPEG, PNG or PDF whatever its name or declared type (400
    `unsupported_file_type`). Stored under the clinic's prefix with a random name.
    """
    with tenant_context(tenant):
        if (observation_id is None) == (procedure_id is None):
            raise ApplicationError(
                "Attach the file to exactly one observation or one procedure.",
                code="invalid_parent",
                field_errors={
                    "observation_id": ["Give observation_id or procedure_id, not both."],
                },
            )
        observation = get_in_clinic(
            DentalObservation.objects.all(),
            observation_id,
            field="observation_id",
            label="observation",
        )
        procedure = get_in_clinic(
            DentalProcedure.objects.all(), procedure_id, field="procedure_id", label="procedure"
        )
        parent = observation or procedure
        limit = max_attachment_bytes()
        if file.size > limit:
            raise ApplicationError(
                f"The file is larger than the limit of {limit // (1024 * 1024) or 1} MB.",
                code="file_too_large",
                status_code=413,
                extra={"limit_bytes": limit, "size_bytes": file.size},
                field_errors={"file": ["Too large."]},
            )
        if file.size == 0:
            raise field_error("file", "The file is empty.")
        content_type = sniff_content_type(file)
        if content_type is None:
            raise ApplicationError(
                "Only JPEG, PNG and PDF files can be attached.",
                code="unsupported_file_type",
                field_errors={"file": ["Not a JPEG, PNG or PDF file."]},
            )
        attachment = DentalAttachment(
            patient_id=parent.patient_id,
            observation=observation,
            procedure=procedure,
            file_type=file_type,
            content_type=content_type,
            size=file.size,
            original_name=_safe_name(getattr(file, "name", "")),
            description=clean_text(description),
            uploaded_by=actor,
        )
        attachment.assign_tenant()
        full_clean(
            attachment,
            exclude=["patient", "observation", "procedure", "uploaded_by", "file"],
            validate_unique=False,
            validate_constraints=False,
        )
        attachment.file.save(attachment.original_name or "upload", file, save=False)
        try:
            with transaction.atomic():
                attachment.save(force_insert=True)
                audit_record(
                    action="dental_attachment.created",
                    actor=actor,
                    object=attachment,
                    patient_id=attachment.patient_id,
                    details={
                        "file_type": file_type,
                        "content_type": content_type,
                        "size": file.size,
                    },
                )
        except Exception:
            # The row was not written: do not leave its file behind.
            attachment.file.storage.delete(attachment.file.name)
            raise
    return attachment


@transaction.atomic
def dental_attachment_delete(*, tenant, actor, attachment: DentalAttachment) -> None:
    """Delete an attachment; its file goes once the deletion has committed."""
    with tenant_context(tenant):
        attachment = DentalAttachment.objects.select_for_update().get(pk=attachment.pk)
        name = attachment.file.name
        audit_record(
            action="dental_attachment.deleted",
            actor=actor,
            object=attachment,
            patient_id=attachment.patient_id,
            details={"file_type": attachment.file_type},
        )
        attachment.delete()
        _delete_files_on_commit([name])


def dental_attachment_record_download(*, tenant, attachment, request) -> None:
    with tenant_context(tenant):
        audit_record(
            action="dental_attachment.downloaded",
            request=request,
            object=attachment,
            patient_id=attachment.patient_id,
        )
