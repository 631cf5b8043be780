"""Dental procedures: CDT-style codes, FDI teeth lists, exact rupee costs, the status machine
(planned → in_progress → completed, or cancelled), same-clinic references."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from clinical.models import DentalObservation, DentalProcedure, Patient
from clinical.tests.conftest import count_queries, h, make_doctor, observation_body, procedure_body
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.testing import build

URL = "/api/v1/dental/procedures"


def post(api, user, clinic, body):
    return api.post(URL, body, format="json", **h(user, clinic))


def move(api, user, clinic, procedure_id, status, **extra):
    return api.post(
        f"{URL}/{procedure_id}/status",
        {"status": status, **extra},
        format="json",
        **h(user, clinic),
    )


def test_a_doctor_plans_a_procedure(api, clinic_a, bob, dentist, patient):
    response = post(api, bob, clinic_a, procedure_body(patient, procedure_code="d2391"))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "planned" and body["doctor_id"] == str(dentist.pk)
    assert body["procedure_code"] == "D2391" and body["teeth"] == [46]
    assert body["estimated_cost"] == "1500.00" and body["actual_cost"] is None
    with tenant_context(clinic_a):
        procedure = DentalProcedure.objects.get()
        assert procedure.estimated_cost == Decimal("1500.00")
        assert AuditEvent.objects.filter(action="dental_procedure.created").exists()


def test_a_procedure_for_an_observation_covers_its_tooth(api, clinic_a, bob, dentist, patient):
    observation = api.post(
        "/api/v1/dental/observations",
        observation_body(patient, tooth_number=26),
        format="json",
        **h(bob, clinic_a),
    ).json()
    body = procedure_body(patient, observation_id=observation["id"])
    del body["teeth"]
    response = post(api, bob, clinic_a, body)
    assert response.status_code == 201 and response.json()["teeth"] == [26]


def test_a_whole_mouth_procedure_has_no_teeth(api, clinic_a, bob, dentist, patient):
    response = post(api, bob, clinic_a, procedure_body(patient, procedure_code="D1110", teeth=[]))
    assert response.status_code == 201 and response.json()["teeth"] == []


@pytest.mark.parametrize(
    "teeth", [[19], [46, 99], [0], [46, 46], ["x"], "46", [None], list(range(11, 50))]
)
def test_teeth_must_be_distinct_fdi_numbers(api, clinic_a, bob, dentist, patient, teeth):
    response = post(api, bob, clinic_a, procedure_body(patient, teeth=teeth))
    assert response.status_code == 400, response.json()
    assert any(key.startswith("teeth") for key in response.json()["errors"])
    with tenant_context(clinic_a):
        assert not DentalProcedure.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("procedure_code", "2391"),
        ("procedure_code", "D23911"),
        ("procedure_code", "X2391"),
        ("procedure_code", ""),
        ("procedure_name", ""),
        ("estimated_cost", "-1"),
        ("estimated_cost", "NaN"),
        ("estimated_cost", "Infinity"),
        ("estimated_cost", "12.345"),
        ("estimated_cost", "100000000"),
        ("estimated_cost", "lots"),
        ("actual_cost", "-0.01"),
        ("planned_date", "2026-02-30"),
    ],
)
def test_bad_codes_costs_and_dates_are_field_errors(
    api, clinic_a, bob, dentist, patient, field, value
):
    response = post(api, bob, clinic_a, procedure_body(patient, **{field: value}))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]


def test_the_status_machine(api, clinic_a, bob, dentist, patient):
    created = post(api, bob, clinic_a, procedure_body(patient)).json()
    skipped = move(api, bob, clinic_a, created["id"], "completed")
    assert skipped.status_code == 409
    assert skipped.json()["code"] == "invalid_transition"
    assert skipped.json()["allowed"] == ["cancelled", "in_progress"]

    started = move(api, bob, clinic_a, created["id"], "in_progress")
    assert started.status_code == 200
    assert started.json()["started_date"] == timezone.localdate().isoformat()
    assert move(api, bob, clinic_a, created["id"], "planned").status_code == 409

    done = move(api, bob, clinic_a, created["id"], "completed", actual_cost="1400.00")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "completed" and done.json()["actual_cost"] == "1400.00"
    assert done.json()["completed_date"] == timezone.localdate().isoformat()
    for status in ("in_progress", "cancelled", "planned", "completed"):
        assert move(api, bob, clinic_a, created["id"], status).status_code == 409
    assert move(api, bob, clinic_a, created["id"], "finished").status_code == 400


@pytest.mark.parametrize("path", [["cancelled"], ["in_progress", "cancelled"]])
def test_an_open_procedure_can_be_cancelled_and_stays_cancelled(
    api, clinic_a, bob, dentist, patient, path
):
    created = post(api, bob, clinic_a, procedure_body(patient)).json()
    for status in path:
        assert move(api, bob, clinic_a, created["id"], status).status_code == 200
    assert move(api, bob, clinic_a, created["id"], "in_progress").status_code == 409


def test_completing_a_procedure_marks_its_observation_treated(api, clinic_a, bob, dentist, patient):
    observation = api.post(
        "/api/v1/dental/observations",
        observation_body(patient),
        format="json",
        **h(bob, clinic_a),
    ).json()
    created = post(api, bob, clinic_a, procedure_body(patient, observation_id=observation["id"]))
    procedure_id = created.json()["id"]
    move(api, bob, clinic_a, procedure_id, "in_progress")
    move(api, bob, clinic_a, procedure_id, "completed")
    with tenant_context(clinic_a):
        finding = DentalObservation.objects.get()
    assert finding.treatment_done and finding.treatment_date == timezone.localdate()


def test_a_closed_procedure_keeps_all_but_notes_and_cost(api, clinic_a, bob, dentist, patient):
    created = post(api, bob, clinic_a, procedure_body(patient)).json()
    move(api, bob, clinic_a, created["id"], "cancelled")
    headers = h(bob, clinic_a)
    refused = api.patch(f"{URL}/{created['id']}", {"teeth": [36]}, format="json", **headers)
    assert refused.status_code == 409 and refused.json()["code"] == "not_editable"
    allowed = api.patch(
        f"{URL}/{created['id']}", {"notes": "Patient declined."}, format="json", **headers
    )
    assert allowed.status_code == 200 and allowed.json()["notes"] == "Patient declined."


def test_an_open_procedure_can_be_replanned(api, clinic_a, bob, dentist, patient):
    created = post(api, bob, clinic_a, procedure_body(patient)).json()
    response = api.patch(
        f"{URL}/{created['id']}",
        {"teeth": [46, 47], "estimated_cost": "3000", "procedure_code": "d2392"},
        format="json",
        **h(bob, clinic_a),
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["teeth"] == [46, 47] and body["estimated_cost"] == "3000.00"
    assert body["procedure_code"] == "D2392"


def test_references_of_another_clinic_or_patient_are_refused(
    api, clinic_a, clinic_b, bob, dentist, patient
):
    with tenant_context(clinic_b):
        foreign_observation = build(DentalObservation)
        foreign_patient = build(Patient)
    with tenant_context(clinic_a):
        others_observation = build(DentalObservation, doctor=dentist)
    cases = [
        (procedure_body(foreign_patient), "patient_id"),
        (procedure_body(patient, observation_id=str(foreign_observation.pk)), "observation_id"),
        (procedure_body(patient, observation_id=str(others_observation.pk)), "observation_id"),
        (procedure_body(patient, appointment_id="12"), "appointment_id"),
    ]
    for body, field in cases:
        response = post(api, bob, clinic_a, body)
        assert response.status_code == 400, response.json()
        assert field in response.json()["errors"]
    with tenant_context(clinic_a):
        assert not DentalProcedure.objects.exists()


def test_other_clinics_procedures_are_404_on_every_route(
    api, clinic_a, clinic_b, bob, dentist, charlie, patient
):
    created = post(api, bob, clinic_a, procedure_body(patient)).json()
    make_doctor(clinic_b, charlie)
    headers = h(charlie, clinic_b)
    pid = created["id"]
    assert api.get(f"{URL}/{pid}", **headers).status_code == 404
    assert api.patch(f"{URL}/{pid}", {"notes": "x"}, format="json", **headers).status_code == 404
    assert move(api, charlie, clinic_b, pid, "in_progress").status_code == 404
    assert api.delete(f"{URL}/{pid}", **headers).status_code == 404
    assert api.get(URL, **headers).json()["count"] == 0
    with tenant_context(clinic_a):
        assert DentalProcedure.objects.get().status == "planned"


def test_the_database_refuses_bad_teeth_and_negative_costs(clinic_a, dentist, patient):
    with tenant_context(clinic_a):
        for values in ({"teeth": [46, 19]}, {"estimated_cost": Decimal("-1")}):
            with pytest.raises(DatabaseError), transaction.atomic():
                DentalProcedure.objects.create(
                    patient=patient,
                    doctor=dentist,
                    procedure_code="D2391",
                    procedure_name="Filling",
                    **values,
                )


def test_lists_filter_by_tooth_and_status(api, clinic_a, bob, dentist, patient):
    post(api, bob, clinic_a, procedure_body(patient, teeth=[46, 47]))
    post(api, bob, clinic_a, procedure_body(patient, teeth=[11]))
    headers = h(bob, clinic_a)
    assert api.get(URL, {"tooth_number": 47}, **headers).json()["count"] == 1
    assert api.get(URL, {"status": "planned"}, **headers).json()["count"] == 2
    assert api.get(URL, {"status": "completed"}, **headers).json()["count"] == 0
    for bad in ("19", "99999999999", "x"):
        response = api.get(URL, {"tooth_number": bad}, **headers)
        assert response.status_code == 400, bad


def test_nurses_read_procedures_but_only_doctors_write_them(
    api, clinic_a, alice, bob, dentist, patient, staff
):
    created = post(api, bob, clinic_a, procedure_body(patient)).json()
    nurse = h(staff["nurse"], clinic_a)
    assert api.get(f"{URL}/{created['id']}", **nurse).status_code == 200
    assert api.post(URL, procedure_body(patient), format="json", **nurse).status_code == 403
    # The owner is not a doctor in this clinic: allowed by role, refused as not a doctor.
    refused = post(api, alice, clinic_a, procedure_body(patient))
    assert refused.status_code == 403 and refused.json()["code"] == "not_a_doctor"


def test_a_list_runs_a_constant_number_of_queries(api, clinic_a, bob, dentist, patient):
    headers = h(bob, clinic_a)
    post(api, bob, clinic_a, procedure_body(patient))
    api.get(URL, **headers)  # warm up
    one, _ = count_queries(lambda: api.get(URL, **headers))
    for tooth in (11, 12, 13, 14, 15):
        post(api, bob, clinic_a, procedure_body(patient, teeth=[tooth]))
    many, response = count_queries(lambda: api.get(URL, **headers))
    assert response.json()["count"] == 6
    assert many == one
