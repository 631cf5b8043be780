"""Dental procedures: planned by a doctor of the clinic (recorded as `doctor`), often from an
observation, then moved planned → in_progress → completed, or cancelled."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clinical.models import DentalObservation, DentalProcedure
from clinical.services.common import acting_doctor, clean_text, field_error, get_in_clinic
from clinical.services.dental.checks import (
    apply_fields,
    appointment_of,
    attachment_files,
    clean_row,
    delete_files_on_commit,
    patient_in_clinic,
    prescription_of,
    same_patient,
)
from clinical.versions import check_version
from core.errors import ConflictError
from tenants.audit import audit_record
from tenants.context import tenant_context

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
        patient = patient_in_clinic(patient_id)
        observation = get_in_clinic(
            DentalObservation.objects.all(),
            observation_id,
            field="observation_id",
            label="observation",
        )
        same_patient(observation, patient, "observation_id", "observation")
        appointment = appointment_of(appointment_id, patient)
        prescription = prescription_of(prescription_id, patient, appointment)
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
        apply_fields(procedure, fields, PROCEDURE_FIELDS)
        _check_procedure(procedure)
        clean_row(
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
        apply_fields(procedure, changes, PROCEDURE_FIELDS)
        _check_procedure(procedure)
        clean_row(
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
        clean_row(
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
        files = attachment_files(procedure=procedure)
        audit_record(
            action="dental_procedure.deleted",
            actor=actor,
            object=procedure,
            patient_id=procedure.patient_id,
            details={"procedure_code": procedure.procedure_code, "attachments": len(files)},
        )
        procedure.delete()
        delete_files_on_commit(files)
