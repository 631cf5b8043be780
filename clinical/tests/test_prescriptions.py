"""Prescriptions: doctors write them as themselves, 1-20 distinct items, per-clinic RX
numbers (race-free), the status machine, editing rules, audited reads."""

from __future__ import annotations

import datetime
import itertools
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts.testing import add_member, bearer, create_clinic
from clinical.models import Appointment, Medicine, Patient, Prescription, PrescriptionItem
from clinical.services import prescription_create, short_key_create
from clinical.tests.conftest import h, item, make_doctor
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.testing import build

URL = "/api/v1/prescriptions"


def rx_body(patient, medicines, **overrides):
    body = {
        "patient_id": str(patient.pk),
        "chief_complaint": "Fever and sore throat for 3 days",
        "diagnosis": "Acute pharyngitis",
        "symptoms": "Fever 101F, painful swallowing",
        "clinical_notes": "Tonsils inflamed, no exudate.",
        "instructions": "Warm saline gargles. Plenty of fluids.",
        "items": [item(m) for m in medicines],
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def write(api, user, clinic, patient, medicines, **overrides):
    return api.post(URL, rx_body(patient, medicines, **overrides), format="json", **h(user, clinic))


def test_doctor_writes_a_prescription_with_a_number(api, clinic_a, bob, doctor, patient, medicines):
    response = write(api, bob, clinic_a, patient, medicines[:2])
    assert response.status_code == 201, response.json()
    body = response.json()
    today = timezone.localdate()
    assert body["prescription_number"] == f"RX-{today:%Y%m%d}-0001"
    assert body["doctor_id"] == str(doctor.pk) and body["status"] == "draft"
    assert body["visit_date"] == today.isoformat()
    assert [i["order"] for i in body["items"]] == [1, 2]
    assert body["items"][0]["medicine"]["name"] == medicines[0].name
    assert body["patient"]["full_name"] == "Arjun Menon"
    again = write(api, bob, clinic_a, patient, medicines[:1])
    assert again.json()["prescription_number"] == f"RX-{today:%Y%m%d}-0002"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"diagnosis": ""}, "diagnosis"),
        ({"items": []}, "items"),
        ({"visit_date": "tomorrow"}, "visit_date"),
        ({"visit_date": "2024-13-01"}, "visit_date"),
        ({"follow_up_date": "2000-01-01"}, "follow_up_date"),
        ({"clinical_notes": "x" * 10001}, "clinical_notes"),
        ({"status": "dispensed"}, "status"),
        ({"patient_id": "12"}, "patient_id"),
    ],
)
def test_bad_prescriptions_are_field_errors(
    api, clinic_a, bob, doctor, patient, medicines, overrides, field
):
    if overrides.get("visit_date") == "tomorrow":
        overrides = {"visit_date": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()}
    response = write(api, bob, clinic_a, patient, medicines[:1], **overrides)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    with tenant_context(clinic_a):
        assert not Prescription.objects.exists()


def test_one_to_twenty_items_each_medicine_once(api, clinic_a, bob, doctor, patient, medicines):
    assert write(api, bob, clinic_a, patient, medicines[:20]).status_code == 201
    too_many = write(api, bob, clinic_a, patient, medicines[:21])
    assert too_many.status_code == 400 and "items" in too_many.json()["errors"]
    twice = write(api, bob, clinic_a, patient, [medicines[0], medicines[1], medicines[0]])
    assert twice.status_code == 400 and twice.json()["code"] == "duplicate_medicine"
    assert "items[2].medicine_id" in twice.json()["errors"]
    bad_quantity = write(api, bob, clinic_a, patient, [], items=[item(medicines[0], quantity=-3)])
    assert "items[0].quantity" in bad_quantity.json()["errors"]
    with tenant_context(clinic_a):
        assert Prescription.objects.count() == 1


def test_another_clinics_ids_are_400_field_errors(
    api, clinic_a, bob, doctor, patient, medicines, clinic_b
):
    with tenant_context(clinic_b):
        foreign_patient = build(Patient)
        foreign_medicine = build(Medicine)
        foreign_appointment = build(Appointment)
    cases = [
        (rx_body(foreign_patient, medicines[:1]), "patient_id"),
        (rx_body(patient, [foreign_medicine]), "items[0].medicine_id"),
        (
            rx_body(patient, medicines[:1], appointment_id=str(foreign_appointment.pk)),
            "appointment_id",
        ),
    ]
    for body, field in cases:
        response = api.post(URL, body, format="json", **h(bob, clinic_a))
        assert response.status_code == 400, response.json()
        assert field in response.json()["errors"]
        assert "foreign key" not in str(response.json()).lower()


def test_a_doctor_writes_only_as_themself(api, clinic_a, bob, doctor, patient, medicines):
    other = make_doctor(clinic_a, add_member(clinic_a, role="doctor").user)
    response = write(api, bob, clinic_a, patient, medicines[:1], doctor_id=str(other.pk))
    assert response.status_code == 403 and response.json()["code"] == "not_own_prescription"
    with tenant_context(clinic_a):
        theirs = build(Prescription, patient=patient, doctor=other)
    edit = api.patch(
        f"{URL}/{theirs.pk}", {"diagnosis": "Changed"}, format="json", **h(bob, clinic_a)
    )
    assert edit.status_code == 403 and edit.json()["code"] == "not_own_prescription"
    status = api.post(
        f"{URL}/{theirs.pk}/status", {"status": "active"}, format="json", **h(bob, clinic_a)
    )
    assert status.status_code == 403


def test_an_owner_without_a_doctor_profile_cannot_write(api, clinic_a, alice, patient, medicines):
    response = write(api, alice, clinic_a, patient, medicines[:1])
    assert response.status_code == 403 and response.json()["code"] == "not_a_doctor"


def test_an_owner_who_is_a_doctor_writes(api, clinic_a, alice, patient, medicines):
    make_doctor(clinic_a, alice)
    assert write(api, alice, clinic_a, patient, medicines[:1]).status_code == 201


def test_appointment_must_match_and_holds_one_prescription(
    api, clinic_a, bob, doctor, patient, medicines
):
    with tenant_context(clinic_a):
        appointment = build(Appointment, patient=patient, doctor=doctor)
        other_patient = build(Patient)
    mismatch = write(
        api, bob, clinic_a, other_patient, medicines[:1], appointment_id=str(appointment.pk)
    )
    assert mismatch.status_code == 400 and mismatch.json()["code"] == "appointment_mismatch"
    first = write(api, bob, clinic_a, patient, medicines[:1], appointment_id=str(appointment.pk))
    assert first.status_code == 201 and first.json()["appointment_id"] == str(appointment.pk)
    second = write(api, bob, clinic_a, patient, medicines[:1], appointment_id=str(appointment.pk))
    assert second.status_code == 409
    assert second.json()["code"] == "appointment_has_prescription"


def test_created_from_a_short_key(api, clinic_a, bob, doctor, patient, medicines):
    short_key_create(
        tenant=clinic_a,
        actor=bob,
        code="URTI",
        name="Upper respiratory infection",
        items=[item(m, dosage="2 tablets") for m in medicines[:3]],
    )
    response = write(api, bob, clinic_a, patient, [], items=None, short_key_code="urti")
    assert response.status_code == 201, response.json()
    assert [i["medicine_id"] for i in response.json()["items"]] == [
        str(m.pk) for m in medicines[:3]
    ]
    assert {i["dosage"] for i in response.json()["items"]} == {"2 tablets"}
    both = write(api, bob, clinic_a, patient, medicines[:1], short_key_code="URTI")
    assert both.status_code == 400 and "short_key_code" in both.json()["errors"]
    unknown = write(api, bob, clinic_a, patient, [], items=None, short_key_code="NOPE")
    assert unknown.status_code == 400 and "short_key_code" in unknown.json()["errors"]


ALL = [s.value for s in Prescription.Status]


@pytest.mark.parametrize(("start", "target"), list(itertools.product(ALL, ALL)))
def test_status_machine(api, clinic_a, bob, doctor, patient, start, target):
    with tenant_context(clinic_a):
        prescription = build(Prescription, patient=patient, doctor=doctor, status=start)
    response = api.post(
        f"{URL}/{prescription.pk}/status", {"status": target}, format="json", **h(bob, clinic_a)
    )
    if target in Prescription.TRANSITIONS[start]:
        assert response.status_code == 200, response.json()
    else:
        assert response.status_code == 409, (start, target, response.json())
        assert response.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("status", ALL)
def test_only_draft_and_active_can_be_edited(
    api, clinic_a, bob, doctor, patient, medicines, status
):
    with tenant_context(clinic_a):
        prescription = build(Prescription, patient=patient, doctor=doctor, status=status)
        PrescriptionItem.objects.create(
            prescription=prescription,
            medicine=medicines[0],
            dosage="1",
            frequency="1-0-1",
            duration="3 days",
        )
    response = api.patch(
        f"{URL}/{prescription.pk}",
        {"diagnosis": "Revised diagnosis", "items": [item(medicines[1]), item(medicines[2])]},
        format="json",
        **h(bob, clinic_a),
    )
    if status in ("draft", "active"):
        assert response.status_code == 200, response.json()
        assert response.json()["diagnosis"] == "Revised diagnosis"
        assert len(response.json()["items"]) == 2
    else:
        assert response.status_code == 409 and response.json()["code"] == "not_editable"
        with tenant_context(clinic_a):
            assert PrescriptionItem.objects.filter(prescription=prescription).count() == 1


def test_nurse_reads_but_receptionist_sees_nothing_clinical(
    api, clinic_a, bob, doctor, patient, medicines, staff
):
    created = write(api, bob, clinic_a, patient, medicines[:1]).json()
    nurse = api.get(f"{URL}/{created['id']}", **h(staff["nurse"], clinic_a))
    assert nurse.status_code == 200 and nurse.json()["clinical_notes"]
    for url in (URL, f"{URL}/{created['id']}", f"{URL}/{created['id']}/pdf"):
        assert api.get(url, **h(staff["receptionist"], clinic_a)).status_code == 403
    assert write(api, staff["nurse"], clinic_a, patient, medicines[:1]).status_code == 403


def test_reads_are_audited(api, clinic_a, bob, doctor, patient, medicines, staff):
    created = write(api, bob, clinic_a, patient, medicines[:1]).json()
    api.get(f"{URL}/{created['id']}", **h(staff["nurse"], clinic_a))
    with tenant_context(clinic_a):
        event = AuditEvent.objects.get(action="prescription.viewed")
    assert (event.actor_id, event.patient_id) == (staff["nurse"].pk, patient.pk)


@pytest.mark.parametrize("count", [1, 8])
def test_prescription_list_uses_constant_queries(
    api, clinic_a, bob, doctor, patient, medicines, count, django_assert_max_num_queries
):
    for _ in range(count):
        prescription_create(
            tenant=clinic_a,
            actor=bob,
            patient_id=patient.pk,
            diagnosis="Dx",
            items=[item(m) for m in medicines[:3]],
        )
    headers = h(bob, clinic_a)
    # Savepoint, user, membership, count, page, patients, doctors+users, items+medicines,
    # audit, release.
    with django_assert_max_num_queries(10):
        response = api.get(URL, {"page_size": 100}, **headers)
    assert response.json()["count"] == count


def test_filters_and_search(api, clinic_a, bob, doctor, patient, medicines):
    created = write(api, bob, clinic_a, patient, medicines[:1]).json()
    headers = h(bob, clinic_a)
    assert api.get(URL, {"patient": str(patient.pk)}, **headers).json()["count"] == 1
    assert api.get(URL, {"status": "active"}, **headers).json()["count"] == 0
    number = created["prescription_number"].lower()
    assert api.get(URL, {"search": number}, **headers).json()["count"] == 1
    assert api.get(URL, {"patient": "zzz"}, **headers).status_code == 400


def test_outsider_gets_404_for_a_prescription(api, clinic_a, doctor, patient, clinic_b, charlie):
    with tenant_context(clinic_a):
        prescription = build(Prescription, patient=patient, doctor=doctor)
    headers = h(charlie, clinic_b)
    for suffix in ("", "/print", "/pdf"):
        assert api.get(f"{URL}/{prescription.pk}{suffix}", **headers).status_code == 404


def test_two_concurrent_prescriptions_never_share_a_number(live_db):
    from rest_framework.test import APIClient

    clinic = create_clinic()
    doctor_user = add_member(clinic, role="doctor").user
    make_doctor(clinic, doctor_user)
    with tenant_context(clinic):
        patient = build(Patient)
        medicine = build(Medicine)
    headers = bearer(doctor_user, clinic)
    writers = 5
    barrier = threading.Barrier(writers)
    numbers, statuses = [], []

    def attempt():
        client = APIClient()
        try:
            barrier.wait()
            response = client.post(URL, rx_body(patient, [medicine]), format="json", **headers)
            statuses.append(response.status_code)
            numbers.append(response.json().get("prescription_number"))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * writers
    assert len(set(numbers)) == writers
    suffixes = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert suffixes == list(range(1, writers + 1))
