"""Dental observations: a finding on one tooth, written by a doctor of the clinic (recorded
as `doctor`), and linked to the prescription of the appointment it was made at."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from clinical.models import DentalObservation, Prescription
from clinical.services.common import acting_doctor, field_error
from clinical.services.dental.checks import (
    apply_fields,
    appointment_of,
    attachment_files,
    clean_row,
    delete_files_on_commit,
    not_in_future,
    patient_in_clinic,
    prescription_of,
)
from clinical.versions import check_version
from tenants.audit import audit_record
from tenants.context import tenant_context

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


def _check_observation(observation: DentalObservation) -> None:
    not_in_future(observation.observed_on, "observed_on")
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
        patient = patient_in_clinic(patient_id)
        appointment = appointment_of(appointment_id, patient)
        prescription = prescription_of(prescription_id, patient, appointment)
        if prescription is None and appointment is not None:
            prescription = Prescription.objects.filter(appointment=appointment).first()
        observation = DentalObservation(
            patient=patient,
            doctor=doctor,
            appointment=appointment,
            prescription=prescription,
            created_by=actor,
        )
        apply_fields(observation, fields, OBSERVATION_FIELDS)
        clean_row(observation, exclude=["patient", "doctor", "appointment", "prescription"])
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
            observation.prescription = prescription_of(
                changes.pop("prescription_id"), observation.patient, observation.appointment
            )
        apply_fields(observation, changes, OBSERVATION_FIELDS)
        clean_row(observation, exclude=["patient", "doctor", "appointment", "prescription"])
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
        files = attachment_files(observation=observation)
        audit_record(
            action="dental_observation.deleted",
            actor=actor,
            object=observation,
            patient_id=observation.patient_id,
            details={"tooth_number": observation.tooth_number, "attachments": len(files)},
        )
        observation.delete()
        delete_files_on_commit(files)


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
