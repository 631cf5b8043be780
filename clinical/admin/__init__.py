"""The clinic's workspace for clinical records: every member of the clinic, by role.

What each role sees and may add, change or delete is the role matrix of
`clinical.permissions.MATRIX` (docs/permissions.md), the same table the API enforces
(`clinical.admin.common.ClinicalAdmin`). Every write goes through clinical.services, so the
plan's limits, the booking rules, the family rules and every other rule hold here exactly as
in the API, and a refusal comes back on the form. Reads of patient records are audited as the
API audits them. Platform operators do not see clinical records here; they look inside one
clinic only through "act as clinic", with a stated reason, read-only.

One module per resource: `practice` (offices, doctors, letterheads), `patients`,
`catalogues` (medicines, short keys), `appointments`, `prescriptions` and `dental`;
`common` holds what they share. Django's admin autodiscovery imports this package, and the
imports below register every model admin.
"""

from __future__ import annotations

from clinical.admin import appointments, catalogues, dental, patients, practice, prescriptions

__all__ = ["appointments", "catalogues", "dental", "patients", "practice", "prescriptions"]
