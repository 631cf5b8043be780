"""Doctors: profiles, fees, weekly availability, offices; owner/admin edit, members read."""

from __future__ import annotations

import pytest

from accounts.testing import add_member
from clinical.models import Doctor, DoctorAvailability
from clinical.services import office_create
from clinical.tests.conftest import h, make_doctor
from tenants.context import tenant_context
from tenants.testing import build

URL = "/api/v1/doctors"


def test_members_read_doctors_with_availability_and_offices(api, clinic_a, doctor, staff):
    response = api.get(URL, **h(staff["receptionist"], clinic_a))
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["id"] == str(doctor.pk)
    assert row["consultation_fee"] == "0.00" and row["consultation_duration"] == 15
    assert len(row["availability"]) == 7
    assert row["availability"][0] == {
        "weekday": 0,
        "weekday_name": "Monday",
        "start_time": "08:00",
        "end_time": "20:00",
        "office_id": None,
    }


@pytest.mark.parametrize("count", [1, 6])
def test_doctor_list_uses_constant_queries(
    api, clinic_a, alice, count, django_assert_max_num_queries
):
    office = office_create(tenant=clinic_a, name="Main")
    for _ in range(count):
        doctor = make_doctor(clinic_a, add_member(clinic_a, role="doctor").user)
        with tenant_context(clinic_a):
            doctor.offices.add(office, through_defaults={})
    headers = h(alice, clinic_a)
    # Savepoint, user, membership, count, doctors+users, office links, availability, release.
    with django_assert_max_num_queries(8):
        response = api.get(URL, **headers)
    assert response.json()["count"] == count


def test_owner_sets_fee_duration_offices_and_availability(api, clinic_a, alice, doctor):
    office = office_create(tenant=clinic_a, name="Indiranagar")
    response = api.patch(
        f"{URL}/{doctor.pk}",
        {
            "consultation_fee": "650.50",
            "consultation_duration": 20,
            "qualification": "MBBS, MD",
            "office_ids": [str(office.pk)],
            "availability": [
                {
                    "weekday": 0,
                    "start_time": "10:00",
                    "end_time": "13:00",
                    "office_id": str(office.pk),
                },
                {"weekday": 0, "start_time": "17:00", "end_time": "20:00"},
                {"weekday": 5, "start_time": "09:00", "end_time": "12:00"},
            ],
        },
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["consultation_fee"] == "650.50" and body["consultation_duration"] == 20
    assert body["office_ids"] == [str(office.pk)]
    assert [(w["weekday"], w["start_time"]) for w in body["availability"]] == [
        (0, "10:00"),
        (0, "17:00"),
        (5, "09:00"),
    ]
    with tenant_context(clinic_a):
        assert DoctorAvailability.objects.filter(doctor=doctor).count() == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"consultation_fee": "-1"}, "consultation_fee"),
        ({"consultation_fee": "NaN"}, "consultation_fee"),
        ({"consultation_fee": "12.345"}, "consultation_fee"),
        ({"consultation_fee": "1e12"}, "consultation_fee"),
        ({"consultation_fee": "five hundred"}, "consultation_fee"),
        ({"consultation_duration": 2}, "consultation_duration"),
        (
            {"availability": [{"weekday": 7, "start_time": "10:00", "end_time": "11:00"}]},
            "availability[0].weekday",
        ),
        (
            {"availability": [{"weekday": 1, "start_time": "12:00", "end_time": "11:00"}]},
            "availability[0].end_time",
        ),
        (
            {"availability": [{"weekday": 1, "start_time": "25:00", "end_time": "26:00"}]},
            "availability[0].start_time",
        ),
        (
            {
                "availability": [
                    {"weekday": 1, "start_time": "10:00", "end_time": "12:00"},
                    {"weekday": 1, "start_time": "11:30", "end_time": "13:00"},
                ]
            },
            "availability[1].start_time",
        ),
        ({"license_number": "x" * 51}, "license_number"),
    ],
)
def test_bad_doctor_input_is_a_field_error(api, clinic_a, alice, doctor, body, field):
    response = api.patch(f"{URL}/{doctor.pk}", body, format="json", **h(alice, clinic_a))
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    with tenant_context(clinic_a):
        assert Doctor.objects.get(pk=doctor.pk).consultation_fee == 0
        assert DoctorAvailability.objects.filter(doctor=doctor).count() == 7


def test_another_clinics_office_is_refused_in_offices_and_availability(
    api, clinic_a, alice, doctor, clinic_b
):
    foreign = office_create(tenant=clinic_b, name="B office")
    for body, field in [
        ({"office_ids": [str(foreign.pk)]}, "office_ids"),
        (
            {
                "availability": [
                    {
                        "weekday": 1,
                        "start_time": "10:00",
                        "end_time": "11:00",
                        "office_id": str(foreign.pk),
                    }
                ]
            },
            "availability[0].office_id",
        ),
    ]:
        response = api.patch(f"{URL}/{doctor.pk}", body, format="json", **h(alice, clinic_a))
        assert response.status_code == 400
        assert field in response.json()["errors"]


def test_duplicate_licence_on_edit_is_refused(api, clinic_a, alice, doctor, bob):
    other = make_doctor(clinic_a, add_member(clinic_a, role="doctor").user, license_number="X-1")
    response = api.patch(
        f"{URL}/{other.pk}",
        {"license_number": doctor.license_number},
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 400 and response.json()["code"] == "duplicate_license"


def test_doctors_are_deactivated_not_deleted(api, clinic_a, alice, doctor):
    headers = h(alice, clinic_a)
    assert api.delete(f"{URL}/{doctor.pk}", **headers).status_code == 405
    response = api.post(f"{URL}/{doctor.pk}/deactivate", **headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    with tenant_context(clinic_a):
        assert Doctor.objects.filter(pk=doctor.pk, is_active=False).exists()
    listed = api.get(f"{URL}?is_active=false", **headers).json()["results"]
    assert [d["id"] for d in listed] == [str(doctor.pk)]
    again = api.post(f"{URL}/{doctor.pk}/activate", **headers)
    assert again.status_code == 200 and again.json()["is_active"] is True


def test_reactivation_respects_the_doctor_limit(api, clinic_a, alice, doctor):
    headers = h(alice, clinic_a)
    api.post(f"{URL}/{doctor.pk}/deactivate", **headers)
    with tenant_context(clinic_a):
        for n in range(5):
            build(Doctor, license_number=f"FULL-{n}")
    response = api.post(f"{URL}/{doctor.pk}/activate", **headers)
    assert response.status_code == 403 and response.json()["code"] == "plan_limit_reached"


def test_search_doctors_by_name_or_specialization(api, clinic_a, alice, doctor):
    headers = h(alice, clinic_a)
    assert api.get(f"{URL}?search=bob", **headers).json()["count"] == 1
    assert api.get(f"{URL}?search=general medicine", **headers).json()["count"] == 1
    assert api.get(f"{URL}?search=cardio", **headers).json()["count"] == 0


def test_outsider_gets_404_for_a_doctor(api, clinic_a, doctor, clinic_b, charlie):
    url = f"{URL}/{doctor.pk}"
    assert api.get(url, **h(charlie, clinic_b)).status_code == 404
    response = api.patch(url, {"qualification": "x"}, format="json", **h(charlie, clinic_b))
    assert response.status_code == 404
    missing = api.get(f"{URL}/00000000-0000-0000-0000-000000000000", **h(charlie, clinic_b))
    assert missing.json() == response.json()
    assert api.get(f"{URL}/not-a-uuid", **h(charlie, clinic_b)).status_code == 404
