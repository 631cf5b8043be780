"""Dental records: observations, procedures, observation templates and attachments, one
module each (`checks` holds what they share).

Observations and procedures are written by doctors (any active doctor of the clinic, recorded
as `doctor`); attachments by the clinical staff. Every reference in a request (patient,
appointment, prescription, observation, procedure) must be a row of the same clinic and of
the same patient, else a 400 field error. Stored files are deleted once the deletion of their
record has committed, so a rolled-back request never loses a file.

The public writes are re-exported here and from `clinical.services`, so a caller outside
this package needs neither module name.
"""

from __future__ import annotations

from clinical.services.dental.attachments import (
    dental_attachment_create,
    dental_attachment_delete,
    dental_attachment_record_download,
)
from clinical.services.dental.observations import (
    dental_observation_create,
    dental_observation_delete,
    dental_observation_update,
    dental_observations_link_to_prescription,
)
from clinical.services.dental.procedures import (
    dental_procedure_create,
    dental_procedure_delete,
    dental_procedure_transition,
    dental_procedure_update,
)
from clinical.services.dental.templates import (
    dental_template_catalogue_load,
    dental_template_create,
    dental_template_delete,
    dental_template_update,
)

__all__ = [
    "dental_attachment_create",
    "dental_attachment_delete",
    "dental_attachment_record_download",
    "dental_observation_create",
    "dental_observation_delete",
    "dental_observation_update",
    "dental_observations_link_to_prescription",
    "dental_procedure_create",
    "dental_procedure_delete",
    "dental_procedure_transition",
    "dental_procedure_update",
    "dental_template_catalogue_load",
    "dental_template_create",
    "dental_template_delete",
    "dental_template_update",
]
