"""Dental observations: FDI tooth numbers, same-clinic and same-patient references, written
by doctors as themselves, linked to the prescription of their appointment, audited reads."""

from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.testing import add_member
from clinical.models import Appointment, DentalObservation, Patient, Prescription
from clinical.models.dental import ALL_TEETH, PERMANENT_TEETH, PRIMARY_TEETH
from clinical.services import appointment_book, prescription_create
from clinical.tests.conftest import count_queries, h, item, make_doctor, observation_body
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.testing import build

URL = "/api/v1/dental/observations"


def post(api, user, clinic, body):
    return api.post(URL, body, format="json", **h(user, clinic))


def test_fdi_notation_has_32_permanent_and_20_primary_teeth():
    assert len(PERMANENT_TEETH) == 32 and len(PRIMARY_TEETH) == 20
    assert {11, 18, 21, 28, 31, 38, 41, 48, 51, 55, 61, 65, 71, 75, 81, 85} <= set(ALL_TEETH)
    assert not {0, 10, 19, 20, 29, 30, 39, 40, 49, 50, 56, 60, 66, 76, 86, 91, 99} & set(ALL_TEETH)


def test_a_doctor_records_a_finding(api, clinic_a, bob, dentist, patient):
    response = post(api, bob, clinic_a, observation_body(patient))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["patient_id"] == str(patient.pk) and body["doctor_id"] == str(dentist.pk)
    assert body["tooth_number"] == 46 and body["tooth_surface"] == "occlusal"
    assert body["condition_type"] == "caries" and body["severity"] == "moderate"
    assert body["is_open"] is True and body["prescription_id"] is None
    assert body["observed_on"] == timezone.localdate().isoformat()
    assert body["attachments"] == []
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(action="dental_observation.created").count() == 1


@pytest.mark.parametrize("tooth", [11, 18, 28, 38, 48, 51, 55, 65, 75, 85])
def test_every_fdi_tooth_is_accepted(api, clinic_a, bob, dentist, patient, tooth):
    response = post(api, bob, clinic_a, observation_body(patient, tooth_number=tooth))
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("tooth", [0, 9, 10, 19, 20, 30, 49, 50, 56, 66, 76, 86, 99, 111, -11])
def test_a_number_outside_fdi_notation_is_refused_with_the_rule(
    api, clinic_a, bob, dentist, patient, tooth
):
    response = post(api, bob, clinic_a, observation_body(patient, tooth_number=tooth))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    [message] = body["errors"]["tooth_number"]
    assert "FDI" in message and "11-18" in message and "51-55" in message
    with tenant_context(clinic_a):
        assert not DentalObservation.objects.exists()


@pytest.mark.parametrize("tooth", ["abc", "4 6", None, True, 46.5, [46]])
def test_a_tooth_that_is_not_a_number_is_a_400(api, clinic_a, bob, dentist, patient, tooth):
    response = post(api, bob, clinic_a, observation_body(patient, tooth_number=tooth))
    assert response.status_code == 400
    assert "tooth_number" in response.json()["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tooth_surface", "top"),
        ("condition_type", "decay"),
        ("condition_type", ""),
        ("severity", "extreme"),
        ("observed_on", "yesterday"),
        ("treatment_date", "2026-13-01"),
        ("patient_id", "not-a-uuid"),
        ("treatment_required", "perhaps"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(
    api, clinic_a, bob, dentist, patient, field, value
):
    response = post(api, bob, clinic_a, observation_body(patient, **{field: value}))
    assert response.status_code == 400
    assert field in response.json()["errors"]
    with tenant_context(clinic_a):
        assert not DentalObservation.objects.exists()


def test_a_future_observation_and_a_treatment_before_it_are_refused(
    api, clinic_a, bob, dentist, patient
):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    future = post(api, bob, clinic_a, observation_body(patient, observed_on=tomorrow.isoformat()))
    assert future.status_code == 400 and "observed_on" in future.json()["errors"]
    early = post(
        api,
        bob,
        clinic_a,
        observation_body(
            patient,
            observed_on="2026-01-10",
            treatment_done=True,
            treatment_date="2026-01-09",
        ),
    )
    assert early.status_code == 400 and "treatment_date" in early.json()["errors"]


def test_marking_the_treatment_done_dates_it_today(api, clinic_a, bob, dentist, patient):
    created = post(api, bob, clinic_a, observation_body(patient)).json()
    response = api.patch(
        f"{URL}/{created['id']}", {"treatment_done": True}, format="json", **h(bob, clinic_a)
    )
    assert response.status_code == 200, response.json()
    assert response.json()["treatment_date"] == timezone.localdate().isoformat()
    assert response.json()["is_open"] is False


def test_only_doctors_write_findings(api, clinic_a, alice, patient, staff):
    # Alice owns the clinic but has no doctor profile; the nurse may read but not write.
    for user in (alice, staff["nurse"]):
        response = post(api, user, clinic_a, observation_body(patient))
        assert response.status_code == 403
        assert response.json()["code"] in ("not_a_doctor", "permission_denied")
    response = api.get(URL, **h(staff["receptionist"], clinic_a))
    assert response.status_code == 403


def test_another_clinics_patient_is_a_400_and_the_same_as_a_missing_one(
    api, clinic_a, clinic_b, bob, dentist
):
    with tenant_context(clinic_b):
        foreign = build(Patient)
    missing = Patient(pk="00000000-0000-4000-8000-000000000000")
    answers = []
    for target in (foreign, missing):
        response = post(api, bob, clinic_a, observation_body(target))
        assert response.status_code == 400
        answers.append(response.json())
    assert answers[0] == answers[1]
    assert answers[0]["errors"] == {"patient_id": ["No such patient in this clinic."]}


def test_references_of_another_clinic_or_patient_are_refused(
    api, clinic_a, clinic_b, bob, dentist, patient
):
    with tenant_context(clinic_b):
        foreign_appointment = build(Appointment)
        foreign_rx = build(Prescription)
    with tenant_context(clinic_a):
        other_patient = build(Patient)
        others_appointment = build(Appointment, patient=other_patient, doctor=dentist)
        others_rx = build(Prescription, patient=other_patient, doctor=dentist)
    cases = [
        ({"appointment_id": str(foreign_appointment.pk)}, "appointment_id"),
        ({"prescription_id": str(foreign_rx.pk)}, "prescription_id"),
        ({"appointment_id": str(others_appointment.pk)}, "appointment_id"),
        ({"prescription_id": str(others_rx.pk)}, "prescription_id"),
    ]
    for extra, field in cases:
        response = post(api, bob, clinic_a, observation_body(patient, **extra))
        assert response.status_code == 400, (extra, response.json())
        assert field in response.json()["errors"]
    with tenant_context(clinic_a):
        assert not DentalObservation.objects.exists()


def test_the_database_refuses_an_invalid_tooth_even_without_the_services(
    clinic_a, dentist, patient
):
    with tenant_context(clinic_a), pytest.raises(DatabaseError), transaction.atomic():
        DentalObservation.objects.create(
            patient=patient, doctor=dentist, tooth_number=19, condition_type="caries"
        )


def test_other_clinics_observations_are_404_on_every_route(
    api, clinic_a, clinic_b, alice, bob, dentist, charlie, patient
):
    created = post(api, bob, clinic_a, observation_body(patient)).json()
    outsider = make_doctor(clinic_b, charlie)
    assert outsider
    headers = h(charlie, clinic_b)
    assert api.get(f"{URL}/{created['id']}", **headers).status_code == 404
    assert (
        api.patch(f"{URL}/{created['id']}", {"notes": "x"}, format="json", **headers).status_code
        == 404
    )
    assert api.delete(f"{URL}/{created['id']}", **headers).status_code == 404
    listed = api.get(URL, **headers).json()
    assert listed["count"] == 0
    assert api.get(URL, {"patient": str(patient.pk)}, **headers).json()["count"] == 0
    with tenant_context(clinic_a):
        assert DentalObservation.objects.get().notes == "Occlusal caries into dentine."


def test_lists_filter_by_patient_tooth_and_condition(api, clinic_a, bob, dentist, patient):
    for tooth, condition in ((46, "caries"), (36, "filled"), (11, "fracture")):
        post(
            api,
            bob,
            clinic_a,
            observation_body(patient, tooth_number=tooth, condition_type=condition),
        )
    headers = h(bob, clinic_a)
    assert api.get(URL, **headers).json()["count"] == 3
    assert api.get(URL, {"tooth_number": 36}, **headers).json()["count"] == 1
    assert api.get(URL, {"condition_type": "fracture"}, **headers).json()["count"] == 1
    assert api.get(URL, {"patient": str(patient.pk)}, **headers).json()["count"] == 3
    assert api.get(URL, {"patient": "nope"}, **headers).status_code == 400
    assert api.get(URL, {"tooth_number": "99999999999"}, **headers).status_code == 400
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(action="dental_observation.listed").count() == 4


def test_a_list_runs_a_constant_number_of_queries(api, clinic_a, bob, dentist, patient):
    headers = h(bob, clinic_a)
    post(api, bob, clinic_a, observation_body(patient))
    api.get(URL, **headers)  # warm up
    one, _ = count_queries(lambda: api.get(URL, **headers))
    for tooth in (11, 12, 13, 14, 15, 16):
        post(api, bob, clinic_a, observation_body(patient, tooth_number=tooth))
    many, response = count_queries(lambda: api.get(URL, **headers))
    assert response.json()["count"] == 7
    assert many == one


def _visit(clinic, alice, patient, doctor):
    return appointment_book(
        tenant=clinic,
        actor=alice,
        patient_id=patient.pk,
        doctor_id=doctor.pk,
        appointment_date=timezone.localdate(),
        appointment_time=datetime.time(19, 30),
        appointment_type="walk_in",
    )


def test_writing_the_prescription_of_a_visit_links_its_open_findings(
    api, clinic_a, alice, bob, dentist, patient, medicine
):
    visit = _visit(clinic_a, alice, patient, dentist)
    open_one = post(
        api, bob, clinic_a, observation_body(patient, appointment_id=str(visit.pk))
    ).json()
    done = post(
        api,
        bob,
        clinic_a,
        observation_body(
            patient, tooth_number=36, appointment_id=str(visit.pk), treatment_done=True
        ),
    ).json()
    elsewhere = post(api, bob, clinic_a, observation_body(patient, tooth_number=11)).json()

    rx = prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        appointment_id=visit.pk,
        diagnosis="Caries 46",
        items=[item(medicine)],
    )

    with tenant_context(clinic_a):
        linked = {o.pk: o.prescription_id for o in DentalObservation.objects.all()}
    assert linked[_uuid(open_one["id"])] == rx.pk
    assert linked[_uuid(done["id"])] is None, "a treated finding is not open"
    assert linked[_uuid(elsewhere["id"])] is None, "findings of no visit stay unlinked"
    # A finding recorded later at the same visit joins the prescription at once.
    later = post(
        api, bob, clinic_a, observation_body(patient, tooth_number=47, appointment_id=str(visit.pk))
    ).json()
    assert later["prescription_id"] == str(rx.pk)


def test_a_prescription_links_only_its_own_clinics_findings(
    api, clinic_a, clinic_b, alice, bob, charlie, dentist, medicine
):
    """The link is an UPDATE by appointment id: row-level security and the clinic filter
    keep another clinic's rows out even if ids were shared."""
    with tenant_context(clinic_b):
        foreign = build(DentalObservation)
    with tenant_context(clinic_a):
        patient = build(Patient)
    visit = _visit(clinic_a, alice, patient, dentist)
    prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        appointment_id=visit.pk,
        diagnosis="Check-up",
        items=[item(medicine)],
    )
    with tenant_context(clinic_b):
        assert DentalObservation.objects.get(pk=foreign.pk).prescription_id is None


def test_linking_and_unlinking_a_prescription_by_hand(
    api, clinic_a, bob, dentist, patient, medicine
):
    rx = prescription_create(
        tenant=clinic_a, actor=bob, patient_id=patient.pk, diagnosis="Dx", items=[item(medicine)]
    )
    created = post(api, bob, clinic_a, observation_body(patient)).json()
    headers = h(bob, clinic_a)
    linked = api.patch(
        f"{URL}/{created['id']}", {"prescription_id": str(rx.pk)}, format="json", **headers
    )
    assert linked.status_code == 200 and linked.json()["prescription_id"] == str(rx.pk)
    unlinked = api.patch(
        f"{URL}/{created['id']}", {"prescription_id": None}, format="json", **headers
    )
    assert unlinked.status_code == 200 and unlinked.json()["prescription_id"] is None


def test_a_nurse_reads_findings_and_a_doctor_deletes_one(
    api, clinic_a, bob, dentist, patient, staff
):
    created = post(api, bob, clinic_a, observation_body(patient)).json()
    nurse = h(staff["nurse"], clinic_a)
    assert api.get(f"{URL}/{created['id']}", **nurse).status_code == 200
    assert api.delete(f"{URL}/{created['id']}", **nurse).status_code == 403
    assert api.delete(f"{URL}/{created['id']}", **h(bob, clinic_a)).status_code == 204
    with tenant_context(clinic_a):
        assert not DentalObservation.objects.exists()
        assert AuditEvent.objects.filter(action="dental_observation.deleted").exists()


def test_a_client_sent_tenant_is_ignored(api, clinic_a, clinic_b, bob, dentist, patient):
    response = post(
        api, bob, clinic_a, observation_body(patient, tenant=str(clinic_b.pk), tenant_id="x")
    )
    assert response.status_code == 201
    with tenant_context(clinic_a):
        assert DentalObservation.objects.get().tenant_id == clinic_a.pk


def test_a_doctor_of_the_clinic_other_than_the_author_may_update(
    api, clinic_a, bob, dentist, patient
):
    created = post(api, bob, clinic_a, observation_body(patient)).json()
    colleague = add_member(clinic_a, email="dana@asha.example", role="doctor").user
    make_doctor(clinic_a, colleague)
    response = api.patch(
        f"{URL}/{created['id']}", {"severity": "severe"}, format="json", **h(colleague, clinic_a)
    )
    assert response.status_code == 200 and response.json()["severity"] == "severe"


def _uuid(value):
    import uuid

    return uuid.UUID(value)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/dental/observations",
        "/api/v1/dental/procedures",
        "/api/v1/dental/templates",
    ],
)
@pytest.mark.parametrize("body", [[], ["x"], "text", 46, None, {"tooth_number": {"a": 1}}])
def test_a_body_of_the_wrong_shape_is_a_400_never_a_500(api, clinic_a, bob, dentist, path, body):
    response = api.post(path, body, format="json", **h(bob, clinic_a))
    assert response.status_code == 400, (body, response.content[:200])
    assert response.json()["code"]
