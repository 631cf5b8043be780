"""Appointments: numbering, no past dates, no overlaps (race-free), the status machine,
rescheduling and free slots."""

from __future__ import annotations

import datetime
import itertools
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts.testing import add_member, bearer, create_clinic
from clinical.models import Appointment, Doctor, Patient
from clinical.services import appointment_book, patient_create
from clinical.tests.conftest import h, make_doctor
from tenants.context import tenant_context
from tenants.testing import build

URL = "/api/v1/appointments"


def book(api, user, clinic, patient, doctor, day, time="10:00", **extra):
    body = {
        "patient_id": str(patient.pk),
        "doctor_id": str(doctor.pk),
        "appointment_date": day.isoformat(),
        "appointment_time": time,
        "reason": "Fever for three days",
        **extra,
    }
    return api.post(URL, body, format="json", **h(user, clinic))


def test_receptionist_books_and_gets_a_per_clinic_number(
    api, clinic_a, staff, patient, doctor, tomorrow
):
    first = book(api, staff["receptionist"], clinic_a, patient, doctor, tomorrow, "10:00")
    assert first.status_code == 201, first.json()
    body = first.json()
    today = timezone.localdate().strftime("%Y%m%d")
    assert body["appointment_number"] == f"APT-{today}-0001"
    assert (body["appointment_time"], body["end_time"], body["duration_minutes"]) == (
        "10:00",
        "10:15",
        15,
    )
    assert body["patient"]["full_name"] == "Arjun Menon" and body["status"] == "scheduled"
    second = book(api, staff["receptionist"], clinic_a, patient, doctor, tomorrow, "10:15")
    assert second.json()["appointment_number"] == f"APT-{today}-0002"


def test_numbers_are_per_clinic(api, clinic_a, alice, patient, doctor, tomorrow, clinic_b):
    charlie = clinic_b.owner
    other_doctor = make_doctor(clinic_b, charlie)
    other_patient = patient_create(
        tenant=clinic_b, actor=charlie, first_name="Arjun", mobile="9845012345"
    )
    book(api, alice, clinic_a, patient, doctor, tomorrow)
    response = book(api, charlie, clinic_b, other_patient, other_doctor, tomorrow)
    assert response.json()["appointment_number"].endswith("-0001")


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"appointment_date": "yesterday"}, "appointment_date", "past_date"),
        ({"appointment_date": "2025-02-30"}, "appointment_date", "invalid"),
        ({"appointment_time": "25:61"}, "appointment_time", "invalid"),
        ({"appointment_time": "06:00"}, "appointment_time", "outside_availability"),
        ({"appointment_time": "19:50"}, "appointment_time", "outside_availability"),
        ({"duration_minutes": 1}, "duration_minutes", "invalid"),
        ({"duration_minutes": "ten"}, "duration_minutes", "invalid"),
        ({"appointment_type": "house_call"}, "appointment_type", "invalid"),
        ({"reason": "x" * 501}, "reason", "invalid"),
        ({"patient_id": "not-a-uuid"}, "patient_id", "invalid"),
        ({"doctor_id": "00000000-0000-0000-0000-000000000000"}, "doctor_id", "invalid"),
    ],
)
def test_bad_bookings_are_field_errors(
    api, clinic_a, alice, patient, doctor, tomorrow, change, field, code
):
    body = {
        "patient_id": str(patient.pk),
        "doctor_id": str(doctor.pk),
        "appointment_date": tomorrow.isoformat(),
        "appointment_time": "10:00",
    }
    if change.get("appointment_date") == "yesterday":
        change = {
            "appointment_date": (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
        }
    body.update(change)
    response = api.post(URL, body, format="json", **h(alice, clinic_a))
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == code and field in response.json()["errors"]
    with tenant_context(clinic_a):
        assert not Appointment.objects.exists()


def test_a_time_already_past_today_is_refused(api, clinic_a, alice, patient, doctor, monkeypatch):
    # The clinic's clock at 14:00 today, so 08:00 has passed whatever the hour the suite runs
    # (before 09:00 there would be no clinic hour behind us to book).
    today = timezone.localdate()
    afternoon = datetime.datetime.combine(today, datetime.time(14, 0))
    monkeypatch.setattr("clinical.services.appointments.local_now", lambda: afternoon)
    response = book(api, alice, clinic_a, patient, doctor, today, "08:00")
    assert response.status_code == 400 and response.json()["code"] == "past_date"


def test_another_clinics_patient_or_doctor_is_a_400_field_error(
    api, clinic_a, alice, patient, doctor, tomorrow, clinic_b
):
    with tenant_context(clinic_b):
        foreign_patient = build(Patient)
    foreign_doctor = make_doctor(clinic_b, clinic_b.owner)
    for overrides, field in [
        ({"patient": foreign_patient}, "patient_id"),
        ({"doctor": foreign_doctor}, "doctor_id"),
    ]:
        args = {"patient": patient, "doctor": doctor, **overrides}
        response = book(api, alice, clinic_a, args["patient"], args["doctor"], tomorrow)
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert "foreign key" not in str(response.json()).lower()


def test_overlapping_bookings_of_one_doctor_are_refused(
    api, clinic_a, alice, patient, doctor, tomorrow
):
    assert book(api, alice, clinic_a, patient, doctor, tomorrow, "10:00").status_code == 201
    clash = book(api, alice, clinic_a, patient, doctor, tomorrow, "10:10")
    assert clash.status_code == 409 and clash.json()["code"] == "slot_taken"
    # Back to back is fine, and so is another doctor at the same time.
    assert book(api, alice, clinic_a, patient, doctor, tomorrow, "10:15").status_code == 201
    other = make_doctor(clinic_a, add_member(clinic_a, role="doctor").user)
    assert book(api, alice, clinic_a, patient, other, tomorrow, "10:00").status_code == 201


def test_a_cancelled_booking_frees_its_time(api, clinic_a, alice, patient, doctor, tomorrow):
    first = book(api, alice, clinic_a, patient, doctor, tomorrow, "11:00").json()
    api.post(
        f"{URL}/{first['id']}/status",
        {"status": "cancelled", "reason": "Patient called"},
        format="json",
        **h(alice, clinic_a),
    )
    assert book(api, alice, clinic_a, patient, doctor, tomorrow, "11:00").status_code == 201


def test_walk_ins_are_for_today_at_any_hour(api, clinic_a, alice, patient, doctor, tomorrow):
    today = timezone.localdate()
    walk_in = book(
        api, alice, clinic_a, patient, doctor, today, "06:30", appointment_type="walk_in"
    )
    assert walk_in.status_code == 201, walk_in.json()
    later = book(
        api, alice, clinic_a, patient, doctor, tomorrow, "10:00", appointment_type="walk_in"
    )
    assert later.status_code == 400 and "appointment_date" in later.json()["errors"]


def test_inactive_doctor_takes_no_bookings(api, clinic_a, alice, patient, doctor, tomorrow):
    with tenant_context(clinic_a):
        Doctor.objects.filter(pk=doctor.pk).update(is_active=False)
    response = book(api, alice, clinic_a, patient, doctor, tomorrow)
    assert response.status_code == 400 and response.json()["code"] == "doctor_inactive"


ALL = [s.value for s in Appointment.Status]


@pytest.mark.parametrize(("start", "target"), list(itertools.product(ALL, ALL)))
def test_status_machine(api, clinic_a, alice, patient, doctor, start, target):
    with tenant_context(clinic_a):
        appointment = build(Appointment, patient=patient, doctor=doctor, status=start)
    response = api.post(
        f"{URL}/{appointment.pk}/status", {"status": target}, format="json", **h(alice, clinic_a)
    )
    allowed = target in Appointment.TRANSITIONS[start] and target != "rescheduled"
    if allowed:
        assert response.status_code == 200, response.json()
        assert response.json()["status"] == target
    else:
        assert response.status_code == 409, (start, target, response.json())
        assert response.json()["code"] == "invalid_transition"
        with tenant_context(clinic_a):
            assert Appointment.objects.get(pk=appointment.pk).status == start


def test_the_happy_path_through_the_machine(api, clinic_a, alice, patient, doctor, tomorrow):
    appointment = book(api, alice, clinic_a, patient, doctor, tomorrow).json()
    for status in ("confirmed", "in_progress", "completed"):
        response = api.post(
            f"{URL}/{appointment['id']}/status",
            {"status": status},
            format="json",
            **h(alice, clinic_a),
        )
        assert response.json()["status"] == status


def test_reschedule_books_a_new_appointment_and_keeps_the_old(
    api, clinic_a, alice, patient, doctor, tomorrow
):
    old = book(api, alice, clinic_a, patient, doctor, tomorrow, "10:00").json()
    response = api.post(
        f"{URL}/{old['id']}/reschedule",
        {"appointment_date": tomorrow.isoformat(), "appointment_time": "10:05"},
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 201, response.json()
    new = response.json()
    assert new["rescheduled_from_id"] == old["id"] and new["reason"] == old["reason"]
    assert new["appointment_number"] != old["appointment_number"]
    assert api.get(f"{URL}/{old['id']}", **h(alice, clinic_a)).json()["status"] == "rescheduled"
    again = api.post(
        f"{URL}/{old['id']}/reschedule",
        {"appointment_date": tomorrow.isoformat(), "appointment_time": "12:00"},
        format="json",
        **h(alice, clinic_a),
    )
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_a_failed_reschedule_changes_nothing(api, clinic_a, alice, patient, doctor, tomorrow):
    first = book(api, alice, clinic_a, patient, doctor, tomorrow, "10:00").json()
    book(api, alice, clinic_a, patient, doctor, tomorrow, "12:00")
    response = api.post(
        f"{URL}/{first['id']}/reschedule",
        {"appointment_date": tomorrow.isoformat(), "appointment_time": "12:00"},
        format="json",
        **h(alice, clinic_a),
    )
    assert response.status_code == 409
    assert api.get(f"{URL}/{first['id']}", **h(alice, clinic_a)).json()["status"] == "scheduled"


def test_only_details_change_before_the_visit(api, clinic_a, alice, patient, doctor, tomorrow):
    appointment = book(api, alice, clinic_a, patient, doctor, tomorrow).json()
    url = f"{URL}/{appointment['id']}"
    ok = api.patch(url, {"notes": "Bring old reports"}, format="json", **h(alice, clinic_a))
    assert ok.status_code == 200 and ok.json()["notes"] == "Bring old reports"
    api.post(f"{url}/status", {"status": "cancelled"}, format="json", **h(alice, clinic_a))
    late = api.patch(url, {"notes": "x"}, format="json", **h(alice, clinic_a))
    assert late.status_code == 409 and late.json()["code"] == "not_editable"


def test_availability_lists_free_slots(api, clinic_a, alice, patient, doctor, tomorrow):
    book(api, alice, clinic_a, patient, doctor, tomorrow, "08:15")
    book(api, alice, clinic_a, patient, doctor, tomorrow, "09:00", duration_minutes=30)
    response = api.get(
        f"{URL}/availability/",
        {"doctor": str(doctor.pk), "date": tomorrow.isoformat()},
        **h(alice, clinic_a),
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    starts = [slot["start_time"] for slot in body["slots"]]
    assert body["slot_minutes"] == 15 and body["weekday"] == tomorrow.weekday()
    assert starts[:4] == ["08:00", "08:30", "08:45", "09:30"]
    assert starts[-1] == "19:45" and len(starts) == 48 - 3


@pytest.mark.parametrize(
    "params",
    [{}, {"doctor": "nope", "date": "2030-01-01"}, {"doctor": "x", "date": "2030-02-31"}],
)
def test_availability_needs_a_doctor_and_a_date(api, clinic_a, alice, params):
    response = api.get(f"{URL}/availability", params, **h(alice, clinic_a))
    assert response.status_code == 400


def test_availability_of_another_clinics_doctor_is_a_400(api, clinic_a, alice, clinic_b, tomorrow):
    foreign = make_doctor(clinic_b, clinic_b.owner)
    response = api.get(
        f"{URL}/availability",
        {"doctor": str(foreign.pk), "date": tomorrow.isoformat()},
        **h(alice, clinic_a),
    )
    assert response.status_code == 400 and "doctor" in response.json()["errors"]


@pytest.mark.parametrize("count", [1, 8])
def test_appointment_list_uses_constant_queries(
    api, clinic_a, alice, patient, doctor, count, django_assert_max_num_queries
):
    with tenant_context(clinic_a):
        for n in range(count):
            build(Appointment, patient=patient, doctor=doctor, start_time=datetime.time(8 + n, 0))
    headers = h(alice, clinic_a)
    # Savepoint, user, membership, count, page, patients, doctors+users, offices, release.
    with django_assert_max_num_queries(9):
        response = api.get(URL, {"page_size": 100}, **headers)
    assert response.json()["count"] == count


def test_filters_by_date_doctor_and_status(api, clinic_a, alice, patient, doctor, tomorrow):
    book(api, alice, clinic_a, patient, doctor, tomorrow, "10:00")
    headers = h(alice, clinic_a)
    assert api.get(URL, {"date": tomorrow.isoformat()}, **headers).json()["count"] == 1
    assert api.get(URL, {"doctor": str(doctor.pk)}, **headers).json()["count"] == 1
    assert api.get(URL, {"status": "completed"}, **headers).json()["count"] == 0
    assert api.get(URL, {"search": "arjun"}, **headers).json()["count"] == 1
    assert api.get(URL, {"date": "not-a-date"}, **headers).status_code == 400


def test_outsider_gets_404_for_an_appointment(api, clinic_a, patient, doctor, clinic_b, charlie):
    with tenant_context(clinic_a):
        appointment = build(Appointment, patient=patient, doctor=doctor)
    headers = h(charlie, clinic_b)
    url = f"{URL}/{appointment.pk}"
    assert api.get(url, **headers).status_code == 404
    response = api.post(f"{url}/status", {"status": "cancelled"}, format="json", **headers)
    assert response.status_code == 404
    with tenant_context(clinic_a):
        assert Appointment.objects.get(pk=appointment.pk).status == "scheduled"


def test_two_concurrent_bookings_of_one_slot_admit_exactly_one(live_db):
    from rest_framework.test import APIClient

    clinic = create_clinic()
    doctor = make_doctor(clinic, clinic.owner)
    patients = [
        patient_create(
            tenant=clinic, actor=clinic.owner, first_name=f"P{n}", mobile=f"98450000{n:02d}"
        )
        for n in range(4)
    ]
    headers = bearer(clinic.owner, clinic)
    day = timezone.localdate() + datetime.timedelta(days=2)
    barrier = threading.Barrier(len(patients))
    results = []

    def attempt(patient):
        client = APIClient()
        try:
            barrier.wait()
            response = client.post(
                URL,
                {
                    "patient_id": str(patient.pk),
                    "doctor_id": str(doctor.pk),
                    "appointment_date": day.isoformat(),
                    "appointment_time": "10:00",
                },
                format="json",
                **headers,
            )
            results.append((response.status_code, response.json().get("code")))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in patients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results, key=str) == sorted(
        [(201, None)] + [(409, "slot_taken")] * (len(patients) - 1), key=str
    )
    with tenant_context(clinic):
        assert Appointment.objects.filter(appointment_date=day).count() == 1


def test_service_refuses_overlaps_whatever_the_surface(clinic_a, alice, patient, doctor, tomorrow):
    from core.errors import ConflictError

    appointment_book(
        tenant=clinic_a,
        actor=alice,
        patient_id=patient.pk,
        doctor_id=doctor.pk,
        appointment_date=tomorrow,
        appointment_time=datetime.time(15, 0),
        duration_minutes=60,
    )
    with pytest.raises(ConflictError):
        appointment_book(
            tenant=clinic_a,
            actor=alice,
            patient_id=patient.pk,
            doctor_id=doctor.pk,
            appointment_date=tomorrow,
            appointment_time=datetime.time(15, 45),
        )
