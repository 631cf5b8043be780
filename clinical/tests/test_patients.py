"""Patients: registration, Indian mobiles, families, search, the plan's limit, soft delete,
audited reads."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts.testing import bearer, create_clinic
from clinical.models import Appointment, Patient
from clinical.models.patients import MAX_FAMILY_SIZE
from clinical.services import patient_create
from clinical.testing import build_appointment
from clinical.tests.conftest import h
from tenants.context import tenant_context
from tenants.models import AuditEvent, Tenant
from tenants.testing import build

URL = "/api/v1/patients"


def body(**overrides):
    data = {
        "first_name": "Kavya",
        "last_name": "Menon",
        "mobile_number": "+91 98450-12345",
        "date_of_birth": "1992-03-04",
        "gender": "female",
        "email": "kavya@example.com",
        "address": "14, 12th Main, Indiranagar, Bengaluru",
        "notes": "Allergic to penicillin.",
        "emergency_contact": "Arjun Menon, 9845012345",
    }
    data.update(overrides)
    return data


def test_receptionist_registers_a_patient_with_a_normalised_mobile(api, clinic_a, staff):
    response = api.post(URL, body(), format="json", **h(staff["receptionist"], clinic_a))
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["mobile_number"] == "9845012345"
    assert data["relationship_to_primary"] == "self"
    assert data["age"] is not None and data["full_name"] == "Kavya Menon"
    assert set(body()) - {"mobile_number"} <= set(data)


@pytest.mark.parametrize("mobile", ["12345", "5845012345", "98450123456789", "abc", ""])
def test_invalid_indian_mobile_has_a_clear_message(api, clinic_a, alice, mobile):
    response = api.post(URL, body(mobile_number=mobile), format="json", **h(alice, clinic_a))
    assert response.status_code == 400
    [message] = response.json()["errors"]["mobile_number"]
    assert mobile == "" or "Indian mobile number" in message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"date_of_birth": "2023-02-30"}, "date_of_birth"),
        (
            {"date_of_birth": (timezone.localdate() + datetime.timedelta(days=2)).isoformat()},
            "date_of_birth",
        ),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth"),
        ({"gender": "robot"}, "gender"),
        ({"email": "not-an-email"}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": "x" * 101}, "first_name"),
        ({"notes": "x" * 5001}, "notes"),
        ({"relationship_to_primary": "cousin"}, "relationship_to_primary"),
    ],
)
def test_bad_patient_input_is_a_field_error_and_writes_nothing(
    api, clinic_a, alice, overrides, field
):
    response = api.post(URL, body(**overrides), format="json", **h(alice, clinic_a))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    with tenant_context(clinic_a):
        assert not Patient.objects.exists()


def test_tenant_in_the_body_is_ignored(api, clinic_a, alice, clinic_b):
    response = api.post(
        URL,
        body(tenant=str(clinic_b.pk), tenant_id=str(clinic_b.pk)),
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 201
    with tenant_context(clinic_a):
        assert Patient.objects.get().tenant_id == clinic_a.pk


def test_same_first_name_and_mobile_is_a_duplicate_only_within_the_clinic(
    api, clinic_a, alice, clinic_b, charlie
):
    assert api.post(URL, body(), format="json", **h(alice, clinic_a)).status_code == 201
    again = api.post(
        URL, body(relationship_to_primary="spouse"), format="json", **h(alice, clinic_a)
    )
    assert again.status_code == 400 and again.json()["code"] == "duplicate_patient"
    # Another clinic registering the same person sees exactly what a new patient gives.
    elsewhere = api.post(URL, body(), format="json", **h(charlie, clinic_b))
    assert elsewhere.status_code == 201
    assert elsewhere.json()["relationship_to_primary"] == "self"


def test_a_family_shares_a_mobile_with_self_first(api, clinic_a, alice):
    headers = h(alice, clinic_a)
    api.post(URL, body(first_name="Arjun"), format="json", **headers)
    missing = api.post(URL, body(first_name="Kavya"), format="json", **headers)
    assert missing.status_code == 400 and missing.json()["code"] == "relationship_required"
    second_self = api.post(
        URL, body(first_name="Kavya", relationship_to_primary="self"), format="json", **headers
    )
    assert second_self.status_code == 400
    assert second_self.json()["code"] == "invalid_relationship"
    child = api.post(
        "/api/v1/patients/families/9845012345/",
        {"first_name": "Ishaan", "relationship_to_primary": "child", "date_of_birth": "2018-06-01"},
        format="json",
        **headers,
    )
    assert child.status_code == 201, child.json()
    api.post(
        URL, body(first_name="Kavya", relationship_to_primary="spouse"), format="json", **headers
    )
    family = api.get("/api/v1/patients/families/+91%2098450%2012345", **headers)
    assert family.status_code == 200
    data = family.json()
    assert data["mobile_number"] == "9845012345" and data["count"] == 3
    assert [m["first_name"] for m in data["members"]] == ["Arjun", "Ishaan", "Kavya"]
    assert data["members"][0]["relationship_to_primary"] == "self"


def test_first_member_of_a_number_cannot_be_a_relative(api, clinic_a, alice):
    response = api.post(
        URL, body(relationship_to_primary="child"), format="json", **h(alice, clinic_a)
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_relationship"


def test_a_mobile_number_holds_at_most_ten_patients(api, clinic_a, alice):
    patient_create(tenant=clinic_a, actor=alice, first_name="P0", mobile="9845012345")
    for n in range(1, MAX_FAMILY_SIZE):
        patient_create(
            tenant=clinic_a,
            actor=alice,
            first_name=f"P{n}",
            mobile="9845012345",
            relationship_to_primary="other",
        )
    response = api.post(
        URL,
        body(first_name="Eleventh", relationship_to_primary="other"),
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 400 and response.json()["code"] == "family_full"


def test_bad_mobile_in_family_path_is_400(api, clinic_a, alice):
    response = api.get("/api/v1/patients/families/12345", **h(alice, clinic_a))
    assert response.status_code == 400 and "mobile" in response.json()["errors"]


def test_family_of_another_clinic_is_empty(api, clinic_a, alice, clinic_b, charlie, patient):
    response = api.get("/api/v1/patients/families/9845012345", **h(charlie, clinic_b))
    assert response.status_code == 200 and response.json()["count"] == 0


def test_search_by_name_and_by_mobile_prefix(api, clinic_a, alice):
    for first, last, mobile in [
        ("Arjun", "Menon", "9845012345"),
        ("Farah", "Khan", "9900112233"),
        ("Suresh", "Gowda", "9886543210"),
        ("Anand", "Varghese", "9999999999"),
    ]:
        patient_create(
            tenant=clinic_a, actor=alice, first_name=first, last_name=last, mobile=mobile
        )
    headers = h(alice, clinic_a)

    def names(term):
        response = api.get(URL, {"search": term}, **headers)
        assert response.status_code == 200
        return sorted(p["first_name"] for p in response.json()["results"])

    assert names("98") == ["Arjun", "Suresh"]
    assert names("+91 98450") == ["Arjun"]
    assert names("99") == ["Anand", "Farah"]
    assert names("9999") == ["Anand"]
    assert names("khan") == ["Farah"]
    assert names("arjun men") == ["Arjun"]
    assert names("nobody") == []


def test_patient_list_and_search_are_clinic_scoped(api, clinic_a, alice, clinic_b, charlie):
    patient_create(tenant=clinic_a, actor=alice, first_name="Arjun", mobile="9845012345")
    response = api.get(URL, {"search": "98450"}, **h(charlie, clinic_b))
    assert response.json()["count"] == 0


@pytest.mark.parametrize("count", [1, 12])
def test_patient_list_uses_constant_queries(
    api, clinic_a, alice, count, django_assert_max_num_queries
):
    with tenant_context(clinic_a):
        for _ in range(count):
            build(Patient)
    headers = h(alice, clinic_a)
    # Savepoint, user, membership, count, page, audit insert, release.
    with django_assert_max_num_queries(7):
        response = api.get(URL, {"page_size": 100}, **headers)
    assert response.json()["count"] == count


def test_reads_are_audited_with_who_and_which_patient(api, clinic_a, alice, patient):
    headers = h(alice, clinic_a)
    api.get(f"{URL}/{patient.pk}", **headers)
    api.get(URL, **headers)
    with tenant_context(clinic_a):
        viewed = AuditEvent.objects.get(action="patient.viewed")
        listed = AuditEvent.objects.get(action="patient.listed")
    assert (viewed.actor_id, viewed.patient_id) == (alice.pk, patient.pk)
    assert listed.details["patient_ids"] == [str(patient.pk)]


def test_update_moves_a_patient_to_another_family(api, clinic_a, alice, patient):
    headers = h(alice, clinic_a)
    other = patient_create(tenant=clinic_a, actor=alice, first_name="Kavya", mobile="9900112233")
    refused = api.patch(
        f"{URL}/{patient.pk}", {"mobile_number": "9900112233"}, format="json", **headers
    )
    assert refused.status_code == 400 and refused.json()["code"] == "relationship_required"
    moved = api.patch(
        f"{URL}/{patient.pk}",
        {"mobile_number": "9900112233", "relationship_to_primary": "spouse", "notes": "Moved."},
        format="json",
        **headers,
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["mobile_number"] == "9900112233"
    assert other.relationship_to_primary == "self"


def test_soft_delete_hides_the_patient_and_keeps_history(api, clinic_a, alice, patient, doctor):
    with tenant_context(clinic_a):
        upcoming = build_appointment(patient=patient, doctor=doctor)
    headers = h(alice, clinic_a)
    assert api.delete(f"{URL}/{patient.pk}", **headers).status_code == 204
    assert api.get(f"{URL}/{patient.pk}", **headers).status_code == 404
    assert api.get(URL, **headers).json()["count"] == 0
    with tenant_context(clinic_a):
        kept = Patient.objects.get(pk=patient.pk)
        assert kept.deleted_at is not None
        assert Appointment.objects.get(pk=upcoming.pk).status == "cancelled"
    # The same person can be registered again.
    again = api.post(URL, body(first_name="Arjun"), format="json", **headers)
    assert again.status_code == 201


def test_limit_reached_refuses_a_new_patient(api, clinic_a, alice, patient):
    with tenant_context(clinic_a):
        Tenant.objects.filter(pk=clinic_a.pk).update(max_patients_override=1)
    response = api.post(URL, body(mobile_number="9900112233"), format="json", **h(alice, clinic_a))
    assert response.status_code == 403
    data = response.json()
    assert data["code"] == "plan_limit_reached" and data["resource"] == "patients"
    assert (data["limit"], data["current"]) == (1, 1)


def test_concurrent_registrations_with_one_slot_left_admit_exactly_one(live_db):
    from rest_framework.test import APIClient

    clinic = create_clinic()
    with tenant_context(clinic):
        for _ in range(3):
            build(Patient)
        Tenant.objects.filter(pk=clinic.pk).update(max_patients_override=4)
    headers = bearer(clinic.owner, clinic)
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    statuses = []

    def register(n):
        client = APIClient()
        try:
            barrier.wait()
            response = client.post(
                URL,
                body(first_name=f"Racer{n}", mobile_number=f"98765000{n:02d}"),
                format="json",
                **headers,
            )
            statuses.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=register, args=(n,)) for n in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses, key=str) == sorted(
        [(201, None)] + [(403, "plan_limit_reached")] * (threads_count - 1), key=str
    )
    with tenant_context(clinic):
        assert Patient.objects.active().count() == 4


def test_outsider_gets_404_for_a_patient(api, clinic_a, patient, clinic_b, charlie):
    url = f"{URL}/{patient.pk}"
    headers = h(charlie, clinic_b)
    not_found = api.get(url, **headers)
    assert not_found.status_code == 404
    assert api.patch(url, {"notes": "x"}, format="json", **headers).status_code == 404
    assert api.delete(url, **headers).status_code == 404
    missing = api.get(f"{URL}/00000000-0000-0000-0000-000000000000", **headers)
    assert missing.json() == not_found.json()


@pytest.mark.parametrize("page_size", ["0", "101", "1000000", "abc"])
def test_oversized_or_bad_page_size_is_400(api, clinic_a, alice, page_size):
    response = api.get(URL, {"page_size": page_size}, **h(alice, clinic_a))
    assert response.status_code == 400


@pytest.mark.parametrize("time_zone", ["Asia/Kolkata", "UTC"])
def test_patient_output_matches_drf_rendering_of_its_fields(clinic_a, alice, time_zone):
    """PatientSerializer builds its output directly (the list is the busiest endpoint); it
    must be what DRF's generic rendering of the declared fields gives, value for value."""
    from rest_framework import serializers

    from clinical.serializers.patients import PatientSerializer

    with timezone.override(time_zone), tenant_context(clinic_a, user=alice):
        fields = {k: v for k, v in body().items() if k not in ("mobile_number", "date_of_birth")}
        full = patient_create(
            tenant=clinic_a,
            actor=alice,
            mobile="9845012345",
            date_of_birth=datetime.date(1992, 3, 4),
            **fields,
        )
        bare = Patient.objects.create(first_name="Ünïcode ✓", mobile="9845012399")
        for patient in (full, bare, Patient.objects.get(pk=full.pk)):
            serializer = PatientSerializer(patient)
            generic = serializers.ModelSerializer.to_representation(serializer, patient)
            assert serializer.data == generic
            assert list(serializer.data) == list(generic) == PatientSerializer.Meta.fields
