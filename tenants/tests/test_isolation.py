"""The generated two-clinic suite: every check of `isolation.py` for every clinic-owned model.

A new `TenantOwnedModel` joins this suite by existing; nothing needs to be written for it
(unless its rows need particular values: see tenants.testing.register_builder).
"""

from __future__ import annotations

import pytest

from tenants.tests import isolation

MODELS = isolation.clinic_models()
REFERENCES = isolation.cross_clinic_references()


def test_suite_covers_the_clinic_models():
    labels = {m._meta.label for m in MODELS}
    assert {
        "clinical.Patient",
        "accounts.Membership",
        "clinical.DentalObservation",
        "clinical.DentalProcedure",
        "clinical.DentalTemplate",
        "clinical.DentalAttachment",
        "clinical.PrintTemplate",
        "accounts.Invitation",
    } <= labels
    references = {f"{m._meta.label}.{f.name}" for m, f in REFERENCES}
    assert {
        "clinical.DentalObservation.prescription",
        "clinical.DentalProcedure.observation",
        "clinical.DentalAttachment.procedure",
        "clinical.PrintTemplate.office",
        "clinical.PrintTemplate.doctor",
        "accounts.Invitation.membership",
        "clinical.Doctor.invitation",
    } <= references


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("check", isolation.ISOLATION_CHECKS, ids=lambda c: c.__name__[6:])
def test_two_clinic_isolation(check, model, clinic_a, clinic_b):
    check(isolation.make_pair(model, clinic_a, clinic_b))


@pytest.mark.parametrize(
    ("model", "field"), REFERENCES, ids=[f"{m._meta.label}.{f.name}" for m, f in REFERENCES]
)
def test_cross_clinic_reference_rejected_by_database(model, field, clinic_a, clinic_b):
    isolation.check_cross_clinic_reference_is_rejected(model, field, clinic_a, clinic_b)


@pytest.mark.parametrize("check", isolation.PEOPLE_CHECKS, ids=lambda c: c.__name__[6:])
def test_people_and_invitations(check, clinic_a, clinic_b):
    check(clinic_a, clinic_b)
