"""Admin for clinical records: a clinic's own admins (and support acting as the clinic).

Platform operators do not see clinical records here; they look inside one clinic only
through "act as clinic", with a stated reason. Writes go through clinical.services, so the
plan's limits, the family rules and every other rule hold in the admin exactly as in the
API; what has no service for owners and admins (appointments, prescriptions, short keys) is
view-only here. Opening a record about a patient is audited with that patient.

One module per resource: `practice` (offices, doctors, letterheads), `patients`,
`catalogues` (medicines, short keys), `appointments`, `prescriptions` and `dental`;
`common` holds what they share. Django's admin autodiscovery imports this package, and the
imports below register every model admin.
"""

from __future__ import annotations

from clinical.admin import appointments, catalogues, dental, patients, practice, prescriptions

__all__ = ["appointments", "catalogues", "dental", "patients", "practice", "prescriptions"]
